import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono, type Context } from 'hono';
import {
  createVerifier,
  IntrospectionFailed,
  InvalidOptions,
  scopesOf,
  type AuthOptions,
  type Verifier,
} from '../../src/index.js';
import { createExpressAuth, requireScopes as expressScopes } from '../../src/middleware/express.js';
import {
  createFastifyAuth,
  createFastifyAuthHook,
  requireScopes as fastifyScopes,
} from '../../src/middleware/fastify.js';
import {
  createHonoAuth,
  requireScopes as honoScopes,
  withHonoAuth,
  type HonoAuthOptions,
  type OptionalAuthEnv,
} from '../../src/middleware/hono.js';
import {
  createNodeHttpAuth,
  requireScopes as nodeScopes,
  withNodeHttpAuth,
} from '../../src/middleware/node-http.js';
import type { AuthFailure, AuthInfo } from '../../src/middleware/shared.js';
import { claims, makeKey, serverCloser } from './helpers.js';

const key = makeKey();
const base = {
  algorithms: ['ES256' as const],
  issuer: 'https://issuer.test',
  audience: 'api',
  keys: [key.pair.publicKey],
  cache: { maxEntries: 100 },
};
const verifier = createVerifier(base);
const scpVerifier = createVerifier({ ...base, scopeClaim: 'scp' });

const closer = serverCloser();
const listen = async (server: Server): Promise<string> => `http://127.0.0.1:${await closer.listen(server)}`;

/** The token a test puts in the `at` cookie, for the getToken option. */
const cookieToken = (cookie: string | undefined): string | undefined =>
  /(?:^|;\s*)at=([^;]*)/.exec(cookie ?? '')?.[1];

/** Statuses every onError hook saw, in order. */
const seen: number[] = [];

/**
 * How a test server is built: the shared options, and whether to add `getToken` (from the `at` cookie) and
 * `onError` (records the status; answers 418 itself on /custom, leaves every other path to the default).
 */
interface Setup {
  options: AuthOptions;
  cookie?: boolean;
  onError?: boolean;
}

// Every server answers GET /me (200 with the subject, or null when anonymous) and GET /admin (requireScopes('admin')).
type Start = (setup: Setup) => Promise<string>;

const subOf = (auth: AuthInfo | null | undefined) => ({ sub: auth?.claims.sub ?? null });

const startNode: Start = async ({ options, cookie, onError }) => {
  const authenticate = createNodeHttpAuth({
    ...options,
    ...(cookie && { getToken: (req) => cookieToken(req.headers.cookie) }),
    ...(onError && {
      onError: (failure: AuthFailure, req, res) => {
        seen.push(failure.status);
        if (req.url === '/custom') res.writeHead(418).end('custom');
      },
    }),
  });
  const admin = nodeScopes('admin');
  const server = createServer(async (req, res) => {
    const auth = await authenticate(req, res);
    if (auth === undefined) return;
    if (req.url === '/admin' && !admin(req, res)) return;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(subOf(auth)));
  });
  return listen(server);
};

const startNodeWrapped: Start = async ({ options, cookie, onError }) => {
  const admin = nodeScopes('admin');
  const server = createServer(
    withNodeHttpAuth(
      {
        ...options,
        ...(cookie && { getToken: (req) => cookieToken(req.headers.cookie) }),
        // An async hook: the default answer waits for it.
        ...(onError && {
          onError: async (failure: AuthFailure, req, res) => {
            await new Promise((resolve) => setImmediate(resolve));
            seen.push(failure.status);
            if (req.url === '/custom') res.writeHead(418).end('custom');
          },
        }),
      },
      (req, res) => {
        if (req.url === '/admin' && !admin(req, res)) return;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(subOf(req.auth)));
      },
    ),
  );
  return listen(server);
};

const startExpress: Start = async ({ options, cookie, onError }) => {
  const app = express();
  app.use(
    createExpressAuth({
      ...options,
      ...(cookie && { getToken: (req) => cookieToken(req.headers.cookie) }),
      ...(onError && {
        onError: (failure: AuthFailure, req, res) => {
          seen.push(failure.status);
          if (req.path === '/custom') res.status(418).send('custom');
        },
      }),
    }),
  );
  const me = (req: express.Request, res: express.Response) => {
    res.json(subOf((req as { auth?: AuthInfo }).auth));
  };
  app.get('/me', me);
  app.get('/admin', expressScopes('admin'), me);
  return listen(createServer(app));
};

const startFastify: Start = async ({ options, cookie, onError }) => {
  const app = Fastify();
  await app.register(
    createFastifyAuth({
      ...options,
      ...(cookie && { getToken: (request) => cookieToken(request.headers.cookie) }),
      ...(onError && {
        onError: (failure: AuthFailure, request, reply) => {
          seen.push(failure.status);
          if (request.url === '/custom') return reply.code(418).send('custom');
          return undefined;
        },
      }),
    }),
  );
  app.get('/me', async (request) => subOf(request.auth));
  app.get('/custom', async (request) => subOf(request.auth));
  app.get('/admin', { preHandler: fastifyScopes('admin') }, async (request) => subOf(request.auth));
  await app.listen({ port: 0, host: '127.0.0.1' });
  closer.onClose(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
};

function honoOptions({ options, cookie, onError }: Setup): HonoAuthOptions {
  return {
    ...options,
    ...(cookie && { getToken: (c: Context) => cookieToken(c.req.header('cookie')) }),
    ...(onError && {
      onError: (failure: AuthFailure, c: Context) => {
        seen.push(failure.status);
        return c.req.path === '/custom' ? c.text('custom', 418) : undefined;
      },
    }),
  };
}

const startHono: Start = async (setup) => {
  const app = new Hono<OptionalAuthEnv>();
  app.use('*', createHonoAuth(honoOptions(setup)));
  app.get('/me', (c) => c.json(subOf(c.get('auth'))));
  app.get('/admin', honoScopes('admin'), (c) => c.json(subOf(c.get('auth'))));
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
};

const startHonoWrapped: Start = async (setup) => {
  const app = new Hono<OptionalAuthEnv>();
  const options = honoOptions(setup);
  app.get(
    '/me',
    withHonoAuth(options, (c) => c.json(subOf(c.get('auth')))),
  );
  app.get(
    '/custom',
    withHonoAuth(options, (c) => c.json(subOf(c.get('auth')))),
  );
  app.get(
    '/admin',
    withHonoAuth(options, (_c, next) => next()),
    honoScopes('admin'),
    (c) => c.json(subOf(c.get('auth'))),
  );
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
};

const adapters: [string, Start][] = [
  ['node:http', startNode],
  ['node:http (withNodeHttpAuth)', startNodeWrapped],
  ['express', startExpress],
  ['fastify', startFastify],
  ['hono', startHono],
  ['hono (withHonoAuth)', startHonoWrapped],
];

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    retryAfter: res.headers.get('retry-after'),
    text,
    json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A verifier whose every verification fails with `err` (the introspection budget, a 429 from the token service). */
const failingVerifier = (err: unknown): Verifier =>
  ({ verify: () => Promise.reject(err) }) as unknown as Verifier;

for (const [name, start] of adapters) {
  describe(`S12-2 scope escalation through scp: ${name}`, () => {
    let url = '';
    let scpUrl = '';
    before(async () => {
      url = await start({ options: { verifier } });
      scpUrl = await start({ options: { verifier: scpVerifier } });
    });

    it('a client-chosen scp: ["admin"] without scope does not pass requireScopes("admin")', async () => {
      const forged = key.signer.sign(claims({ scp: ['admin'] }));
      let r = await get(`${url}/admin`, bearer(forged));
      assert.equal(r.status, 403);
      assert.equal(r.json!.error, 'insufficient_scope');
      // A scope that is not a string (RFC 9068 §2.2.3) carries nothing either.
      r = await get(`${url}/admin`, bearer(key.signer.sign(claims({ scope: ['admin'] }))));
      assert.equal(r.status, 403);
      r = await get(`${url}/admin`, bearer(key.signer.sign(claims({ scope: 'read admin' }))));
      assert.equal(r.status, 200);
    });

    it('passes when the verifier is configured with scopeClaim: "scp" (and then only scp counts)', async () => {
      let r = await get(`${scpUrl}/admin`, bearer(key.signer.sign(claims({ scp: ['admin'] }))));
      assert.equal(r.status, 200);
      r = await get(`${scpUrl}/admin`, bearer(key.signer.sign(claims({ scp: 'read admin' }))));
      assert.equal(r.status, 200);
      r = await get(`${scpUrl}/admin`, bearer(key.signer.sign(claims({ scope: 'admin' }))));
      assert.equal(r.status, 403);
    });
  });

  describe(`S12-4 a rationed check answers 503 with Retry-After: ${name}`, () => {
    it('an error carrying retryAfter is a 503 temporarily_unavailable with that Retry-After', async () => {
      const budget = Object.assign(new IntrospectionFailed('introspection budget exhausted'), {
        retryAfter: 7,
      });
      let url = await start({ options: { verifier: failingVerifier(budget) } });
      let r = await get(`${url}/me`, bearer('tsa_opaque'));
      assert.equal(r.status, 503);
      assert.equal(r.retryAfter, '7');
      assert.deepEqual(r.json, {
        error: 'temporarily_unavailable',
        error_description: 'the access token cannot be checked right now',
      });
      assert.doesNotMatch(r.text, /budget/);
      // Read structurally, whatever the error's class; 0 is a valid delay.
      url = await start({
        options: { verifier: failingVerifier(Object.assign(new Error('429'), { retryAfter: 0 })) },
      });
      r = await get(`${url}/me`, bearer('tsa_opaque'));
      assert.equal(r.status, 503);
      assert.equal(r.retryAfter, '0');
      // Anything but a whole number of seconds ≥ 0 is ignored: the usual dependency answer.
      for (const retryAfter of [-1, 1.5, '7', Number.NaN]) {
        url = await start({
          options: { verifier: failingVerifier(Object.assign(new IntrospectionFailed(), { retryAfter })) },
        });
        r = await get(`${url}/me`, bearer('tsa_opaque'));
        assert.equal(r.status, 503, String(retryAfter));
        assert.equal(r.retryAfter, '5', String(retryAfter));
      }
    });
  });

  describe(`middleware options: ${name}`, () => {
    it('credentialsRequired: false lets a request without credentials through; a present bad token is still refused', async () => {
      const url = await start({ options: { verifier, credentialsRequired: false, realm: 'api' } });
      let r = await get(`${url}/me`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { sub: null });
      r = await get(`${url}/me`, { authorization: 'Basic dXNlcjpwdw==' });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { sub: null });
      r = await get(`${url}/me`, bearer(key.signer.sign(claims({ sub: 'alice' }))));
      assert.deepEqual([r.status, r.json], [200, { sub: 'alice' }]);
      // Per-route scopes still need credentials.
      r = await get(`${url}/admin`);
      assert.equal(r.status, 401);
      // A token that is present is still verified, and refused when invalid or malformed.
      const expired = key.signer.sign(claims({ exp: Math.floor(Date.now() / 1000) - 10 }));
      r = await get(`${url}/me`, bearer(expired));
      assert.equal(r.status, 401);
      assert.match(r.challenge!, /error="invalid_token"/);
      r = await get(`${url}/me`, bearer(makeKey().signer.sign(claims())));
      assert.equal(r.status, 401);
      r = await get(`${url}/me`, { authorization: 'Bearer a b' });
      assert.equal(r.status, 400);
    });

    it('getToken: a token from a cookie is verified exactly like a Bearer token', async () => {
      const url = await start({ options: { verifier, realm: 'api' }, cookie: true });
      const tok = key.signer.sign(claims({ sub: 'carol', scope: 'admin' }));
      let r = await get(`${url}/me`, { cookie: `theme=dark; at=${tok}` });
      assert.deepEqual([r.status, r.json], [200, { sub: 'carol' }]);
      r = await get(`${url}/admin`, { cookie: `at=${tok}` });
      assert.equal(r.status, 200);
      // The getter replaces the Authorization header: nothing from it means no credentials.
      r = await get(`${url}/me`, bearer(tok));
      assert.equal(r.status, 401);
      assert.equal(r.challenge, 'Bearer realm="api"');
      r = await get(`${url}/me`, { cookie: `at=${makeKey().signer.sign(claims())}` });
      assert.equal(r.status, 401);
      assert.match(r.challenge!, /error="invalid_token"/);
      // Not a b64token (RFC 6750 §2.1): refused before verification.
      r = await get(`${url}/me`, { cookie: `at=${tok}"` });
      assert.equal(r.status, 400);
      assert.equal(r.json!.error, 'invalid_request');
    });

    it('onError sees every failure and may answer itself; otherwise the default answer is sent', async () => {
      const url = await start({ options: { verifier, realm: 'api' }, onError: true });
      seen.length = 0;
      let r = await get(`${url}/custom`);
      assert.deepEqual([r.status, r.text], [418, 'custom']);
      r = await get(`${url}/me`);
      assert.equal(r.status, 401);
      assert.equal(r.challenge, 'Bearer realm="api"');
      r = await get(`${url}/me`, { authorization: 'Bearer a b' });
      assert.equal(r.status, 400);
      r = await get(`${url}/me`, bearer(makeKey().signer.sign(claims())));
      assert.equal(r.status, 401);
      assert.equal(r.json!.error, 'invalid_token');
      assert.deepEqual(seen, [401, 401, 400, 401]);
      r = await get(`${url}/me`, bearer(key.signer.sign(claims({ sub: 'dave' }))));
      assert.deepEqual([r.status, r.json], [200, { sub: 'dave' }]);
      assert.equal(seen.length, 4);
    });
  });
}

describe('issue 13: the Fastify plugin protects exactly the routes of its context declared after it', () => {
  let url = '';
  before(async () => {
    const app = Fastify();
    app.get('/before', async () => 'open');
    await app.register(async (api) => {
      api.get('/api/early', async () => 'open');
      await api.register(createFastifyAuth({ verifier, publicRoutes: ['/api/health', '/api/child/open'] }));
      api.get('/api/me', async (request) => ({ sub: request.auth?.claims.sub ?? null }));
      api.get('/api/health', async () => 'open');
      await api.register(
        async (child) => {
          child.get('/deep', async (request) => ({ sub: request.auth?.claims.sub ?? null }));
          child.get('/', async () => 'index');
          child.get('/open', async () => 'open'); // public, named with its prefix
        },
        { prefix: '/api/child' },
      );
    });
    app.register(async (sibling) => {
      sibling.get('/sibling', async () => 'open');
    });
    app.get('/after', async () => 'open');
    // A route's own onRequest hooks still run, after the check.
    await app.register(async (own) => {
      await own.register(createFastifyAuth({ verifier }));
      own.get(
        '/own-hook',
        { onRequest: async (request, reply) => void reply.header('x-own', request.auth ? 'auth' : 'none') },
        async () => 'ok',
      );
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    closer.onClose(() => app.close());
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  it('routes of the parent and sibling contexts, and routes declared before it, stay open', async () => {
    for (const path of ['/before', '/api/early', '/sibling', '/after']) {
      const r = await get(`${url}${path}`);
      assert.deepEqual([r.status, r.text], [200, 'open'], path);
    }
  });

  it('routes declared after it, in its context and in child contexts, are protected; publicRoutes stay open', async () => {
    for (const path of ['/api/health', '/api/child/open']) {
      const open = await get(`${url}${path}`);
      assert.deepEqual([open.status, open.text], [200, 'open'], path);
    }
    const tok = key.signer.sign(claims({ sub: 'erin' }));
    for (const path of ['/api/me', '/api/child/deep', '/api/child', '/api/child/']) {
      assert.equal((await get(`${url}${path}`)).status, 401, path);
    }
    let r = await get(`${url}/api/me`, bearer(tok));
    assert.deepEqual([r.status, r.json], [200, { sub: 'erin' }]);
    r = await get(`${url}/api/child/deep`, bearer(tok));
    assert.deepEqual([r.status, r.json], [200, { sub: 'erin' }]);
    r = await get(`${url}/own-hook`);
    assert.equal(r.status, 401);
    const res = await fetch(`${url}/own-hook`, { headers: bearer(tok) });
    assert.deepEqual([res.status, res.headers.get('x-own')], [200, 'auth']);
  });

  it('the hook alone takes the same options (getToken)', async () => {
    const app = Fastify();
    const onRequest = createFastifyAuthHook({
      verifier,
      getToken: (request) => cookieToken(request.headers.cookie),
    });
    app.get('/x', { onRequest }, async (request) => ({ sub: request.auth?.claims.sub ?? null }));
    const r = await app.inject({
      url: '/x',
      headers: { cookie: `at=${key.signer.sign(claims({ sub: 'fay' }))}` },
    });
    assert.deepEqual([r.statusCode, r.json()], [200, { sub: 'fay' }]);
    assert.equal((await app.inject({ url: '/x' })).statusCode, 401);
    await app.close();
  });
});

describe('middleware options: validation and scopesOf', () => {
  it('refuses bad options at construction', () => {
    assert.throws(() => createNodeHttpAuth({ verifier, credentialsRequired: 'no' as never }), InvalidOptions);
    assert.throws(
      () => createNodeHttpAuth({ verifier, credentialsRequired: false, scopes: ['orders:read'] }),
      InvalidOptions,
    );
    assert.throws(() => createExpressAuth({ verifier, getToken: 'cookie' as never }), InvalidOptions);
    assert.throws(() => createHonoAuth({ verifier, onError: {} as never }), InvalidOptions);
    assert.throws(() => createFastifyAuth({ verifier, publicRoutes: ['health'] }), InvalidOptions);
  });

  it('scopesOf reads one claim: scope as a string; a configured claim as a string or a list of strings', () => {
    assert.deepEqual(scopesOf({ scope: 'a  b' }), ['a', 'b']);
    assert.deepEqual(scopesOf({ scp: ['admin'] }), []);
    assert.deepEqual(scopesOf({ scope: ['admin'] }), []);
    assert.deepEqual(scopesOf({ scp: ['a', 'b'] }, 'scp'), ['a', 'b']);
    assert.deepEqual(scopesOf({ scp: 'a b' }, 'scp'), ['a', 'b']);
    assert.deepEqual(scopesOf({ scp: ['a', 1] }, 'scp'), []);
    assert.deepEqual(scopesOf({ scope: 'a', scp: ['admin'] }, 'scope'), ['a']);
    assert.deepEqual(scopesOf({}, 'constructor'), []);
  });
});
