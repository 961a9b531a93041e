/**
 * Signing in again through an identity provider (federation) before a passkey change: the upstream is asked
 * to authenticate anew (`prompt=login`, `max_age=0`), and its answer counts only with an `auth_time` from
 * after the request; then the browser is back at `/account` with a recent session. Our Tessera is a real
 * server over loopback HTTP, the upstream the test's forged OpenID Provider (test/helpers).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken, randomToken } from '../../src/oauth/crypto.js';
import { startForgedProvider, type ForgedProvider } from '../helpers/forged-provider.js';
import {
  clickProvider,
  formFields,
  HttpBrowser,
  startDownstream,
  type Downstream,
} from '../federation/helpers.js';

describe('signing in again through an identity provider', () => {
  let ours: Downstream;
  let upstream: ForgedProvider;
  let userId: string;

  before(async () => {
    ours = await startDownstream();
    upstream = await startForgedProvider('tessera');
    const added = await ours.idps(
      [
        'add',
        '--id',
        'corp',
        '--issuer',
        upstream.issuer,
        '--client-id',
        'tessera',
        '--client-secret-stdin',
        '--allowed-domains',
        'corp.example',
      ],
      'corp-secret',
    );
    assert.equal(added.code, 0, added.err);
    // One ordinary sign-in provisions mallory@corp.example; it asks the upstream for nothing special.
    const browser = new HttpBrowser();
    const started = await ours.startAuthorization(browser);
    const go = await browser.request(`${ours.url}/signin/idp/corp`, {
      form: formFields(started.page, '/signin/idp/corp'),
    });
    const upstreamUrl = new URL(go.location!);
    assert.equal(upstreamUrl.searchParams.has('prompt'), false);
    assert.equal(upstreamUrl.searchParams.has('max_age'), false);
    const back = await browser.follow(go.location!);
    assert.ok(back.location?.startsWith(ours.app.redirectUri), back.body.slice(0, 200));
    userId = (await ours.h.server.ctx.store.getUserByEmail('mallory@corp.example'))!.id;
  });
  after(async () => {
    await ours?.close();
    await upstream?.close();
  });

  /** A browser whose session signed in 11 minutes ago, sent through "Sign in again" to the sign-in page. */
  async function staleBrowserAtSignIn(): Promise<{ browser: HttpBrowser; secret: string; page: string }> {
    const browser = new HttpBrowser();
    const secret = randomToken(32);
    const now = ours.h.server.ctx.clock();
    await ours.h.server.ctx.store.createSession({
      id: randomToken(16),
      secretHash: hashToken(secret),
      userId,
      authTime: now - 11 * 60_000,
      amr: ['pwd'],
      acr: '1',
      idp: 'corp',
      createdAt: now - 11 * 60_000,
      idleExpiresAt: now + 3_600_000,
      absoluteExpiresAt: now + 86_400_000,
    });
    browser.cookies(ours.url).set('tessera_session', secret);
    const account = await browser.request(`${ours.url}/account`);
    assert.match(account.body, /Sign in again to add or remove passkeys/);
    const asked = await browser.request(`${ours.url}/account/reauth`, {
      form: formFields(account.body, '/account/reauth'),
    });
    assert.equal(asked.location, `${ours.url}/signin?reauth=account`);
    const page = await browser.request(asked.location);
    assert.match(page.body, /Continue with/);
    return { browser, secret, page: page.body };
  }

  /** Click the provider button; the upstream URL must ask for a new authentication. */
  async function toUpstream(browser: HttpBrowser, page: string): Promise<string> {
    const go = await browser.request(`${ours.url}/signin/idp/corp`, {
      form: formFields(page, '/signin/idp/corp'),
    });
    const url = new URL(go.location!);
    assert.equal(url.origin, upstream.issuer);
    assert.equal(url.searchParams.get('prompt'), 'login');
    assert.equal(url.searchParams.get('max_age'), '0');
    return go.location!;
  }

  const reason = async () =>
    (await ours.h.server.ctx.store.listAudit(10)).find((e) => e.type === 'signin.failure')?.data.reason;

  for (const [name, authTime] of [
    ['without auth_time', undefined],
    ['with an auth_time from an old upstream session', () => Math.floor(Date.now() / 1000) - 3600],
  ] as const)
    it(`an upstream answer ${name} is refused: no new session, no return to /account`, async () => {
      const { browser, secret, page } = await staleBrowserAtSignIn();
      upstream.idToken = (nonce) => upstream.sign({ nonce, sub: 'upstream-sub-1', auth_time: authTime?.() });
      const res = await browser.follow(await toUpstream(browser, page));
      assert.equal(res.status, 400);
      assert.match(res.body, /did not ask you to sign in again/);
      assert.equal(await reason(), 'auth_time_stale');
      assert.equal(browser.cookies(ours.url).get('tessera_session'), secret, 'the old session stays');
    });

  it('an upstream answer with a fresh auth_time brings the browser back to /account, signed in anew', async () => {
    const { browser, secret, page } = await staleBrowserAtSignIn();
    upstream.idToken = (nonce) =>
      upstream.sign({ nonce, sub: 'upstream-sub-1', auth_time: Math.floor(Date.now() / 1000) });
    const callback = await browser.follow(await toUpstream(browser, page), {}, `${ours.url}/account`);
    assert.equal(callback.status, 303);
    assert.equal(callback.location, `${ours.url}/account`);
    const fresh = browser.cookies(ours.url).get('tessera_session');
    assert.ok(fresh && fresh !== secret, 'a new session');
    const account = await browser.request(`${ours.url}/account`);
    assert.equal(account.status, 200);
    assert.doesNotMatch(account.body, /action="\/account\/reauth"/, 'recent now');
    assert.equal(browser.cookies(ours.url).has('tessera_reauth'), false, 'the mark is spent');
  });

  it('clickProvider from a plain sign-in page still works as before (no prompt, back to the app)', async () => {
    upstream.idToken = (nonce) => upstream.sign({ nonce, sub: 'upstream-sub-1' });
    const browser = new HttpBrowser();
    const started = await ours.startAuthorization(browser);
    const back = await clickProvider(browser, ours, started.page, 'corp');
    assert.ok(back.location?.startsWith(ours.app.redirectUri));
  });
});
