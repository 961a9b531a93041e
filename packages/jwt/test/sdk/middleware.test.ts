import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createVerifier, InvalidOptions } from '../../src/index.js';
import {
  createExpressAuth,
  requireScopes as expressScopes,
  type AuthenticatedRequest,
} from '../../src/middleware/express.js';
import { createFastifyAuth, requireScopes as fastifyScopes } from '../../src/middleware/fastify.js';
import {
  createHonoAuth,
  requireScopes as honoScopes,
  withHonoAuth,
  type AuthEnv,
} from '../../src/middleware/hono.js';
import {
  createNodeHttpAuth,
  requireScopes as nodeScopes,
  withNodeHttpAuth,
} from '../../src/middleware/node-http.js';
import { claims, makeKey, serverCloser } from './helpers.js';

const key = makeKey();
const verifier = createVerifier({
  algorithms: ['ES256'],
  issuer: 'https://issuer.test',
  audience: 'api',
  keys: [key.pair.publicKey],
  cache: { maxEntries: 100 },
});
const options = { verifier, realm: 'api' };

const closer = serverCloser();
const listen = async (server: Server): Promise<string> => `http://127.0.0.1:${await closer.listen(server)}`;

async function startNode(): Promise<string> {
  const authenticate = createNodeHttpAuth(options);
  const admin = nodeScopes('admin');
  const server = createServer(async (req, res) => {
    const auth = await authenticate(req, res);
    if (!auth) return;
    if (req.url === '/admin' && !admin(req, res)) return;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: auth.claims.sub }));
  });
  return listen(server);
}

// The handler-wrapper form: the handler runs with req.auth set (same tick on a cache hit).
async function startNodeWrapped(): Promise<string> {
  const admin = nodeScopes('admin');
  const server = createServer(
    withNodeHttpAuth(options, (req, res) => {
      if (req.url === '/admin' && !admin(req, res)) return;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ sub: req.auth.claims.sub }));
    }),
  );
  return listen(server);
}

async function startExpress(): Promise<string> {
  const app = express();
  app.use(createExpressAuth(options));
  app.get('/me', (req, res) => {
    res.json({ sub: (req as AuthenticatedRequest).auth.claims.sub });
  });
  app.get('/admin', expressScopes('admin'), (req, res) => {
    res.json({ sub: (req as AuthenticatedRequest).auth.claims.sub });
  });
  return listen(createServer(app));
}

async function startFastify(): Promise<string> {
  const app = Fastify();
  await app.register(createFastifyAuth(options));
  app.get('/me', async (request) => ({ sub: request.auth!.claims.sub }));
  app.get('/admin', { preHandler: fastifyScopes('admin') }, async (request) => ({
    sub: request.auth!.claims.sub,
  }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  closer.onClose(() => app.close());
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

async function startHono(): Promise<string> {
  const app = new Hono<AuthEnv>();
  app.use('*', createHonoAuth(options));
  app.get('/me', (c) => c.json({ sub: c.get('auth').claims.sub }));
  app.get('/admin', honoScopes('admin'), (c) => c.json({ sub: c.get('auth').claims.sub }));
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
}

// The handler-wrapper form: the check runs inside the route's own handler (Hono's single-handler fast path);
// it also composes, handing on to later handlers through next().
async function startHonoWrapped(): Promise<string> {
  const app = new Hono<AuthEnv>();
  app.get(
    '/me',
    withHonoAuth(options, (c) => c.json({ sub: c.get('auth').claims.sub })),
  );
  app.get(
    '/admin',
    withHonoAuth(options, (_c, next) => next()),
    honoScopes('admin'),
    (c) => c.json({ sub: c.get('auth').claims.sub }),
  );
  return listen(createAdaptorServer({ fetch: app.fetch }) as Server);
}

async function get(url: string, authorization?: string) {
  const res = await fetch(url, authorization === undefined ? {} : { headers: { authorization } });
  const text = await res.text();
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    text,
    json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

const adapters: [string, () => Promise<string>][] = [
  ['node:http', startNode],
  ['node:http (withNodeHttpAuth)', startNodeWrapped],
  ['express', startExpress],
  ['fastify', startFastify],
  ['hono', startHono],
  ['hono (withHonoAuth)', startHonoWrapped],
];

for (const [name, start] of adapters) {
  describe(`middleware: ${name}`, () => {
    let url = '';
    before(async () => {
      url = await start();
    });

    it('no credentials: 401 with a bare challenge and no error code (RFC 6750 §3.1)', async () => {
      for (const h of [undefined, 'Basic dXNlcjpwdw==']) {
        const r = await get(`${url}/me`, h);
        assert.equal(r.status, 401);
        assert.equal(r.challenge, 'Bearer realm="api"');
        assert.equal(r.text, '');
      }
    });

    it('never reads the query string or a body parameter', async () => {
      const tok = key.signer.sign(claims());
      const r = await get(`${url}/me?access_token=${tok}`);
      assert.equal(r.status, 401);
      assert.equal(r.challenge, 'Bearer realm="api"');
    });

    it('malformed header: 400 invalid_request', async () => {
      for (const h of ['Bearer', 'Bearer a b', 'Bearer  abc', 'Bearer a"b']) {
        const r = await get(`${url}/me`, h);
        assert.equal(r.status, 400, h);
        assert.match(
          r.challenge!,
          /^Bearer realm="api", error="invalid_request", error_description="[^"]+"$/,
        );
        assert.equal(r.json!.error, 'invalid_request');
      }
    });

    it('invalid token: 401 invalid_token, description from the error code, never the token', async () => {
      const expired = key.signer.sign(
        claims({ exp: Math.floor(Date.now() / 1000) - 10, sub: 'INJECT"quote' }),
      );
      let r = await get(`${url}/me`, `Bearer ${expired}`);
      assert.equal(r.status, 401);
      assert.equal(
        r.challenge,
        'Bearer realm="api", error="invalid_token", error_description="the access token expired"',
      );
      assert.deepEqual(r.json, { error: 'invalid_token', error_description: 'the access token expired' });
      const other = makeKey().signer.sign(claims({ iss: 'https://evil"test' }));
      r = await get(`${url}/me`, `Bearer ${other}`);
      assert.equal(r.status, 401);
      assert.match(r.challenge!, /error="invalid_token"/);
      assert.doesNotMatch(r.text + r.challenge, /evil|INJECT/);
      r = await get(`${url}/me`, 'Bearer not.a.jwt');
      assert.equal(r.status, 401);
    });

    it('valid token: claims on the request slot; requireScopes answers 403 insufficient_scope', async () => {
      const tok = key.signer.sign(claims({ sub: 'alice', scope: 'read write' }));
      let r = await get(`${url}/me`, `Bearer ${tok}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { sub: 'alice' });
      r = await get(`${url}/admin`, `bearer ${tok}`);
      assert.equal(r.status, 403);
      assert.equal(
        r.challenge,
        'Bearer error="insufficient_scope", error_description="the access token lacks a required scope", scope="admin"',
      );
      assert.equal(r.json!.error, 'insufficient_scope');
      const adminTok = key.signer.sign(claims({ sub: 'root', scope: 'admin' }));
      r = await get(`${url}/admin`, `Bearer ${adminTok}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { sub: 'root' });
    });
  });
}

describe('middleware: shared behaviour', () => {
  it('validates options at construction', () => {
    assert.throws(() => createNodeHttpAuth({} as never), InvalidOptions);
    assert.throws(() => createNodeHttpAuth({ verifier, realm: 'a"b' }), InvalidOptions);
    assert.throws(() => nodeScopes('bad scope'), InvalidOptions);
    assert.throws(() => expressScopes('a"b'), InvalidOptions);
  });

  it('scopes in the adapter options apply to every request', async () => {
    const authenticate = createNodeHttpAuth({ verifier, scopes: ['orders:read'] });
    const server = createServer(async (req, res) => {
      if (await authenticate(req, res)) res.end('ok');
    });
    const url = await listen(server);
    let r = await get(url, `Bearer ${key.signer.sign(claims({ scope: 'orders:write' }))}`);
    assert.equal(r.status, 403);
    assert.match(r.challenge!, /scope="orders:read"/);
    r = await get(url, `Bearer ${key.signer.sign(claims({ scope: 'orders:read' }))}`);
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ok');
  });

  it('an unreachable issuer answers 503, not 401', async () => {
    const down = createVerifier({
      algorithms: ['ES256'],
      issuer: 'https://issuer.test',
      audience: 'api',
      jwksUri: 'http://127.0.0.1:1/jwks',
    });
    const authenticate = createNodeHttpAuth({ verifier: down });
    const server = createServer(async (req, res) => {
      if (await authenticate(req, res)) res.end('ok');
    });
    const url = await listen(server);
    const r = await get(url, `Bearer ${key.signer.sign(claims())}`);
    assert.equal(r.status, 503);
    assert.equal(r.json!.error, 'temporarily_unavailable');
    down.close();
  });
});
