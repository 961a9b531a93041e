/**
 * `tessera proxy` sessions and policies over HTTP with a cookie jar: policy denial (page and JSON), expiry
 * and refresh (one refresh for concurrent requests), a refused refresh ending the session, logout with its
 * CSRF token, ID tokens refused as access tokens, and the assertion-header mode.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, signedInBrowser, type World } from './setup.js';
import { authorize } from '../oidc/helpers.js';
import { basic } from '../oauth/harness.js';

const MINUTE = 60_000;

describe('tessera proxy: policies', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ 'allow-email-domain': ['allowed.example'], 'allow-claim': ['tenant_id=acme'] });
  });
  after(() => w.close());

  const email = () => `u${Math.random().toString(36).slice(2, 8)}@allowed.example`;

  it('lets in a verified address of the domain with the claim', async () => {
    const { res } = await signedInBrowser(w, { email: email(), claims: '{"tenant_id":"acme"}' });
    assert.equal(res.status, 200);
  });

  it('denies another domain: a 403 page for the browser, JSON for an API call, nothing forwarded', async () => {
    const before = w.app.seen.length;
    const { res, browser, user } = await signedInBrowser(w, { claims: '{"tenant_id":"acme"}' });
    assert.equal(res.status, 403);
    const page = await res.text();
    assert.match(page, /You don(&#39;|')t have access/);
    assert.match(page, new RegExp(user.email.replace(/[.]/g, '\\.')));
    assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
    const api = await browser.fetch(`${w.proxy.url}/api`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 403);
    assert.deepEqual(await api.json(), {
      error: 'access_denied',
      error_description: 'this account is not allowed to use this application',
    });
    assert.equal(w.app.seen.length, before);
  });

  it('denies the wrong claim value, and an unverified address of the right domain', async () => {
    assert.equal(
      (await signedInBrowser(w, { email: email(), claims: '{"tenant_id":"other"}' })).res.status,
      403,
    );
    assert.equal(
      (await signedInBrowser(w, { email: email(), emailVerified: false, claims: '{"tenant_id":"acme"}' })).res
        .status,
      403,
    );
  });

  it('applies the policy to API tokens too: a service token without an email is 403', async () => {
    const { secret } = await w.h.addClient({ id: 'svc', grants: ['client_credentials'], audience: ['app'] });
    const token = (
      await w.h.post(
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: basic('svc', secret!) },
      )
    ).json()['access_token'];
    const res = await fetch(`${w.proxy.url}/api`, { headers: { authorization: `Bearer ${String(token)}` } });
    assert.equal(res.status, 403);
  });
});

describe('tessera proxy: session expiry, refresh and logout', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(() => w.close());

  it('refreshes the access token before it expires and sets the new cookie', async () => {
    const { browser } = await signedInBrowser(w);
    const first = w.app.seen.at(-1)!.headers.authorization;
    w.advance(14.5 * MINUTE); // the 15-minute token has 30 s left: inside the 60 s margin
    const res = await browser.fetch(`${w.proxy.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.getSetCookie().join('\n'), /tessera_proxy_session=[^;]+; Max-Age=\d+/);
    const second = w.app.seen.at(-1)!;
    assert.equal(second.verified, true);
    assert.notEqual(second.headers.authorization, first);
    // And the new cookie works without another refresh.
    await browser.fetch(`${w.proxy.url}/`);
    assert.equal(w.app.seen.at(-1)!.headers.authorization, second.headers.authorization);
  });

  it('concurrent requests with an expired token share one refresh (a second refresh would revoke the family)', async () => {
    const { browser } = await signedInBrowser(w);
    w.advance(20 * MINUTE);
    const before = w.app.seen.length;
    const results = await Promise.all(Array.from({ length: 6 }, () => browser.fetch(`${w.proxy.url}/`)));
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    const tokens = new Set(w.app.seen.slice(before).map((s) => s.headers.authorization));
    assert.equal(tokens.size, 1);
    // The family is still alive: the next expiry refreshes again.
    w.advance(20 * MINUTE);
    assert.equal((await browser.fetch(`${w.proxy.url}/`)).status, 200);
  });

  it('a refused refresh ends the session: the browser signs in again, an API call gets 401', async () => {
    const { browser } = await signedInBrowser(w);
    w.advance(25 * 60 * MINUTE); // beyond the refresh token's 24-hour idle lifetime
    const api = await browser.fetch(`${w.proxy.url}/`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    assert.match(api.headers.getSetCookie().join('\n'), /tessera_proxy_session=; Max-Age=0/);
    const page = await browser.fetch(`${w.proxy.url}/`);
    assert.equal(page.status, 302);
    assert.equal(new URL(page.headers.get('location')!).pathname, '/oauth/authorize');
  });

  it("logs out: a confirmation form with a CSRF token, the cookie cleared, then the issuer's end-session endpoint", async () => {
    const { browser } = await signedInBrowser(w);
    const confirm = await browser.fetch(`${w.proxy.url}/.tessera/logout`);
    assert.equal(confirm.status, 200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await confirm.text())![1]!;
    const forged = await browser.fetch(`${w.proxy.url}/.tessera/logout`, {
      method: 'POST',
      body: 'csrf=forged',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(forged.status, 403);
    const res = await browser.fetch(`${w.proxy.url}/.tessera/logout`, {
      method: 'POST',
      body: `csrf=${csrf}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 303);
    const end = new URL(res.headers.get('location')!);
    assert.equal(end.origin + end.pathname, `${w.h.url}/oauth/logout`);
    assert.equal(end.searchParams.get('post_logout_redirect_uri'), `${w.proxy.url}/.tessera/signed-out`);
    assert.ok(end.searchParams.get('id_token_hint')!.split('.').length === 3);
    assert.match(res.headers.getSetCookie().join('\n'), /tessera_proxy_session=; Max-Age=0/);
    const after = await browser.fetch(`${w.proxy.url}/`);
    assert.equal(after.status, 302);
    assert.equal(new URL(after.headers.get('location')!).pathname, '/oauth/authorize');
    const signedOut = await browser.fetch(`${w.proxy.url}/.tessera/signed-out`);
    assert.match(await signedOut.text(), /You are signed out/);
  });

  it('a callback without its pending sign-in, or with another state, is refused with a page', async () => {
    const bare = await fetch(`${w.proxy.url}/.tessera/callback?code=x&state=y`);
    assert.equal(bare.status, 400);
    assert.match(await bare.text(), /Sign-in expired/);
  });
});

describe('tessera proxy: audience equal to the client id', () => {
  let w: World;
  before(async () => {
    w = await startWorld({}, { audience: 'gate' });
  });
  after(() => w.close());

  it('refuses an ID token sent as an access token (typ at+jwt; its aud is the client id too)', async () => {
    const { res } = await signedInBrowser(w);
    assert.equal(res.status, 200);
    const user = await (await import('../oidc/helpers.js')).createUser(w.h);
    const session = await (await import('../oidc/helpers.js')).signIn(w.h, user);
    const { url, pending } = w.proxy.rp.start();
    const back = await authorize(w.h, url.search.slice(1), session.cookie);
    const { tokens } = await w.proxy.rp.finish(new URL(back.location!).searchParams, pending, {
      audience: 'gate',
    });
    const withId = await fetch(`${w.proxy.url}/`, {
      headers: { authorization: `Bearer ${tokens.idToken!}` },
    });
    assert.equal(withId.status, 401);
    const withAccess = await fetch(`${w.proxy.url}/`, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    assert.equal(withAccess.status, 200);
  });
});

describe('tessera proxy: --assertion-header', () => {
  let w: World;
  before(async () => {
    w = await startWorld({ 'assertion-header': true });
  });
  after(() => w.close());

  it('forwards the token as Tessera-Jwt-Assertion and leaves the client Authorization to the app', async () => {
    const { browser } = await signedInBrowser(w);
    const res = await browser.fetch(`${w.proxy.url}/`, {
      headers: { authorization: 'Basic YXBwOnB3', 'tessera-jwt-assertion': 'forged.forged.forged' },
    });
    assert.equal(res.status, 200);
    const seen = w.app.seen.at(-1)!;
    assert.equal(seen.headers.authorization, 'Basic YXBwOnB3');
    assert.notEqual(seen.headers['tessera-jwt-assertion'], 'forged.forged.forged');
    assert.equal(seen.verified, true);
  });
});
