// The two strategies that measure sender-constraining and delegation, on real parts: the simulation's
// issuer (real server, real tokens), real DPoP proofs signed with the users' keys, the SDK verifying them in
// the resource API, and the downstream service receiving tokens from a real RFC 8693 exchange.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateHolderKeys, proofSigner, type HolderKey } from '../../src/simulate/dpop-keys.js';
import { startSimIssuer, type SimIssuer } from '../../src/simulate/issuer.js';
import { startResourceAPI, type ResourceAPI } from '../../src/simulate/resource-api.js';
import { runSimulation } from '../../src/simulate/run.js';
import { buildStrategies, type Strategy } from '../../src/simulate/strategies.js';
import type { ExchangeStrategy } from '../../src/simulate/strategy-exchange.js';
import type { StrategyReport } from '../../src/simulate/report.js';

let issuer: SimIssuer;
let strategies: Strategy[];
let api: ResourceAPI;
let keys: HolderKey[];
let dpopTokens: string[];
let userTokens: string[];

before(async () => {
  issuer = await startSimIssuer({ jwksMaxAge: 300, reloadInterval: 2 });
  const built = await buildStrategies(['jwt-dpop', 'jwt-exchange'], {
    issuer,
    jwksMinCacheAge: 30,
    pollInterval: 1,
    introspectionCacheAge: 2,
    redisUrl: 'redis://127.0.0.1:1',
    postgresUrl: undefined,
  });
  strategies = built.strategies;
  api = await startResourceAPI(strategies);
  api.begin(['jwt-dpop', 'jwt-exchange']);
  keys = generateHolderKeys(2);
  const subs = ['user-0', 'user-1'];
  dpopTokens = (
    await issuer.mint(
      'jwt',
      subs,
      undefined,
      keys.map((k) => k.jkt),
    )
  ).map((m) => m.token);
  userTokens = (await issuer.mint('jwt', subs)).map((m) => m.token);
});

after(async () => {
  await api?.close();
  await Promise.allSettled((strategies ?? []).map((s) => s.close()));
  await issuer?.close();
});

const exchangeStrategy = () => strategies.find((s) => s.name === 'jwt-exchange') as ExchangeStrategy;

async function call(path: string, headers: Record<string, string>) {
  const res = await fetch(`${api.url}${path}`, { headers });
  const body = (await res.json()) as { ok?: boolean; error?: string; code?: string };
  return { status: res.status, body, www: res.headers.get('www-authenticate') };
}

const dpopHeaders = (i: number, proof: string) => ({ authorization: `DPoP ${dpopTokens[i]}`, dpop: proof });
const sign = (i: number, url = `${api.url}/jwt-dpop`) =>
  proofSigner(keys[i]!.privateJwk)('GET', url, dpopTokens[i]!);

test('jwt-dpop: a bound token with a fresh proof from its key is accepted', async () => {
  assert.deepEqual((await call('/jwt-dpop', dpopHeaders(0, sign(0)))).status, 200);
  assert.deepEqual((await call('/jwt-dpop', dpopHeaders(1, sign(1)))).status, 200);
});

test('jwt-dpop: a replayed proof (same jti) is refused', async () => {
  const proof = sign(0);
  assert.equal((await call('/jwt-dpop', dpopHeaders(0, proof))).status, 200);
  const replay = await call('/jwt-dpop', dpopHeaders(0, proof));
  assert.equal(replay.status, 401);
  assert.equal(replay.body.code, 'ERR_DPOP_PROOF_REPLAYED');
  assert.match(replay.www ?? '', /^DPoP /);
});

test('jwt-dpop: the bound token without a proof is refused', async () => {
  const res = await call('/jwt-dpop', { authorization: `DPoP ${dpopTokens[0]}` });
  assert.equal(res.status, 401);
  assert.equal(res.body.code, 'ERR_DPOP_PROOF_MISSING');
});

test('jwt-dpop: the Bearer scheme is refused, for the bound token (a thief without the key) and an unbound one', async () => {
  // dpop: 'required' refuses the scheme before verifying anything (RFC 9449 §7.1).
  for (const token of [dpopTokens[0]!, userTokens[0]!]) {
    const res = await call('/jwt-dpop', { authorization: `Bearer ${token}` });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'ERR_DPOP_REQUIRED');
  }
});

test('jwt-dpop: a proof for another URL is refused', async () => {
  const res = await call('/jwt-dpop', dpopHeaders(0, sign(0, `${api.url}/jwt-exchange`)));
  assert.equal(res.status, 401);
  assert.equal(res.body.code, 'ERR_DPOP_HTU_MISMATCH');
});

test("jwt-dpop: a proof signed by another user's key is refused (cnf.jkt)", async () => {
  const foreign = proofSigner(keys[1]!.privateJwk)('GET', `${api.url}/jwt-dpop`, dpopTokens[0]!);
  const res = await call('/jwt-dpop', dpopHeaders(0, foreign));
  assert.equal(res.status, 401);
  assert.equal(res.body.code, 'ERR_DPOP_BINDING_MISMATCH');
});

test('jwt-exchange: the downstream service sees an exchanged token naming the API as actor and the user as sub', async () => {
  const s = exchangeStrategy();
  s.beginPhase!();
  const first = await call('/jwt-exchange', { authorization: `Bearer ${userTokens[0]}` });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const seen = s.downstream.delegations();
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.sub, 'user-0');
  assert.deepEqual(seen[0]!.act, { sub: issuer.api.id, client_id: issuer.api.id });
  const figures = s.exchangeFigures();
  assert.equal(figures.exchange_calls, 1);
  assert.equal(figures.downstream_calls, 1);
  assert.equal(figures.downstream_refused, 0);
});

test('jwt-exchange: the exchanged token is reused for the same user, a new user costs one exchange', async () => {
  const s = exchangeStrategy();
  s.beginPhase!();
  for (let i = 0; i < 3; i++)
    assert.equal((await call('/jwt-exchange', { authorization: `Bearer ${userTokens[0]}` })).status, 200);
  assert.equal(s.exchangeFigures().exchange_calls, 0, 'user-0 was exchanged in the previous test');
  assert.equal(s.exchangeFigures().cache_hits, 3);
  assert.equal((await call('/jwt-exchange', { authorization: `Bearer ${userTokens[1]}` })).status, 200);
  assert.equal(s.exchangeFigures().exchange_calls, 1);
  assert.deepEqual(
    s.downstream.delegations().map((d) => d.sub),
    ['user-0', 'user-0', 'user-0', 'user-0', 'user-1'],
  );
});

test("jwt-exchange: the user's own token is refused by the downstream service (aud), and by the API without a token", async () => {
  const res = await fetch(`${exchangeStrategy().downstream.url}/orders`, {
    headers: { authorization: `Bearer ${userTokens[0]}` },
  });
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { code: string }).code, 'ERR_JWT_CLAIM_INVALID');
  const none = await call('/jwt-exchange', {});
  assert.equal(none.status, 401);
});

function assertClean(r: StrategyReport): void {
  assert.ok(r.requests > 0, `${r.name}: requests`);
  assert.equal(r.errors, 0, `${r.name}: no errors`);
  const v = r.token_validation_ms;
  assert.ok(v.p50 > 0 && v.p50 <= v.p99 && v.p99 <= v.max, `${r.name}: validation percentiles`);
}

test('a short baseline: jwt-dpop and jwt-exchange rows next to jwt and jwt-cached, with the delegation figures', async () => {
  const report = await runSimulation({
    scenario: 'baseline',
    strategies: ['jwt', 'jwt-cached', 'jwt-dpop', 'jwt-exchange'],
    duration: 2,
    connections: 4,
    users: 10,
  });
  const by = (n: string) => report.strategies.find((s) => s.name === n)!;
  for (const r of report.strategies) assertClean(r);
  const jwt = by('jwt');
  const dpop = by('jwt-dpop');
  const exchange = by('jwt-exchange');
  // The DPoP header line is part of what a bound token costs on the wire.
  assert.ok(dpop.payload_size_bytes > jwt.payload_size_bytes + 300, `${dpop.payload_size_bytes} B`);
  assert.equal(dpop.cache_hit_ratio, null);
  const x = exchange.exchange!;
  assert.ok(
    x.exchange_calls >= 1 && x.exchange_calls <= 10,
    `one exchange per user at most: ${x.exchange_calls}`,
  );
  assert.equal(x.exchange_failures, 0);
  // Every answered request went downstream (the phase waits for the ones the load left in flight).
  assert.equal(x.downstream_calls, exchange.requests);
  assert.equal(x.downstream_refused, 0);
  assert.equal(exchange.cache_hit_ratio, x.exchanged_token_hit_ratio);
  assert.ok(exchange.cache_hit_ratio! > 0.5, `hit ratio ${exchange.cache_hit_ratio}`);
  assert.ok(exchange.issuer_calls >= x.exchange_calls, 'exchanges are issuer calls');
  assert.ok(x.downstream_validation_ms.p50 > 0 && x.downstream_call_ms.p50 >= x.downstream_validation_ms.p50);
});

test("jwt-exchange: a revoked user's token cannot be exchanged (invalid_grant), a cached exchanged token still works", async () => {
  const s = exchangeStrategy();
  // user-0's exchanged token is cached (earlier tests); user-2 has none yet.
  const [fresh] = await issuer.mint('jwt', ['user-2']);
  await issuer.revoke('jwt', fresh!.token);
  await issuer.revoke('jwt', userTokens[0]!);
  s.beginPhase!();
  const refused = await call('/jwt-exchange', { authorization: `Bearer ${fresh!.token}` });
  assert.equal(refused.status, 401);
  assert.equal(refused.body.code, 'ERR_EXCHANGE_REFUSED');
  assert.equal(s.exchangeFigures().exchange_failures, 1);
  // The API's own check is local (like jwt): the cached exchanged token keeps user-0 served until renewal.
  assert.equal((await call('/jwt-exchange', { authorization: `Bearer ${userTokens[0]}` })).status, 200);
  assert.equal(s.exchangeFigures().exchange_calls, 1);
});
