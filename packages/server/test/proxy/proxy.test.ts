/**
 * `tessera proxy` end to end over HTTP: Tessera, the proxy and a small app that verifies the forwarded token
 * with @tessera/jwt. Sign-in and return path, the session cookie never reaching the app, header spoofing,
 * API clients, public paths, hop-by-hop fields, streaming, WebSocket, upstream failures.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { WebSocket } from 'ws';
import { startWorld, signedInBrowser, Browser, type World } from './setup.js';
import { basic } from '../oauth/harness.js';

/** A raw GET with a path exactly as given (fetch would normalise `//evil` or `/\evil`). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client_credentials token for `audience` from a service client. */
async function serviceToken(w: World, audience: string): Promise<string> {
  const id = `svc-${audience}-${Math.random().toString(36).slice(2, 8)}`;
  const { secret } = await w.h.addClient({ id, grants: ['client_credentials'], audience: [audience] });
  const res = await w.h.post(
    '/oauth/token',
    { grant_type: 'client_credentials' },
    { authorization: basic(id, secret!) },
  );
  assert.equal(res.status, 200, res.body);
  return res.json()['access_token'] as string;
}

describe('tessera proxy: sign-in and forwarding', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ 'public-path': ['/healthz'] });
  });
  after(() => w.close());

  it('sends a browser through sign-in and back to the page it asked for; the app verifies the token and shows the email', async () => {
    const { res, visited, user } = await signedInBrowser(w, {}, '/orders?id=7');
    assert.equal(res.status, 200);
    assert.match(await res.text(), new RegExp(`Hello ${user.email.replace('.', '\\.')}`));
    assert.equal(new URL(visited[1]!).pathname, '/oauth/authorize');
    assert.equal(visited.at(-2)!.startsWith(`${w.proxy.url}/.tessera/callback?`), true);
    assert.equal(visited.at(-1), `${w.proxy.url}/orders?id=7`);
    const seen = w.app.seen.at(-1)!;
    assert.equal(seen.verified, true);
    assert.equal(seen.email, user.email);
  });

  it('never lets the session cookie reach the app; other cookies pass', async () => {
    const { browser } = await signedInBrowser(w);
    const res = await browser.fetch(`${w.proxy.url}/`, {
      headers: { cookie: `${browser.cookieHeader(w.proxy.url)}; theme=dark` },
    });
    assert.equal(res.status, 200);
    assert.equal(w.app.seen.at(-1)!.headers.cookie, 'theme=dark');
    for (const s of w.app.seen) assert.doesNotMatch(String(s.headers.cookie ?? ''), /tessera_proxy/);
  });

  it('header spoofing: Authorization, X-Forwarded-*, Forwarded and Tessera-Jwt-Assertion sent by the client never reach the app as sent', async () => {
    const { browser } = await signedInBrowser(w);
    const res = await browser.fetch(`${w.proxy.url}/`, {
      headers: {
        authorization: 'Bearer forged.forged.forged',
        'tessera-jwt-assertion': 'forged.forged.forged',
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        'x-forwarded-user': 'admin@example.com',
        forwarded: 'for=203.0.113.9;host=evil.example',
        'x-real-ip': '203.0.113.9',
      },
    });
    assert.equal(res.status, 200);
    const seen = w.app.seen.at(-1)!.headers;
    assert.equal(w.app.seen.at(-1)!.verified, true);
    assert.notEqual(seen.authorization, 'Bearer forged.forged.forged');
    assert.equal(seen['tessera-jwt-assertion'], undefined);
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-host'], new URL(w.proxy.url).host);
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-user'], undefined);
    assert.equal(seen.forwarded, undefined);
    assert.equal(seen['x-real-ip'], undefined);
  });

  it("header spoofing: a Connection header listing the proxy's own headers cannot remove them", async () => {
    const { browser } = await signedInBrowser(w);
    // node:http, not fetch: fetch refuses a Connection header naming fields.
    const res = await rawGet(w.proxy.url, '/', {
      cookie: browser.cookieHeader(w.proxy.url)!,
      accept: 'text/html',
      connection: 'keep-alive, authorization, x-forwarded-for',
    });
    assert.equal(res.status, 200);
    assert.equal(w.app.seen.at(-1)!.verified, true);
    assert.equal(w.app.seen.at(-1)!.headers['x-forwarded-for'], '127.0.0.1');
  });

  it('a public path passes without sign-in, and still without any identity the client made up', async () => {
    const res = await rawGet(w.proxy.url, '/healthz', {
      authorization: 'Bearer forged',
      'tessera-jwt-assertion': 'forged',
      'x-forwarded-for': '1.2.3.4',
    });
    assert.equal(res.status, 401); // the app's own answer: no token reached it
    assert.equal(res.body, 'no token');
    const seen = w.app.seen.at(-1)!.headers;
    assert.equal(seen.authorization, undefined);
    assert.equal(seen['tessera-jwt-assertion'], undefined);
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    // Not a prefix trick: /healthzz and /healthz/../x are gated.
    assert.equal((await rawGet(w.proxy.url, '/healthzz')).status, 401);
    assert.equal((await rawGet(w.proxy.url, '/healthz/%2e%2e/admin')).status, 401);
  });

  it('an API client with a valid token for the audience passes as is, without a session', async () => {
    const token = await serviceToken(w, 'app');
    const before = w.app.seen.length;
    const res = await fetch(`${w.proxy.url}/api/orders`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.equal(w.app.seen.length, before + 1);
    assert.equal(w.app.seen.at(-1)!.headers.authorization, `Bearer ${token}`);
    assert.equal(res.headers.get('set-cookie'), null);
  });

  it('an API client with a token for another audience, or an ID token, gets 401 JSON with a challenge, never a redirect', async () => {
    const other = await serviceToken(w, 'billing');
    for (const token of [other, 'not-a-jwt', 'a.b.c']) {
      const res = await fetch(`${w.proxy.url}/api/orders`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/html' },
      });
      assert.equal(res.status, 401);
      assert.match(
        res.headers.get('www-authenticate')!,
        /^Bearer realm="tessera-proxy", error="invalid_token"/,
      );
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_token');
    }
    const bare = await fetch(`${w.proxy.url}/api/orders`, { headers: { accept: 'application/json' } });
    assert.equal(bare.status, 401);
    assert.equal(bare.headers.get('www-authenticate'), 'Bearer realm="tessera-proxy"');
    assert.deepEqual(await bare.json(), {
      error: 'login_required',
      error_description: 'sign in, or send an access token for this application',
    });
  });

  it("removes hop-by-hop fields from the response, and a Set-Cookie of the proxy's cookie names", async () => {
    const { browser } = await signedInBrowser(w);
    const res = await browser.fetch(`${w.proxy.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-app-secret'), null);
    const planted = await browser.fetch(`${w.proxy.url}/set-cookie`);
    assert.deepEqual(planted.headers.getSetCookie(), ['app_pref=dark; Path=/']);
  });

  it('keeps /.tessera/ to itself: unknown paths there are 404 and never forwarded', async () => {
    const before = w.app.seen.length;
    const res = await rawGet(w.proxy.url, '/.tessera/anything', { accept: 'text/html' });
    assert.equal(res.status, 404);
    assert.equal(w.app.seen.length, before);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  });

  it('open redirect: a request for //evil, /\\evil or an absolute URL comes back to / after sign-in', async () => {
    for (const path of ['//evil.example/x', '/\\evil.example/x', '/%2f%2fevil.example', '/%5cevil.example']) {
      const start = await rawGet(w.proxy.url, path, { accept: 'text/html' });
      assert.equal(start.status, 302, path);
      const browser = new Browser();
      // Replay the sign-in with the pending cookie the proxy set for this path.
      const setCookie = (start.headers['set-cookie'] as string[])[0]!;
      browser.cookies.set(
        new URL(w.proxy.url).origin,
        new Map([[setCookie.split('=')[0]!, setCookie.slice(setCookie.indexOf('=') + 1).split(';')[0]!]]),
      );
      const user = await (await import('../oidc/helpers.js')).createUser(w.h);
      const tessera = await (await import('../oidc/helpers.js')).signIn(w.h, user);
      const [n, v] = tessera.cookie.split('=') as [string, string];
      browser.cookies.set(new URL(w.h.url).origin, new Map([[n, v]]));
      const { visited } = await browser.follow(String(start.headers.location));
      const back = visited.find((u) => u.startsWith(`${w.proxy.url}/.tessera/callback`));
      assert.ok(back, path);
      assert.equal(visited.at(-1), `${w.proxy.url}/`, path);
    }
  });

  it('streams response bodies (the first chunk arrives before the app ends) and request bodies', async () => {
    const { browser } = await signedInBrowser(w);
    const res = await browser.fetch(`${w.proxy.url}/stream`);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value!).toString(), 'first\n');
    w.app.releaseStreams();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += Buffer.from(r.value).toString();
    assert.equal(rest, 'second\n');
    const body = Buffer.alloc(3 * 1024 * 1024, 7);
    const echo = await browser.fetch(`${w.proxy.url}/echo-body`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(echo.status, 200);
    assert.deepEqual(Buffer.from(await echo.arrayBuffer()), body);
  });

  it('survives a client that disconnects before the app answers', async () => {
    const { browser } = await signedInBrowser(w);
    const url = new URL(w.proxy.url);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: '/held',
      headers: { cookie: browser.cookieHeader(w.proxy.url)!, accept: 'text/html' },
    });
    req.on('error', () => undefined);
    req.end();
    await w.app.heldArrived();
    req.destroy();
    // A full round trip on another connection: the proxy has handled the close by then.
    assert.equal((await browser.fetch(`${w.proxy.url}/`)).status, 200);
    w.app.releaseHeld(); // the app answers a request whose client is gone
    assert.equal((await browser.fetch(`${w.proxy.url}/`)).status, 200);
    assert.equal((await browser.fetch(`${w.proxy.url}/`)).status, 200);
  });

  it('passes WebSocket upgrades through with the token, and refuses them without a session', async () => {
    const { browser, user } = await signedInBrowser(w);
    const wsUrl = `${w.proxy.url.replace('http', 'ws')}/ws`;
    const socket = new WebSocket(wsUrl, { headers: { cookie: browser.cookieHeader(w.proxy.url)! } });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('message', (d) => {
        messages.push(String(d));
        if (messages.length === 1) socket.send('ping');
        else resolve();
      });
      socket.on('error', reject);
    });
    socket.close();
    assert.deepEqual(messages, [`hello ${user.email}`, 'echo ping']);
    const anonymous = new WebSocket(wsUrl);
    const status = await new Promise<number>((resolve) => {
      anonymous.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
      anonymous.on('open', () => resolve(101));
      anonymous.on('error', () => undefined);
    });
    anonymous.terminate();
    assert.equal(status, 401);
  });
});

describe('tessera proxy: upstream failures', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ 'upstream-timeout': '1s' });
  });
  after(() => w.close());

  it('504 when the app does not answer in time, 502 when it cannot be reached; no internal detail', async () => {
    const { browser } = await signedInBrowser(w);
    const slow = await browser.fetch(`${w.proxy.url}/slow`, { headers: { accept: 'application/json' } });
    assert.equal(slow.status, 504);
    assert.deepEqual(await slow.json(), {
      error: 'temporarily_unavailable',
      error_description: 'the application did not answer in time',
    });
    const page = await browser.fetch(`${w.proxy.url}/slow`);
    assert.equal(page.status, 504);
    assert.match(await page.text(), /taking too long/);
    await w.app.close();
    const down = await browser.fetch(`${w.proxy.url}/`, { headers: { accept: 'application/json' } });
    assert.equal(down.status, 502);
    const text = await down.text();
    assert.deepEqual(JSON.parse(text), {
      error: 'temporarily_unavailable',
      error_description: 'the application could not be reached',
    });
    assert.doesNotMatch(text, /127\.0\.0\.1|ECONNREFUSED|stack/);
  });
});
