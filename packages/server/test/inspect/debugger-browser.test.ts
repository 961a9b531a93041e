// The web debugger in a real headless Chromium (Debian's, driven by playwright-core): paste a token, read the
// findings and the verification result from the page, and prove from the browser's own network log that the
// token went nowhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Request } from 'playwright-core';
import { createSigner, exportJWK, generateKeyPair, type Signer } from '@tessera/jwt';
import { debuggerRoutes, DEBUGGER_CSP } from '../../src/server/routes/debugger.js';
import type { ServerContext } from '../../src/server/context.js';
import { startServer, type ServerHandle } from '../../src/server/start.js';
import { tempDir, testConfig } from '../server/helpers.js';
import { assertChromium, CHROMIUM, CHROMIUM_ARGS, chromiumSkipFor } from '../helpers/chromium.js';

const skip = chromiumSkipFor('debugger-browser');

let tessera: ServerHandle;
const tmp = tempDir('tessera-debugger-');
let app: FastifyInstance;
let baseURL: string;
let altURL: string;
const signers: Record<string, Signer> = {};
let context: BrowserContext;
let userDataDir: string;
interface Recorded {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}
// Every request any page made, with all headers as sent (read when the request starts, before pages close).
const seen = new Set<Request>();
const recorded: Promise<Recorded>[] = [];
function record(req: Request): void {
  if (seen.has(req)) return;
  seen.add(req);
  recorded.push(
    req
      .allHeaders()
      .catch(() => req.headers())
      .then((headers) => ({ url: req.url(), method: req.method(), headers, body: req.postData() ?? '' })),
  );
}

before(async () => {
  if (skip) return;
  assertChromium();
  // A real Tessera on loopback: its /debugger page, its JWKS, its signing key.
  tessera = await startServer(testConfig(tmp.dir), { scheduleKeys: false });
  baseURL = tessera.url;

  // A second, bare server publishing one key per algorithm family the page verifies with WebCrypto.
  const published = [];
  for (const alg of ['ES384', 'RS256', 'PS256', 'EdDSA'] as const) {
    const { privateKey, publicKey } = generateKeyPair(alg);
    signers[alg] = createSigner({ key: privateKey, alg });
    published.push(exportJWK(publicKey));
  }
  const body = JSON.stringify({ keys: published });
  const ctx = {
    keys: { published: () => ({ keys: JSON.parse(body), body, etag: '"t"', maxAge: 60 }) },
  } as unknown as ServerContext;
  app = Fastify();
  await app.register(debuggerRoutes, { ctx });
  altURL = await app.listen({ host: '127.0.0.1', port: 0 });

  userDataDir = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
  // A fresh profile per run: no extensions, history or saved state that could make requests of their own.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
  context.on('request', record);
});

after(async () => {
  await context?.close();
  await app?.close();
  await tessera?.close();
  tmp.cleanup();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

function claims(extra: Record<string, unknown>) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: baseURL,
    sub: 'user-1',
    aud: 'orders-api',
    exp: now + 600,
    jti: 'j-1',
    scope: 'orders:read',
    ...extra,
  };
}

/** A token signed by the Tessera server's current key (or by one of the bare server's keys). */
function issue(extra: Record<string, unknown> = {}, by?: Signer): string {
  if (by) return by.sign(claims(extra), { header: { typ: 'at+jwt' } });
  return tessera.ctx.keys.signer().sign(claims(extra), { typ: 'at+jwt' });
}

async function paste(token: string, origin = baseURL) {
  const page = await context.newPage();
  page.on('request', record);
  const response = await page.goto(`${origin}/debugger`);
  assert.ok(response);
  await page.waitForSelector('html[data-ready="true"]');
  await page.fill('#token', token);
  // A selector, not a function: the page's CSP (rightly) forbids the eval a string predicate would need.
  await page.waitForSelector('#verification:not([data-state="pending"])', { state: 'attached' });
  return { page, response };
}

test('serves the page with a strict CSP and security headers', { skip }, async () => {
  const res = await fetch(`${baseURL}/debugger`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-security-policy'), DEBUGGER_CSP);
  assert.match(DEBUGGER_CSP, /default-src 'none'/);
  assert.match(DEBUGGER_CSP, /script-src 'self'/);
  assert.match(DEBUGGER_CSP, /connect-src 'self'/);
  assert.match(DEBUGGER_CSP, /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  const html = await res.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline scripts');
  assert.doesNotMatch(html, /<style|style=/, 'no inline styles');
  const lint = await fetch(`${baseURL}/debugger/lint/index.js`);
  assert.equal(lint.status, 200);
  assert.match(lint.headers.get('content-type') ?? '', /javascript/);
  assert.equal((await fetch(`${baseURL}/debugger/lint/..%2Fpackage.json`)).status, 404);
});

test(
  'a token signed by the server key verifies; findings come from the shared lint module',
  { skip },
  async () => {
    const token = issue({ password: 'hunter2' });
    const { page, response } = await paste(token);
    assert.equal(response.headers()['content-security-policy'], DEBUGGER_CSP);
    assert.equal(await page.getAttribute('#verification', 'data-state'), 'verified');
    assert.match((await page.textContent('#verification')) ?? '', /^verified/);
    assert.equal(await page.textContent('#payload-badge'), 'VERIFIED');
    const rules = await page.$$eval('#findings li', (lis) => lis.map((li) => li.getAttribute('data-rule')));
    assert.ok(rules.includes('sensitive-claim-name'), `findings: ${rules.join(', ')}`);
    assert.ok(!rules.includes('exp-missing'));
    assert.ok(!rules.includes('kid-missing'));
    assert.match((await page.textContent('#times')) ?? '', /expires in 10 min/);
    assert.match((await page.textContent('#size')) ?? '', new RegExp(`^${Buffer.byteLength(token)} bytes$`));
    assert.match((await page.textContent('#payload')) ?? '', /"sub": "user-1"/);
    await page.close();
  },
);

test(
  'verifies RSA (PKCS#1 v1.5 and PSS), P-384 and Ed25519 signatures with WebCrypto',
  { skip },
  async () => {
    for (const alg of ['ES384', 'RS256', 'PS256', 'EdDSA']) {
      const { page } = await paste(issue({}, signers[alg]!), altURL);
      const state = await page.getAttribute('#verification', 'data-state');
      const text = (await page.textContent('#verification')) ?? '';
      await page.close();
      if (alg === 'EdDSA' && /cannot verify EdDSA/.test(text)) continue; // browser without Ed25519
      assert.equal(state, 'verified', `${alg}: ${text}`);
    }
  },
);

test('a tampered token does not verify, and alg none never does', { skip }, async () => {
  const [h, p, s] = issue().split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
  const tampered = await paste(`${h}.${forgedPayload}.${s}`);
  assert.equal(await tampered.page.getAttribute('#verification', 'data-state'), 'failed');
  assert.match((await tampered.page.textContent('#verification')) ?? '', /^not verified/);
  assert.equal(await tampered.page.textContent('#payload-badge'), 'UNVERIFIED');
  await tampered.page.close();

  const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  const unsigned = await paste(`${none}.${p}.`);
  assert.equal(await unsigned.page.getAttribute('#verification', 'data-state'), 'failed');
  const rules = await unsigned.page.$$eval('#findings li', (lis) =>
    lis.map((li) => li.getAttribute('data-rule')),
  );
  assert.ok(rules.includes('alg-none'));
  await unsigned.page.close();
});

test(
  'garbage shows a decode error without echoing the input; an expired token is flagged',
  { skip },
  async () => {
    const page = await context.newPage();
    page.on('request', record);
    await page.goto(`${baseURL}/debugger`);
    await page.waitForSelector('html[data-ready="true"]');
    await page.fill('#token', 'not.a-token');
    await page.waitForSelector('#error', { state: 'visible' });
    const error = (await page.textContent('#error')) ?? '';
    assert.match(error, /^Cannot decode: /);
    assert.ok(!error.includes('a-token'));
    assert.equal(await page.isVisible('#result'), false);
    await page.close();

    const now = Math.floor(Date.now() / 1000);
    const expired = await paste(issue({ iat: now - 3600, exp: now - 600 }));
    assert.equal(await expired.page.getAttribute('#verification', 'data-state'), 'verified');
    assert.match((await expired.page.textContent('#verification')) ?? '', /expired/);
    assert.match((await expired.page.textContent('#times')) ?? '', /expired 10 min ago/);
    await expired.page.close();
  },
);

test('the token never leaves the browser', { skip }, async () => {
  const token = issue({ marker: 'do-not-send' });
  const { page } = await paste(token);
  await page.waitForTimeout(300);
  await page.close();
  const segments = token.split('.').filter((s) => s.length >= 8);
  const requests = await Promise.all(recorded);
  assert.ok(requests.length > 0, 'the network log recorded requests');
  for (const req of requests) {
    const haystack = [req.url, JSON.stringify(req.headers), req.body].join('\n');
    for (const needle of [token, ...segments]) {
      assert.ok(!haystack.includes(needle), `request ${req.method} ${req.url} carries the token`);
    }
    const url = new URL(req.url);
    assert.ok(
      [baseURL, altURL].includes(url.origin) || url.protocol === 'data:',
      `unexpected request to ${req.url}`,
    );
    assert.equal(req.method, 'GET');
  }
  const paths = new Set(requests.map((r) => new URL(r.url).pathname));
  assert.ok(paths.has('/debugger/jwks.json'), 'the page fetched the JWKS');
});
