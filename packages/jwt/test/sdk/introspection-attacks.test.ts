/**
 * Issue 12 #3 and #4, the SDK side: a refresh token (or any answer that is not an access token) must not
 * pass as an access token, an answer without `aud` must not pass an audience check, and strings that
 * cannot be a Tessera opaque token must not spend the API's introspection budget at the token service.
 * Every test runs against a real loopback introspection endpoint and counts the calls it received.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import {
  createIntrospectionClient,
  createOpaqueToken,
  createVerifier,
  IntrospectionFailed,
  OPAQUE_ACCESS_TOKEN_PREFIX,
  OPAQUE_REFRESH_TOKEN_PREFIX,
  type IntrospectionClientOptions,
} from '../../src/index.js';
import { createNodeHttpAuth } from '../../src/middleware/node-http.js';
import { codeOf, makeKey, serverCloser, startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
const closer = serverCloser();

const ISSUER = 'https://issuer.test';
interface Refusal {
  status: number;
  headers?: Record<string, string>;
}
type Answer = Record<string, unknown> | Refusal;

/** An introspection endpoint answering `answers.get(token)` (default `{active:false}`). */
async function endpoint(answers: Map<string, Answer> = new Map()) {
  const srv = await startServer((_req, res, body) => {
    const token = new URLSearchParams(body).get('token') ?? '';
    const answer = answers.get(token) ?? { active: false };
    if (typeof answer.status === 'number') {
      const refusal = answer as Refusal;
      res.writeHead(refusal.status, refusal.headers ?? {}).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  servers.push(srv);
  return srv;
}

function client(srv: TestServer, extra: Partial<IntrospectionClientOptions> = {}) {
  return createIntrospectionClient({
    endpoint: `${srv.url}/introspect`,
    clientId: 'rs',
    clientSecret: 's3cret',
    ...extra,
  });
}

const access = () => createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX);
const exp = () => Math.floor(Date.now() / 1000) + 600;
const active = (more: Record<string, unknown> = {}) => ({
  active: true,
  token_type: 'Bearer',
  sub: 'svc',
  iss: ISSUER,
  aud: 'orders-api',
  exp: exp(),
  ...more,
});

describe('S12-3 a refresh token introspected as an access token', () => {
  it('an active answer with token_type "refresh_token" is refused, by the client and by the verifier', async () => {
    const token = access();
    const srv = await endpoint(new Map([[token, active({ token_type: 'refresh_token' })]]));
    await assert.rejects(client(srv).introspect(token), {
      code: 'ERR_JWT_CLAIM_INVALID',
      claim: 'token_type',
    });
    const v = createVerifier({
      algorithms: ['ES256'],
      issuer: ISSUER,
      audience: 'orders-api',
      keys: [makeKey().pair.publicKey],
      introspection: { endpoint: `${srv.url}/introspect`, clientId: 'rs', clientSecret: 's3cret' },
    });
    assert.equal(await codeOf(v.verify(token)), 'ERR_JWT_CLAIM_INVALID');
  });

  it('an answer without token_type is refused unless requireTokenType: false', async () => {
    const token = access();
    const srv = await endpoint(new Map([[token, active({ token_type: undefined })]]));
    await assert.rejects(client(srv).introspect(token), {
      code: 'ERR_JWT_CLAIM_INVALID',
      claim: 'token_type',
    });
    assert.equal((await client(srv, { requireTokenType: false }).introspect(token)).sub, 'svc');
  });

  it('access_token, Bearer (any case) and DPoP are access tokens', async () => {
    for (const type of ['access_token', 'Bearer', 'bearer', 'DPoP']) {
      const token = access();
      const srv = await endpoint(new Map([[token, active({ token_type: type })]]));
      assert.equal((await client(srv).introspect(token)).token_type, type);
    }
  });

  it('an answer without aud fails a configured audience (it used to skip the check)', async () => {
    const token = access();
    const srv = await endpoint(new Map([[token, active({ aud: undefined })]]));
    const options = {
      algorithms: ['ES256'] as const,
      issuer: ISSUER,
      keys: [makeKey().pair.publicKey],
      introspection: { endpoint: `${srv.url}/introspect`, clientId: 'rs', clientSecret: 's3cret' },
    };
    const strict = createVerifier({
      ...options,
      algorithms: [...options.algorithms],
      audience: 'orders-api',
    });
    await assert.rejects(strict.verify(token), { code: 'ERR_JWT_CLAIM_INVALID', claim: 'aud' });
    const open = createVerifier({ ...options, algorithms: [...options.algorithms], audience: null });
    assert.equal(
      (await open.verify(token)).payload.sub,
      'svc',
      'audience: null switches the check off on purpose',
    );
  });
});

describe('S12-4 exhausting the API introspection budget with garbage tokens', () => {
  it('strings that cannot be a Tessera opaque access token cost no call', async () => {
    const srv = await endpoint();
    const c = client(srv);
    const good = access();
    const typo = good.slice(0, 10) + (good[10] === 'A' ? 'B' : 'A') + good.slice(11);
    const garbage = [
      'x',
      'a'.repeat(53),
      `tsa_${'A'.repeat(49)}`, // right length and prefix, wrong checksum
      typo,
      createOpaqueToken(OPAQUE_REFRESH_TOKEN_PREFIX), // a refresh token never reaches introspection
      good + 'A',
      good.replace('tsa_', 'TSA_'),
      'eyJhbGciOiJub25lIn0.e30',
    ];
    for (const token of garbage)
      await assert.rejects(c.introspect(token), { code: 'ERR_TOKEN_INACTIVE' }, JSON.stringify(token));
    assert.equal(srv.requests.length, 0);
    assert.equal(c.stats().refused_shape, garbage.length);
    // The same strings are sent when the deployment says its server's tokens look different.
    await assert.rejects(client(srv, { tokenShape: 'any' }).introspect('x'), { code: 'ERR_TOKEN_INACTIVE' });
    assert.equal(srv.requests.length, 1);
  });

  it('calls are bounded per second; past the budget a token that needs a call fails with retryAfter, cached ones still answer', async () => {
    const known = access();
    const srv = await endpoint(new Map([[known, active()]]));
    let now = 1_000_000;
    const c = client(srv, { maxCallsPerSecond: 5, clock: () => now });
    await c.introspect(known); // one unit, then cached
    const flood = Array.from({ length: 20 }, access);
    const results = await Promise.allSettled(flood.map((t) => c.introspect(t)));
    assert.equal(srv.requests.length, 5, 'the bucket held 5 calls: 1 for the known token, 4 for the flood');
    const rationed = results.filter(
      (r) => r.status === 'rejected' && r.reason instanceof IntrospectionFailed && r.reason.retryAfter! >= 1,
    );
    assert.equal(rationed.length, 16);
    assert.equal((await c.introspect(known)).sub, 'svc', 'a cached answer needs no budget');
    assert.equal(c.stats().rationed, 16);
    now += 1000; // a second later the bucket is full again
    await assert.rejects(c.introspect(flood[19]!), { code: 'ERR_TOKEN_INACTIVE' });
    assert.equal(srv.requests.length, 6);
  });

  it('single flight: concurrent requests for one token share one call and one unit of the budget', async () => {
    const token = access();
    const srv = await endpoint(new Map([[token, active()]]));
    const c = client(srv, { maxCallsPerSecond: 1, clock: () => 5_000 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => c.introspect(token)));
    assert.equal(answers.length, 20);
    assert.equal(srv.requests.length, 1);
    await assert.rejects(c.introspect(access()), (err: IntrospectionFailed) => err.retryAfter === 1);
  });

  it('a 429 from the token service pauses calls for its Retry-After; the error carries it', async () => {
    const limited = access();
    const known = access();
    const answers = new Map<string, Answer>([
      [known, active()],
      [limited, { status: 429, headers: { 'retry-after': '7' } }],
    ]);
    const srv = await endpoint(answers);
    let now = 2_000_000;
    const c = client(srv, { clock: () => now });
    await c.introspect(known);
    await assert.rejects(c.introspect(limited), (err: IntrospectionFailed) => err.retryAfter === 7);
    now += 3000;
    await assert.rejects(c.introspect(access()), (err: IntrospectionFailed) => err.retryAfter === 4);
    assert.equal(srv.requests.length, 2, 'no call while the server asked to wait');
    assert.equal((await c.introspect(known)).sub, 'svc');
    now += 4000;
    answers.set(limited, active());
    assert.equal((await c.introspect(limited)).sub, 'svc');
    assert.equal(srv.requests.length, 3);
  });

  it('a flood of inactive tokens evicts only negative answers, never the cached active ones', async () => {
    const known = access();
    const srv = await endpoint(new Map([[known, active()]]));
    const c = client(srv, { maxEntries: 10, maxCallsPerSecond: 1000 });
    await c.introspect(known);
    for (const t of Array.from({ length: 50 }, access)) await assert.rejects(c.introspect(t));
    const calls = srv.requests.length;
    await c.introspect(known);
    assert.equal(srv.requests.length, calls, 'still a cache hit');
  });

  it('end to end: the middleware answers a rationed token 503 with Retry-After, a garbage token 401 without a call', async () => {
    const token = access();
    const srv = await endpoint(new Map([[token, { status: 429, headers: { 'retry-after': '9' } }]]));
    const verifier = createVerifier({
      algorithms: ['ES256'],
      issuer: ISSUER,
      audience: 'orders-api',
      keys: [makeKey().pair.publicKey],
      introspection: { endpoint: `${srv.url}/introspect`, clientId: 'rs', clientSecret: 's3cret' },
    });
    const auth = createNodeHttpAuth({ verifier });
    const api = createServer((req: IncomingMessage, res: ServerResponse) => {
      void auth(req, res).then((info) => {
        if (info) res.end('ok');
      });
    });
    const port = await closer.listen(api);
    const call = (t: string) =>
      fetch(`http://127.0.0.1:${port}/orders`, { headers: { authorization: `Bearer ${t}` } });
    const garbage = await call('not-a-token');
    assert.equal(garbage.status, 401);
    assert.equal(srv.requests.length, 0);
    const rationed = await call(token);
    assert.equal(rationed.status, 503);
    assert.equal(rationed.headers.get('retry-after'), '9');
    assert.equal(srv.requests.length, 1);
  });
});
