/**
 * Issue "Scale-out", fault tests: a `tessera serve` process whose PostgreSQL (a) or Redis (b) sits behind a
 * TCP proxy the test takes down and brings back. The shared PostgreSQL and Redis servers are never touched.
 *
 * (a) PostgreSQL away: token and introspection answer 503 `temporarily_unavailable` promptly, the JWKS keeps
 *     answering from memory, verifiers keep verifying locally; afterwards everything works again and a refresh
 *     family started before the outage rotates exactly once.
 * (b) Redis away: rate limits fail OPEN, client assertions fail CLOSED with 503 (single-use ids live in Redis),
 *     revocation still reaches verifiers through the pull feed within the bound.
 * (c) PostgreSQL stops answering with connections left open (a partition): 503 after the store's 5 s
 *     timeouts, never a hang. (d) The same for Redis: every call fails open after its 1 s command timeout.
 *
 *   npm run build && node --test packages/server/dist/test/scale/faults.test.js
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  createRedisRevocationTransport,
  createRevocationList,
  createSigner,
  createVerifier,
  exportJWK,
  generateKeyPair,
  type RevocationList,
  type Verifier,
} from '@tessera/jwt';
import { openStore } from '../../src/store/open-store.js';
import {
  dropPgSchemas,
  pgUrl,
  randomSchema,
  redisUrl,
  testRedisArgs,
  TEST_REVOCATION_CHANNEL,
} from '../helpers/services.js';
import { createClientCLI, startServe, stopAll, type ServeProcess } from '../helpers/processes.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { basic } from '../helpers/http.js';

const ISSUER = 'http://tessera.test';
/** "Never a hang": every request during an outage must be answered within this. */
const ANSWER_WITHIN_MS = 7500; // the store's 5 s pool/query timeouts plus headroom for a loaded 2-core machine
/** The verifiers' pollInterval and the documented pull-fallback bound (pollInterval + margin). */
const POLL_MS = 1000;
const PULL_BOUND_MS = POLL_MS + 1500;

const pgServer = await pgUrl();
const redis = await redisUrl();

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
  ms: number;
}

async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(ANSWER_WITHIN_MS + 4000) });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body, headers: res.headers, ms: Date.now() - started };
}

function post(base: string, path: string, form: Record<string, string>, auth?: string): Promise<Answer> {
  return request(`${base}${path}`, {
    method: 'POST',
    headers: {
      ...(auth && { authorization: auth }),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form).toString(),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it holds or `timeoutMs` passes; returns the elapsed milliseconds. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function proxiedUrl(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

function assertUnavailable(a: Answer, what: string): void {
  assert.equal(a.status, 503, `${what}: 503, got ${a.status} ${JSON.stringify(a.body)}`);
  assert.equal(a.body.error, 'temporarily_unavailable', `${what}: OAuth error code`);
  assert.equal(typeof a.body.error_description, 'string', `${what}: error_description`);
  assert.ok(String(a.body.error_description).length > 0);
  assert.ok(a.headers.get('retry-after'), `${what}: Retry-After`);
  assert.ok(a.ms < ANSWER_WITHIN_MS, `${what}: answered in ${a.ms} ms`);
}

describe(
  'faults: PostgreSQL and Redis outages behind TCP proxies',
  { skip: !pgServer || !redis, timeout: 120_000 },
  () => {
    const schemas: string[] = [];
    const dirs: string[] = [];
    const closers: (() => unknown)[] = [];
    const env: NodeJS.ProcessEnv = {
      TESSERA_KEK: randomBytes(32).toString('base64url'),
      TESSERA_LOG_LEVEL: 'error',
    };

    /** A fresh schema and data dir; the CLI talks to PostgreSQL directly, the server through `storeUrl`. */
    async function setup(name: string) {
      const schema = randomSchema();
      schemas.push(schema);
      const dir = await mkdtemp(join(tmpdir(), `tessera-faults-${name}-`));
      dirs.push(dir);
      return { schema, dir, directStore: `${pgServer}?schema=${schema}` };
    }

    after(async () => {
      for (const c of closers.reverse()) await c();
      await stopAll();
      if (pgServer) await dropPgSchemas(pgServer, schemas).catch(() => undefined);
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    it('(a) PostgreSQL goes away: 503 where the store is needed, JWKS and local verification keep working', async () => {
      const { dir, directStore, schema } = await setup('pg');
      const pgProxy: TcpProxy = await startTcpProxy(
        new URL(pgServer!).hostname,
        Number(new URL(pgServer!).port || 5432),
      );
      closers.push(() => pgProxy.close());
      const serverStore = `${proxiedUrl(pgServer!, pgProxy.port)}?schema=${schema}`;
      const server: ServeProcess = await startServe(
        [
          '--port',
          '0',
          '--store',
          serverStore,
          ...testRedisArgs(redis!),
          '--issuer',
          ISSUER,
          '--data-dir',
          dir,
          '--reload-interval',
          '1s',
          '--rate-limit-client',
          '0',
          '--rate-limit-ip',
          '0',
        ],
        env,
      );
      closers.push(() => server.stop());
      const svc = await createClientCLI(
        ['--id', 'svc', '--grants', 'client_credentials', '--audience', 'api'],
        directStore,
        dir,
        env,
      );
      const svcAuth = basic('svc', svc.client_secret!);
      const loginKeys = generateKeyPair('ES256');
      const jwksFile = join(dir, 'login-jwks.json');
      await writeFile(jwksFile, JSON.stringify({ keys: [exportJWK(loginKeys.publicKey)] }));
      const login = await createClientCLI(
        [
          '--id',
          'login',
          '--grants',
          'urn:ietf:params:oauth:grant-type:jwt-bearer,refresh_token',
          '--audience',
          'api',
          '--jwks',
          jwksFile,
        ],
        directStore,
        dir,
        env,
      );
      const loginAuth = basic('login', login.client_secret!);
      const signer = createSigner({ key: loginKeys.privateKey, alg: 'ES256' });
      const now = Math.floor(Date.now() / 1000);

      // Before the outage: an access token, a refresh family, a verifier that has fetched the JWKS.
      const issued = await post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth);
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      const accessToken = String(issued.body.access_token);
      const started = await post(
        server.url,
        '/oauth/token',
        {
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: signer.sign({
            iss: 'login',
            sub: 'alice',
            aud: ISSUER,
            exp: now + 120,
            jti: randomUUID(),
          }),
        },
        loginAuth,
      );
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const refresh1 = String(started.body.refresh_token);
      const verifierOptions = {
        algorithms: ['ES256' as const],
        issuer: ISSUER,
        audience: 'api',
        typ: 'at+jwt',
        jwksUri: `${server.url}/.well-known/jwks.json`,
      };
      const warm: Verifier = createVerifier(verifierOptions);
      closers.push(() => warm.close());
      await warm.verify(accessToken);
      // Verifiers with a revocation list: the feed needs the store, so during the outage their data ages.
      // staleAfter decides how long that is harmless: here 1.5 s, shorter than the outage, to show both
      // policies (a deployment picks one longer than the PostgreSQL outages it must ride out).
      const listOptions = {
        feedUrl: `${server.url}/oauth/revocations`,
        clientId: 'svc',
        clientSecret: svc.client_secret!,
        pollInterval: '0.5s',
        staleAfter: '1.5s',
      };
      const closedList = createRevocationList({ ...listOptions, policy: 'fail-closed' });
      const openList = createRevocationList({ ...listOptions, policy: 'fail-open' });
      closers.push(
        () => closedList.close(),
        () => openList.close(),
      );
      await Promise.all([closedList.ready(), openList.ready()]);
      const failClosed = createVerifier({ ...verifierOptions, revocations: closedList });
      const failOpen = createVerifier({ ...verifierOptions, revocations: openList });
      closers.push(
        () => failClosed.close(),
        () => failOpen.close(),
      );
      await failClosed.verify(accessToken);
      const jwksBefore = await request(`${server.url}/.well-known/jwks.json`);
      assert.equal(jwksBefore.status, 200);

      // PostgreSQL goes away.
      await pgProxy.down();
      const outageStarted = Date.now();

      assertUnavailable(
        await post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth),
        'client_credentials during the outage',
      );
      assertUnavailable(
        await post(server.url, '/oauth/introspect', { token: accessToken }, svcAuth),
        'introspection during the outage',
      );
      assertUnavailable(
        await post(
          server.url,
          '/oauth/token',
          { grant_type: 'refresh_token', refresh_token: refresh1 },
          loginAuth,
        ),
        'refresh during the outage',
      );
      assertUnavailable(
        await post(server.url, '/oauth/revoke', { token: accessToken }, svcAuth),
        'revocation during the outage',
      );
      const feed = await request(`${server.url}/oauth/revocations?since=0`, {
        headers: { authorization: svcAuth },
      });
      assertUnavailable(feed, 'revocation feed during the outage');
      const ready = await request(`${server.url}/readyz`);
      assert.equal(ready.status, 503, `readyz: ${JSON.stringify(ready.body)}`);
      assert.ok(ready.ms < ANSWER_WITHIN_MS);
      assert.equal((await request(`${server.url}/healthz`)).status, 200, 'liveness is not readiness');

      // Let a few store reloads fail (reload interval 1 s): the key set must survive them.
      await sleep(2500);
      const jwksDuring = await request(`${server.url}/.well-known/jwks.json`);
      assert.equal(jwksDuring.status, 200, 'JWKS from memory');
      assert.deepEqual(jwksDuring.body, jwksBefore.body, 'the same key set');
      const metadata = await request(`${server.url}/.well-known/oauth-authorization-server`);
      assert.equal(metadata.status, 200, 'RFC 8414 metadata from memory');
      assert.equal((await request(`${server.url}/metrics`)).status, 200, 'metrics from memory');
      // Local verification: the warm verifier, and a cold one that must fetch the JWKS during the outage.
      await warm.verify(accessToken);
      const cold = createVerifier(verifierOptions);
      closers.push(() => cold.close());
      await cold.verify(accessToken);
      await failOpen.verify(accessToken);
      await assert.rejects(failClosed.verify(accessToken), { code: 'ERR_REVOCATION_STALE' });
      // Still answering promptly after a while (no pool exhaustion, no hang).
      assertUnavailable(
        await post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth),
        'client_credentials later in the outage',
      );
      const outageMs = Date.now() - outageStarted;

      // PostgreSQL comes back: the pool reconnects on its own.
      await pgProxy.up();
      const recoveredMs = await eventually(
        async () =>
          (await post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth)).status ===
          200,
        15_000,
        'token endpoint back after PostgreSQL returned',
      );
      process.stdout.write(
        `# PostgreSQL outage of ${outageMs} ms; token endpoint answered 200 again ${recoveredMs} ms after it came back\n`,
      );
      const intro = await post(server.url, '/oauth/introspect', { token: accessToken }, svcAuth);
      assert.equal(intro.status, 200);
      assert.equal(intro.body.active, true, 'the pre-outage token is still active');
      assert.equal((await request(`${server.url}/readyz`)).status, 200);
      await eventually(
        () =>
          failClosed.verify(accessToken).then(
            () => true,
            () => false,
          ),
        3000,
        'the fail-closed verifier accepts again once its list has pulled',
      );

      // The family started before the outage rotates exactly once: the 503 attempt consumed nothing.
      const rotated = await post(
        server.url,
        '/oauth/token',
        { grant_type: 'refresh_token', refresh_token: refresh1 },
        loginAuth,
      );
      assert.equal(rotated.status, 200, `first rotation after the outage: ${JSON.stringify(rotated.body)}`);
      const store = await openStore(directStore, { dataDir: dir });
      try {
        const live = await store.listLiveFamilies(Date.now());
        assert.equal(live.length, 1, 'one live family');
        const tokens = await store.listFamilyTokens(live[0]!.id);
        assert.equal(tokens.length, 2, 'the original token and exactly one successor');
        assert.equal(tokens.filter((t) => t.usedAt === null).length, 1, 'exactly one unused refresh token');
      } finally {
        await store.close();
      }
      const next = await post(
        server.url,
        '/oauth/token',
        { grant_type: 'refresh_token', refresh_token: String(rotated.body.refresh_token) },
        loginAuth,
      );
      assert.equal(next.status, 200, 'the successor rotates too');
      const output = server.output();
      assert.doesNotMatch(output, /oauth endpoint failed/, 'no 500 was logged');
    });

    it('(b) Redis goes away: rate limits fail open, client assertions fail closed (503), revocation falls back to pull', async () => {
      const { dir, directStore } = await setup('redis');
      const r = new URL(redis!);
      const redisProxy = await startTcpProxy(r.hostname, Number(r.port || 6379));
      closers.push(() => redisProxy.close());
      const serverRedis = proxiedUrl(redis!, redisProxy.port);
      // A client id unique to this run: the Redis rate-limit counters are shared with other test files.
      const svcId = `svc-${randomBytes(4).toString('hex')}`;
      const LIMIT = 3;
      const server = await startServe(
        [
          '--port',
          '0',
          '--store',
          directStore,
          ...testRedisArgs(serverRedis),
          '--issuer',
          ISSUER,
          '--data-dir',
          dir,
          '--reload-interval',
          '1s',
          '--rate-limit-client',
          String(LIMIT),
          '--rate-limit-ip',
          '0',
        ],
        env,
      );
      closers.push(() => server.stop());
      const svc = await createClientCLI(
        ['--id', svcId, '--grants', 'client_credentials', '--audience', 'api'],
        directStore,
        dir,
        env,
      );
      const svcAuth = basic(svcId, svc.client_secret!);
      const pkKeys = generateKeyPair('ES256');
      const pkId = `pk-${randomBytes(4).toString('hex')}`;
      const pkJwks = join(dir, 'pk-jwks.json');
      await writeFile(pkJwks, JSON.stringify({ keys: [exportJWK(pkKeys.publicKey)] }));
      await createClientCLI(
        [
          '--id',
          pkId,
          '--grants',
          'client_credentials',
          '--audience',
          'api',
          '--auth',
          'private_key_jwt',
          '--jwks',
          pkJwks,
        ],
        directStore,
        dir,
        env,
      );
      const pkSigner = createSigner({ key: pkKeys.privateKey, alg: 'ES256' });
      const clientAssertion = () => {
        const now = Math.floor(Date.now() / 1000);
        return pkSigner.sign({
          iss: pkId,
          sub: pkId,
          aud: `${ISSUER}/oauth/token`,
          exp: now + 60,
          jti: randomUUID(),
        });
      };
      const withAssertion = (assertion: string) =>
        post(server.url, '/oauth/token', {
          grant_type: 'client_credentials',
          client_id: pkId,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        });

      // A verifier on the same Redis path (through the proxy) with a 1 s pull behind it.
      const list: RevocationList = createRevocationList({
        feedUrl: `${server.url}/oauth/revocations`,
        clientId: svcId,
        clientSecret: svc.client_secret!,
        policy: 'fail-closed',
        pollInterval: POLL_MS / 1000,
        staleAfter: '30s',
        transport: createRedisRevocationTransport({
          url: serverRedis,
          channel: TEST_REVOCATION_CHANNEL,
          maxBackoffMs: 500,
        }),
      });
      closers.push(() => list.close());
      await list.ready();
      const verifier = createVerifier({
        algorithms: ['ES256'],
        issuer: ISSUER,
        audience: 'api',
        typ: 'at+jwt',
        jwksUri: `${server.url}/.well-known/jwks.json`,
        revocations: list,
      });
      closers.push(() => verifier.close());

      // With Redis: the per-client limit holds (LIMIT requests pass, the next is slow_down)…
      const tokens: string[] = [];
      for (let i = 0; i < LIMIT; i++) {
        const a = await post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth);
        assert.equal(a.status, 200, JSON.stringify(a.body));
        tokens.push(String(a.body.access_token));
      }
      const limited = await post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth);
      assert.equal(limited.status, 429, 'the limit holds while Redis is up');
      assert.equal(limited.body.error, 'slow_down');
      // …and revocations are pushed.
      const pushedBefore = list.stats().pushed;
      const pushedRevoke = Date.now();
      assert.equal((await post(server.url, '/oauth/revoke', { token: tokens[0]! }, svcAuth)).status, 200);
      await eventually(
        () =>
          verifier.verify(tokens[0]!).then(
            () => false,
            () => true,
          ),
        PULL_BOUND_MS,
        'push',
      );
      const pushMs = Date.now() - pushedRevoke;
      await eventually(async () => list.stats().pushed > pushedBefore, 2000, 'the entry arrived by push');

      // Redis goes away.
      await redisProxy.down();

      // Rate limits fail OPEN: the exhausted client is served again (each instance stops limiting).
      for (let i = 0; i < LIMIT + 2; i++) {
        const a = await post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth);
        assert.equal(
          a.status,
          200,
          `rate limit fails open while Redis is down: ${a.status} ${JSON.stringify(a.body)}`,
        );
        assert.ok(a.ms < ANSWER_WITHIN_MS, `answered in ${a.ms} ms`);
        tokens.push(String(a.body.access_token));
      }

      // Single-use ids live in Redis when it is configured, and fail CLOSED: an assertion whose jti cannot be
      // recorded is refused with 503 (never accepted unchecked, which would open a replay window).
      const refused = await withAssertion(clientAssertion());
      assert.equal(refused.status, 503, `assertion while Redis is down: ${JSON.stringify(refused.body)}`);
      assert.equal(refused.body.error, 'temporarily_unavailable');

      // Revocation: the server's publish fails (logged, not an error for the client); the pull delivers it.
      const victim = tokens[tokens.length - 1]!;
      await verifier.verify(victim);
      const pushedDuring = list.stats().pushed;
      const revokeStarted = Date.now();
      const rev = await post(server.url, '/oauth/revoke', { token: victim }, svcAuth);
      assert.equal(rev.status, 200, 'revocation succeeds without Redis');
      const pullMs = await eventually(
        () =>
          verifier.verify(victim).then(
            () => false,
            (err: { code?: string }) => err.code === 'ERR_TOKEN_REVOKED',
          ),
        PULL_BOUND_MS + 1000,
        'the pull feed delivers the revocation',
      );
      const totalPullMs = Date.now() - revokeStarted;
      assert.equal(list.stats().pushed, pushedDuring, 'nothing came by push while Redis was down');
      assert.ok(
        totalPullMs <= PULL_BOUND_MS,
        `pull fallback within ${PULL_BOUND_MS} ms (took ${totalPullMs} ms)`,
      );
      process.stdout.write(
        `# Redis down: revoke-to-reject by push before the outage ${pushMs} ms, by pull during it ${totalPullMs} ms (poll ${POLL_MS} ms; ${pullMs} ms after the 200)\n`,
      );
      // Introspection and the feed do not need Redis.
      const intro = await post(server.url, '/oauth/introspect', { token: victim }, svcAuth);
      assert.equal(intro.status, 200);
      assert.equal(intro.body.active, false);

      // Redis comes back: the shared limit holds again (the client reconnects on its own).
      await redisProxy.up();
      await eventually(
        async () =>
          (await post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth)).status ===
          429,
        15_000,
        'the rate limit holds again once Redis is back',
      );
      // And single use holds again: a fresh assertion works once, its replay is refused.
      const assertion = clientAssertion();
      const first = await withAssertion(assertion);
      assert.equal(first.status, 200, `fresh client assertion: ${JSON.stringify(first.body)}`);
      const replay = await withAssertion(assertion);
      assert.equal(replay.status, 401, `replayed client assertion: ${JSON.stringify(replay.body)}`);
      assert.equal(replay.body.error, 'invalid_client');
      assert.doesNotMatch(server.output(), /oauth endpoint failed/, 'no 500 was logged');
    });

    it('(c) PostgreSQL stops answering (no reset, no refusal): 503 after the pool timeout, not a hang', async () => {
      const { dir, directStore, schema } = await setup('freeze');
      const pg = new URL(pgServer!);
      const proxy = await startFreezingProxy(pg.hostname, Number(pg.port || 5432));
      closers.push(() => proxy.close());
      const server = await startServe(
        [
          '--port',
          '0',
          '--store',
          `${proxiedUrl(pgServer!, proxy.port)}?schema=${schema}`,
          '--issuer',
          ISSUER,
          '--data-dir',
          dir,
          '--rate-limit-client',
          '0',
          '--rate-limit-ip',
          '0',
        ],
        env,
      );
      closers.push(() => server.stop());
      const svc = await createClientCLI(
        ['--id', 'svc', '--grants', 'client_credentials', '--audience', 'api'],
        directStore,
        dir,
        env,
      );
      const svcAuth = basic('svc', svc.client_secret!);
      const token = () => post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth);
      // Concurrent requests leave several open connections idle in the pool.
      for (const a of await Promise.all([token(), token(), token(), token()])) assert.equal(a.status, 200);

      // Like a partitioned or frozen database host: connections stay open, bytes go nowhere. Requests that
      // pick an idle pooled connection as well as ones that need a new connection must be answered.
      proxy.freeze(true);
      const [ready, jwks, ...frozenAnswers] = await Promise.all([
        request(`${server.url}/readyz`),
        request(`${server.url}/.well-known/jwks.json`),
        token(),
        token(),
        token(),
        token(),
      ]);
      for (const a of frozenAnswers) assertUnavailable(a, 'token request while PostgreSQL is frozen');
      const frozen = { ms: Math.max(...frozenAnswers.map((a) => a.ms)) };
      assert.equal(ready.status, 503);
      assert.ok(ready.ms < 3000, `readyz answered in ${ready.ms} ms`);
      assert.equal(jwks.status, 200);
      assert.ok(jwks.ms < 1000, `JWKS answered in ${jwks.ms} ms`);
      process.stdout.write(
        `# PostgreSQL frozen: token endpoint 503 after ${frozen.ms} ms, /readyz 503 after ${ready.ms} ms\n`,
      );

      proxy.freeze(false);
      await eventually(
        async () => (await token()).status === 200,
        15_000,
        'token endpoint back after the freeze',
      );
      assert.doesNotMatch(server.output(), /oauth endpoint failed/, 'no 500 was logged');
    });

    it('(d) Redis stops answering: each Redis call gives up after its 1 s timeout, requests still succeed', async () => {
      const { dir, directStore } = await setup('redis-freeze');
      const r = new URL(redis!);
      const proxy = await startFreezingProxy(r.hostname, Number(r.port || 6379));
      closers.push(() => proxy.close());
      const svcId = `svc-${randomBytes(4).toString('hex')}`;
      const server = await startServe(
        [
          '--port',
          '0',
          '--store',
          directStore,
          ...testRedisArgs(proxiedUrl(redis!, proxy.port)),
          '--issuer',
          ISSUER,
          '--data-dir',
          dir,
          '--rate-limit-client',
          '1000',
          '--rate-limit-ip',
          '1000',
        ],
        env,
      );
      closers.push(() => server.stop());
      const svc = await createClientCLI(
        ['--id', svcId, '--grants', 'client_credentials', '--audience', 'api'],
        directStore,
        dir,
        env,
      );
      const svcAuth = basic(svcId, svc.client_secret!);
      const token = () => post(server.url, '/oauth/token', { grant_type: 'client_credentials' }, svcAuth);
      assert.equal((await token()).status, 200);

      proxy.freeze(true);
      // Two rate-limit checks (per IP, per client), each failing open after the 1 s command timeout.
      const issued = await token();
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      assert.ok(issued.ms < 3500, `token answered in ${issued.ms} ms`);
      // The publish gives up after 1 s; the revocation is recorded and pulled by verifiers.
      const revoked = await post(
        server.url,
        '/oauth/revoke',
        { token: String(issued.body.access_token) },
        svcAuth,
      );
      assert.equal(revoked.status, 200);
      assert.ok(revoked.ms < 3500, `revoke answered in ${revoked.ms} ms`);
      const intro = await post(
        server.url,
        '/oauth/introspect',
        { token: String(issued.body.access_token) },
        svcAuth,
      );
      assert.equal(intro.status, 200);
      assert.equal(intro.body.active, false);
      process.stdout.write(
        `# Redis frozen: token 200 after ${issued.ms} ms, revoke 200 after ${revoked.ms} ms, introspect 200 after ${intro.ms} ms\n`,
      );
      proxy.freeze(false);
      assert.doesNotMatch(server.output(), /oauth endpoint failed/, 'no 500 was logged');
    });
  },
);

/** A TCP proxy that can stop forwarding bytes while keeping every connection open (a black hole). */
async function startFreezingProxy(host: string, port: number) {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('error', () => {});
      from.on('data', (chunk) => {
        if (!frozen) to.write(chunk);
      });
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: (on: boolean) => void (frozen = on),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
