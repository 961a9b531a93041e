import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createVerifier, TokenRevoked, type JWTPayload } from '../../src/index.js';
import { createExpressAuth, type AuthenticatedRequest } from '../../src/middleware/express.js';
import { createFastifyAuth } from '../../src/middleware/fastify.js';
import { createHonoAuth, type AuthEnv } from '../../src/middleware/hono.js';
import { createNodeHttpAuth } from '../../src/middleware/node-http.js';
import {
  authorizationOf,
  createAuthStep,
  createAuthSteps,
  type AuthOutcome,
  type StepOutcome,
} from '../../src/middleware/shared.js';
import { claims, makeKey, serverCloser } from './helpers.js';

const key = makeKey();
const revoked = new Set<string>();
const verifier = createVerifier({
  algorithms: ['ES256'],
  issuer: 'https://issuer.test',
  audience: 'api',
  keys: [key.pair.publicKey],
  cache: { maxEntries: 100 },
  revocations: {
    check(payload: JWTPayload) {
      if (typeof payload.jti === 'string' && revoked.has(payload.jti)) throw new TokenRevoked();
    },
  },
});
const options = { verifier, realm: 'api' };
const token = key.signer.sign(claims({ sub: 'alice', jti: 'j-fast' }));

const closer = serverCloser();
const listen = (server: Server): Promise<number> => closer.listen(server);

/** One request with exactly these header lines (names as given, repeats kept); resolves to the status. */
function rawGet(port: number, lines: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.end(
      `GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`,
    );
  });
}

async function startNode(): Promise<number> {
  const authenticate = createNodeHttpAuth(options);
  const server = createServer(async (req, res) => {
    const auth = await authenticate(req, res);
    if (auth) res.end(String(auth.claims.sub));
  });
  return listen(server);
}

async function startExpress(): Promise<number> {
  const app = express();
  app.use(createExpressAuth(options));
  app.get('/me', (req, res) => {
    res.send(String((req as AuthenticatedRequest).auth.claims.sub));
  });
  return listen(createServer(app));
}

async function startFastify(): Promise<number> {
  const app = Fastify();
  await app.register(createFastifyAuth(options));
  app.get('/me', async (request) => String(request.auth!.claims.sub));
  await app.listen({ port: 0, host: '127.0.0.1' });
  closer.onClose(() => app.close());
  return (app.server.address() as AddressInfo).port;
}

async function startHono(): Promise<number> {
  const app = new Hono<AuthEnv>();
  app.use('*', createHonoAuth(options));
  app.get('/me', (c) => c.text(String(c.get('auth').claims.sub)));
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
}

const adapters: [string, () => Promise<number>][] = [
  ['node:http', startNode],
  ['express', startExpress],
  ['fastify', startFastify],
  ['hono (@hono/node-server)', startHono],
];

for (const [name, start] of adapters) {
  describe(`middleware fast path: ${name}`, () => {
    it('several Authorization lines are a 400, even when each holds a cached token (RFC 9110 §5.3)', async () => {
      const port = await start();
      assert.equal(await rawGet(port, [`Authorization: Bearer ${token}`]), 200); // now cached
      assert.equal(await rawGet(port, [`AUTHORIZATION: bearer ${token}`]), 200);
      assert.equal(
        await rawGet(port, [`Authorization: Bearer ${token}`, `authorization: Bearer ${token}`]),
        400,
      );
      assert.equal(await rawGet(port, [`Authorization: Bearer ${token}`, 'AuThOrIzAtIoN: Basic eDp5']), 400);
      assert.equal(await rawGet(port, [`Authorization: Bearer ${token}`, 'X-Authorization: x']), 200);
    });
  });
}

describe('middleware fast path: hono header source', () => {
  const app = new Hono<AuthEnv>();
  app.use('*', createHonoAuth(options));
  app.get('/me', (c) => c.text(String(c.get('auth').claims.sub)));

  it('reads c.env.incoming (the node IncomingMessage) when present', async () => {
    const incoming = {
      headers: { authorization: `Bearer ${token}` },
      rawHeaders: ['Authorization', `Bearer ${token}`],
    };
    // The web Request carries nothing: the answer can only come from `incoming`.
    let res = await app.fetch(new Request('http://x/me'), { incoming });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'alice');
    const twice = { ...incoming, rawHeaders: [...incoming.rawHeaders, 'authorization', `Bearer ${token}`] };
    res = await app.fetch(new Request('http://x/me'), { incoming: twice });
    assert.equal(res.status, 400);
  });

  it('falls back to c.req.header on other runtimes (no incoming)', async () => {
    let res = await app.request('/me', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    res = await app.fetch(new Request('http://x/me', { headers: { authorization: `Bearer ${token}` } }), {});
    assert.equal(res.status, 200);
    res = await app.request('/me');
    assert.equal(res.status, 401);
  });
});

describe('middleware fast path: the shared step', () => {
  const isPromise = (o: unknown): o is Promise<AuthOutcome> => o instanceof Promise;

  it('a cache hit is answered synchronously; a revoked cached token synchronously refused (401)', async () => {
    const own = key.signer.sign(claims({ sub: 'bob', jti: 'j-revoke' }));
    const step = createAuthStep(options);
    const first = step(`Bearer ${own}`);
    assert.ok(isPromise(first), 'first sight: full verification');
    assert.equal((await first).ok, true);
    const hit = step(`bEaReR ${own}`);
    assert.ok(!isPromise(hit) && hit.ok && hit.auth.claims.sub === 'bob');
    revoked.add('j-revoke');
    const refused = step(`Bearer ${own}`);
    assert.ok(!isPromise(refused) && !refused.ok);
    assert.equal(refused.failure.status, 401);
    assert.equal(refused.failure.body?.error_description, 'the access token was revoked');
  });

  it('the new options keep it: a getToken token and optional credentials are answered synchronously on a hit', async () => {
    const own = key.signer.sign(claims({ sub: 'gus' }));
    const { header, token: fromGetter } = createAuthSteps({ ...options, credentialsRequired: false });
    const isPending = (o: unknown): o is Promise<StepOutcome> => o instanceof Promise;
    const first = fromGetter(own);
    assert.ok(isPending(first), 'first sight: full verification');
    assert.equal((await first).ok, true);
    for (const hit of [fromGetter(own), header(`Bearer ${own}`)])
      assert.ok(!isPending(hit) && hit.ok && hit.auth?.claims.sub === 'gus');
    const anonymous = header(undefined);
    assert.ok(!isPending(anonymous) && anonymous.ok && anonymous.auth === null);
  });

  it('the cache is keyed by the whole token: a changed signature is verified (and refused), never a hit', async () => {
    const own = key.signer.sign(claims({ sub: 'carol' }));
    const step = createAuthStep(options);
    assert.equal((await step(`Bearer ${own}`)).ok, true);
    const last = own.at(-2) === 'A' ? 'B' : 'A';
    const forged = `${own.slice(0, -2)}${last}${own.at(-1)}`;
    const r = step(`Bearer ${forged}`);
    assert.ok(isPromise(r));
    const o = await r;
    assert.equal(o.ok, false);
    assert.equal(!o.ok && o.failure.status, 401);
  });

  it('answers are unchanged around the fast path: malformed 400, too long 400, other schemes 401', async () => {
    const step = createAuthStep(options);
    await step(`Bearer ${token}`);
    const status = async (h: string | string[] | undefined) => {
      const o = await step(h);
      return o.ok ? 200 : o.failure.status;
    };
    assert.equal(await status(`Bearer ${token} `), 400);
    assert.equal(await status(`Bearer  ${token}`), 400);
    assert.equal(await status(`Bearer ${token}"`), 400);
    assert.equal(await status('Bearer '), 400);
    assert.equal(await status(`Bearer ${'a'.repeat(16400)}`), 400);
    assert.equal(await status([`Bearer ${token}`, `Bearer ${token}`]), 400);
    assert.equal(await status(`Basic ${token}`), 401);
    assert.equal(await status(`Bearer\t${token}`), 401);
    assert.equal(await status(undefined), 401);
    assert.equal(await status(`BEARER ${token}`), 200);
  });

  it('stats: one miss per full verification, none for a malformed header, one hit per cached answer', async () => {
    const own = createVerifier({
      algorithms: ['ES256'],
      issuer: 'https://issuer.test',
      audience: 'api',
      keys: [key.pair.publicKey],
      cache: { maxEntries: 10 },
    });
    const step = createAuthStep({ verifier: own });
    await step(`Bearer ${token}`);
    await step(`Bearer ${token}`);
    await step('Bearer a b');
    await step(`Bearer ${token}`);
    const s = own.stats!();
    assert.deepEqual([s.cache!.hits, s.cache!.misses, s.verifications], [2, 1, 3]);
    await own.verify('x.y.z').catch(() => undefined);
    assert.equal(own.stats!().cache!.misses, 2);
    own.close();
  });
});

describe('authorizationOf', () => {
  it('the parsed value, unless the raw lines hold several Authorization headers', () => {
    assert.equal(authorizationOf('Bearer a', ['Host', 'x', 'Authorization', 'Bearer a']), 'Bearer a');
    assert.equal(authorizationOf(undefined, ['Host', 'x']), undefined);
    // A value set by earlier middleware (e.g. from a cookie) is honoured.
    assert.equal(authorizationOf('Bearer set', ['Host', 'x']), 'Bearer set');
    assert.deepEqual(
      authorizationOf('Bearer a', ['authorization', 'Bearer a', 'Host', 'x', 'AUTHORIZATION', 'Bearer b']),
      ['Bearer a', 'Bearer b'],
    );
  });
});
