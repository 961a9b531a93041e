/**
 * DPoP over real HTTP: a Fastify app using the SDK's plugin, called by `oauth4webapi`'s DPoP support (a
 * `DPoP()` handle and `protectedResourceRequest`), with a bound token minted by the SDK signer; then Express
 * (mounted, so the URL is the original one), node:http and Hono with proofs from createDpopProof. Every server
 * listens on 127.0.0.1 port 0 and is closed after the file.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import * as oauth from 'oauth4webapi';
import {
  calculateJWKThumbprint,
  createDpopNonces,
  createDpopProof,
  createVerifier,
  type JWK,
  type Verifier,
} from '../../src/index.js';
import { createExpressAuth, type AuthenticatedRequest } from '../../src/middleware/express.js';
import { createFastifyAuth } from '../../src/middleware/fastify.js';
import { createHonoAuth, type AuthEnv } from '../../src/middleware/hono.js';
import { createNodeHttpAuth } from '../../src/middleware/node-http.js';
import { makeKey, serverCloser } from './helpers.js';

const issuer = makeKey();
const closer = serverCloser();
const nowS = () => Math.floor(Date.now() / 1000);
const ALGS = 'ES256 EdDSA PS256 RS256';

const makeVerifier = (extra: Partial<Parameters<typeof createVerifier>[0]> = {}): Verifier =>
  createVerifier({
    algorithms: ['ES256'],
    issuer: 'https://issuer.test',
    audience: 'orders-api',
    keys: [issuer.pair.publicKey],
    cache: { maxEntries: 100 },
    dpop: 'allowed',
    ...extra,
  });

function mint(jkt?: string): string {
  return issuer.signer.sign({
    iss: 'https://issuer.test',
    aud: 'orders-api',
    sub: 'user-1',
    iat: nowS(),
    exp: nowS() + 300,
    jti: randomUUID(),
    ...(jkt !== undefined && { cnf: { jkt } }),
  });
}

async function startFastify(verifier: Verifier): Promise<string> {
  const app = Fastify();
  await app.register(createFastifyAuth({ verifier }));
  app.get('/orders', async (request) => ({ sub: request.auth!.claims.sub, cnf: request.auth!.claims.cnf }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  closer.onClose(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const insecure = { [oauth.allowInsecureRequests]: true } as const;

describe('Fastify plugin and oauth4webapi DPoP', () => {
  test('a bound token with oauth4webapi proofs is accepted, again and again (fresh proofs, cache hits)', async () => {
    const base = await startFastify(makeVerifier());
    const keyPair = await oauth.generateKeyPair('ES256');
    const jkt = calculateJWKThumbprint((await crypto.subtle.exportKey('jwk', keyPair.publicKey)) as JWK);
    const DPoP = oauth.DPoP({}, keyPair);
    const token = mint(jkt);
    for (let i = 0; i < 3; i++) {
      const res = await oauth.protectedResourceRequest(
        token,
        'GET',
        new URL(`${base}/orders?page=${i}`),
        undefined,
        undefined,
        {
          DPoP,
          ...insecure,
        },
      );
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { sub: 'user-1', cnf: { jkt } });
    }
  });

  test('the bound token sent as Bearer gets a DPoP invalid_token challenge', async () => {
    const base = await startFastify(makeVerifier());
    const keyPair = await oauth.generateKeyPair('ES256');
    const jkt = calculateJWKThumbprint((await crypto.subtle.exportKey('jwk', keyPair.publicKey)) as JWK);
    const err = await oauth
      .protectedResourceRequest(mint(jkt), 'GET', new URL(`${base}/orders`), undefined, undefined, insecure)
      .catch((e: unknown) => e);
    assert.ok(err instanceof oauth.WWWAuthenticateChallengeError);
    assert.equal(err.cause[0]!.scheme, 'dpop');
    assert.equal(err.cause[0]!.parameters.error, 'invalid_token');
    assert.equal(err.cause[0]!.parameters.algs, ALGS);
  });

  test('a proof key other than the bound one is refused (a stolen token used with the thief’s key)', async () => {
    const base = await startFastify(makeVerifier());
    const owner = await oauth.generateKeyPair('ES256');
    const jkt = calculateJWKThumbprint((await crypto.subtle.exportKey('jwk', owner.publicKey)) as JWK);
    const thief = oauth.DPoP({}, await oauth.generateKeyPair('ES256'));
    const err = await oauth
      .protectedResourceRequest(mint(jkt), 'GET', new URL(`${base}/orders`), undefined, undefined, {
        DPoP: thief,
        ...insecure,
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof oauth.WWWAuthenticateChallengeError);
    assert.equal(err.cause[0]!.parameters.error, 'invalid_token');
  });

  test('resource nonces: use_dpop_nonce with DPoP-Nonce, and oauth4webapi retries with it', async () => {
    const base = await startFastify(makeVerifier({ dpopOptions: { nonce: createDpopNonces() } }));
    const keyPair = await oauth.generateKeyPair('EdDSA');
    const jkt = calculateJWKThumbprint((await crypto.subtle.exportKey('jwk', keyPair.publicKey)) as JWK);
    const DPoP = oauth.DPoP({}, keyPair);
    const token = mint(jkt);
    const call = () =>
      oauth.protectedResourceRequest(token, 'GET', new URL(`${base}/orders`), undefined, undefined, {
        DPoP,
        ...insecure,
      });
    const first = await call().catch((e: unknown) => e);
    assert.ok(
      oauth.isDPoPNonceError(first),
      `the first request is told to use a nonce: ${String(first)} ${JSON.stringify((first as { cause?: unknown }).cause)}`,
    );
    const second = await call().catch((e: unknown) => e);
    assert.ok(second instanceof Response, String(second));
    assert.equal(second.status, 200);
  });

  test('raw answers: invalid_dpop_proof for a replay, algs advertised, bare challenge lists both schemes', async () => {
    const base = await startFastify(makeVerifier());
    const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = mint(calculateJWKThumbprint(client.publicKey.export({ format: 'jwk' }) as JWK));
    const proof = createDpopProof({
      privateKey: client.privateKey,
      htm: 'GET',
      htu: `${base}/orders`,
      accessToken: token,
    });
    const headers = { authorization: `DPoP ${token}`, dpop: proof };
    assert.equal((await fetch(`${base}/orders`, { headers })).status, 200);
    const replay = await fetch(`${base}/orders`, { headers });
    assert.equal(replay.status, 401);
    assert.equal(
      replay.headers.get('www-authenticate'),
      `DPoP error="invalid_dpop_proof", error_description="the DPoP proof was already used", algs="${ALGS}"`,
    );
    assert.deepEqual(await replay.json(), {
      error: 'invalid_dpop_proof',
      error_description: 'the DPoP proof was already used',
    });
    const bare = await fetch(`${base}/orders`);
    assert.equal(bare.status, 401);
    assert.equal(bare.headers.get('www-authenticate'), `Bearer, DPoP algs="${ALGS}"`);
  });
});

describe('Express, node:http and Hono with DPoP', () => {
  const client = generateKeyPairSync('ed25519');
  const jkt = calculateJWKThumbprint(client.publicKey.export({ format: 'jwk' }) as JWK);
  const listen = async (server: Server) => `http://127.0.0.1:${await closer.listen(server)}`;

  async function check(base: string, path: string) {
    const token = mint(jkt);
    const proof = () =>
      createDpopProof({ privateKey: client.privateKey, htm: 'GET', htu: base + path, accessToken: token });
    const ok = await fetch(base + path, { headers: { authorization: `DPoP ${token}`, dpop: proof() } });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(((await ok.json()) as { sub: string }).sub, 'user-1');
    const wrongUrl = createDpopProof({
      privateKey: client.privateKey,
      htm: 'GET',
      htu: base + '/elsewhere',
      accessToken: token,
    });
    const bad = await fetch(base + path, { headers: { authorization: `DPoP ${token}`, dpop: wrongUrl } });
    assert.equal(bad.status, 401);
    assert.match(
      bad.headers.get('www-authenticate')!,
      /^DPoP error="invalid_dpop_proof", error_description="the DPoP proof is for another URL"/,
    );
    const bearer = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.status, 401);
    assert.match(bearer.headers.get('www-authenticate')!, /^DPoP error="invalid_token"/);
  }

  test('express, mounted under /api (the proof names the original URL)', async () => {
    const app = express();
    app.use('/api', createExpressAuth({ verifier: makeVerifier() }));
    app.get('/api/orders', (req, res) => {
      res.json({ sub: (req as AuthenticatedRequest).auth.claims.sub });
    });
    await check(await listen(createServer(app)), '/api/orders');
  });

  test('node:http', async () => {
    const authenticate = createNodeHttpAuth({ verifier: makeVerifier() });
    const server = createServer(async (req, res) => {
      const auth = await authenticate(req, res);
      if (!auth) return;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ sub: auth.claims.sub }));
    });
    await check(await listen(server), '/orders');
  });

  test('hono', async () => {
    const app = new Hono<AuthEnv>();
    app.use('*', createHonoAuth({ verifier: makeVerifier() }));
    app.get('/orders', (c) => c.json({ sub: c.get('auth').claims.sub }));
    await check(await listen(createAdaptorServer({ fetch: app.fetch }) as Server), '/orders');
  });

  test('dpop: required answers a Bearer token with a DPoP challenge', async () => {
    const authenticate = createNodeHttpAuth({ verifier: makeVerifier({ dpop: 'required' }), realm: 'api' });
    const server = createServer(async (req, res) => {
      if (await authenticate(req, res)) res.end('ok');
    });
    const base = await listen(server);
    const res = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${mint()}` } });
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get('www-authenticate'),
      `DPoP realm="api", error="invalid_token", error_description="a DPoP-bound access token is required", algs="${ALGS}"`,
    );
    const bare = await fetch(`${base}/orders`);
    assert.equal(bare.headers.get('www-authenticate'), `DPoP realm="api", algs="${ALGS}"`);
  });
});
