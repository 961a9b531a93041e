/**
 * Adding or removing a passkey needs a recent sign-in (reauth/, passkeys/recent-signin.ts). Against the real
 * server with the software authenticator: a session whose sign-in is older than `--reauth-max-age` (made
 * in the store with an old `authTime`) is refused at every step (options, add, remove) with the exact
 * answer and a `passkey.reauth_required` audit event; a recent one works; the round trip through
 * `/signin?reauth=account` (password or passkey) brings the browser back to `/account`, where adding then
 * works; and the return path cannot be pointed anywhere else (form fields, query, a planted cookie).
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FastifyRequest } from 'fastify';
import { startHarness, type Harness } from '../oauth/harness.js';
import { Browser } from '../signin/pages-harness.js';
import { createUser } from '../oidc/helpers.js';
import { userHandleOf } from '../../src/passkeys/settings.js';
import { hashToken, randomToken } from '../../src/oauth/crypto.js';
import { loadConfig } from '../../src/server/config.js';
import { REAUTH_REFUSED } from '../../src/passkeys/recent-signin.js';
import { reauthPurpose, takeReauthReturn } from '../../src/reauth/return-path.js';
import type { ServerContext } from '../../src/server/context.js';
import type { UserRecord } from '../../src/store/types.js';
import { SoftAuthenticator } from './soft-authenticator.js';

const ISSUER = 'https://auth.example.org';
const IDENTITY = { origin: ISSUER, rpId: 'auth.example.org' };
const PASSWORD = 'correct horse battery staple';
const SESSION = '__Host-tessera_session';
const MARK = '__Host-tessera_reauth';
const MINUTE = 60_000;

describe('passkey changes need a recent sign-in', () => {
  let h: Harness;
  let ada: UserRecord;
  let adaKey: SoftAuthenticator;
  let browser: Browser;

  before(async () => {
    h = await startHarness({ 'rate-limit-client': '0', 'rate-limit-ip': '0' });
    h.server.ctx.config.issuer = ISSUER;
    ada = await createUser(h, { email: 'ada@example.org' });
    adaKey = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
  });
  after(() => h?.close());

  let ip = 0;
  beforeEach(async () => {
    browser = new Browser(h.server.app, `10.8.0.${++ip}`);
    // Ada holds exactly one passkey at the start of every test.
    for (const p of await h.server.ctx.store.listUserPasskeys(ada.id))
      await h.server.ctx.store.deletePasskey(ada.id, p.id);
    await h.server.ctx.store.createPasskey({
      id: adaKey.credentialId,
      userId: ada.id,
      publicKey: Buffer.from(adaKey.cosePublicKey).toString('base64url'),
      counter: adaKey.counter,
      transports: ['internal'],
      backedUp: false,
      name: 'Soft key',
      createdAt: h.server.ctx.clock(),
      lastUsedAt: null,
    });
  });

  /** A session in the store whose sign-in was `ageMs` ago, and its cookie in the browser. */
  async function sessionSignedIn(ageMs: number): Promise<string> {
    const secret = randomToken(32);
    const now = h.server.ctx.clock();
    const id = randomToken(16);
    await h.server.ctx.store.createSession({
      id,
      secretHash: hashToken(secret),
      userId: ada.id,
      authTime: now - ageMs,
      amr: ['pwd'],
      acr: '1',
      idp: 'local',
      createdAt: now - ageMs,
      idleExpiresAt: now + 60 * MINUTE,
      absoluteExpiresAt: now + 24 * 60 * MINUTE,
    });
    browser.cookies.set(SESSION, secret);
    secrets.set(id, secret);
    return id;
  }
  const secrets = new Map<string, string>();
  const alive = async (id: string) =>
    (await h.server.ctx.store.getSessionBySecret(hashToken(secrets.get(id)!), h.server.ctx.clock())) !==
    undefined;

  async function options(purpose: string, csrf: string) {
    const cookie = [...browser.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/passkeys/options',
      remoteAddress: browser.remoteAddress,
      headers: { 'content-type': 'application/json', cookie },
      payload: JSON.stringify({ purpose, csrf }),
    });
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair] = String(line).split(';', 1);
      const eq = pair!.indexOf('=');
      browser.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, unknown> };
  }

  const csrfOf = (body: string, action: string): string => {
    const m = new RegExp(`action="${action}"[^>]*>\\s*<input type="hidden" name="csrf" value="([^"]+)"`).exec(
      body,
    );
    assert.ok(m, `a form posting to ${action}`);
    return m[1]!;
  };

  async function lastRefusal(): Promise<Record<string, unknown>> {
    const event = (await h.server.ctx.store.listAudit(10)).find((e) => e.type === 'passkey.reauth_required');
    assert.ok(event, 'a passkey.reauth_required event');
    return event.data;
  }

  /** A fresh session's account-page token (the register and remove forms share it). */
  async function accountToken(): Promise<string> {
    const page = await browser.get('/account');
    assert.equal(page.status, 200);
    return csrfOf(page.body, '/account/passkeys/remove');
  }

  it('an old sign-in: /account lists the passkeys and offers "Sign in again" instead of add and remove', async () => {
    await sessionSignedIn(11 * MINUTE);
    const page = await browser.get('/account');
    assert.equal(page.status, 200);
    assert.match(page.body, /Soft key/);
    assert.match(page.body, /Sign in again to add or remove passkeys/);
    assert.match(page.body, /from the last 10 minutes/);
    assert.match(page.body, /<form method="post" action="\/account\/reauth"/);
    assert.doesNotMatch(page.body, /action="\/account\/passkeys\/remove"/);
    assert.doesNotMatch(page.body, /data-passkey="register"/);
    assert.doesNotMatch(page.body, /<script/, 'no ceremony, no script');
  });

  it('an old sign-in gets no registration options: 403 insufficient_user_authentication, audited', async () => {
    // The account token of a recent session in this browser: only the age differs.
    await sessionSignedIn(9 * MINUTE);
    const csrf = await accountToken();
    const sid = await sessionSignedIn(11 * MINUTE);
    const res = await options('register', csrf);
    assert.equal(res.status, 403);
    assert.deepEqual(res.json, {
      error: 'insufficient_user_authentication',
      error_description: 'sign in again to add or remove passkeys',
    });
    assert.equal(browser.cookies.has('__Host-tessera_webauthn'), false, 'no challenge');
    const data = await lastRefusal();
    assert.equal(data.action, 'options');
    assert.equal(data.userId, ada.id);
    assert.equal(data.sid, sid);
    assert.equal(data.maxAge, 600);
    assert.ok((data.age as number) >= 660 && (data.age as number) < 700, String(data.age));
    assert.equal(data.ip, browser.remoteAddress);
  });

  it('an old sign-in cannot add, even with a challenge a recent session obtained', async () => {
    await sessionSignedIn(9 * MINUTE);
    const csrf = await accountToken();
    const { json, status } = await options('register', csrf);
    assert.equal(status, 200);
    await sessionSignedIn(11 * MINUTE);
    const fresh = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
    const res = await browser.post('/account/passkeys', {
      csrf,
      response: JSON.stringify(fresh.register({ challenge: json.challenge as string })),
    });
    assert.equal(res.status, 403);
    assert.match(res.body, new RegExp(REAUTH_REFUSED.replace(/[.,]/g, '.')));
    assert.match(res.body, /action="\/account\/reauth"/);
    assert.equal(await h.server.ctx.store.getPasskey(fresh.credentialId), undefined, 'nothing stored');
    assert.equal((await lastRefusal()).action, 'add');
    const events = (await h.server.ctx.store.listAudit(5)).map((e) => e.type);
    assert.ok(!events.includes('passkey.registration_failed'), 'refused before any verification');
  });

  it('an old sign-in cannot remove', async () => {
    await sessionSignedIn(9 * MINUTE);
    const csrf = await accountToken();
    await sessionSignedIn(11 * MINUTE);
    const res = await browser.post('/account/passkeys/remove', { csrf, id: adaKey.credentialId });
    assert.equal(res.status, 403);
    assert.match(res.body, /That change needs a recent sign-in/);
    assert.ok(await h.server.ctx.store.getPasskey(adaKey.credentialId), 'still there');
    assert.equal((await lastRefusal()).action, 'remove');
  });

  it('a recent sign-in adds and removes', async () => {
    await sessionSignedIn(9 * MINUTE);
    const csrf = await accountToken();
    const { json, status } = await options('register', csrf);
    assert.equal(status, 200);
    const fresh = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
    const add = await browser.post('/account/passkeys', {
      csrf,
      response: JSON.stringify(fresh.register({ challenge: json.challenge as string })),
    });
    assert.equal(add.status, 303);
    assert.equal(add.headers.location, '/account?added=1');
    const remove = await browser.post('/account/passkeys/remove', { csrf, id: fresh.credentialId });
    assert.equal(remove.status, 303);
    assert.equal(await h.server.ctx.store.getPasskey(fresh.credentialId), undefined);
  });

  it('--reauth-max-age sets the window (30m: an 11-minute-old sign-in is recent)', async () => {
    assert.equal(loadConfig({}).reauthMaxAge, 600);
    assert.equal(loadConfig({ values: { 'reauth-max-age': '30m' } }).reauthMaxAge, 1800);
    assert.equal(loadConfig({ env: { TESSERA_REAUTH_MAX_AGE: '2h' } }).reauthMaxAge, 7200);
    assert.throws(() => loadConfig({ values: { 'reauth-max-age': '600' } }), /reauth-max-age/);
    assert.throws(() => loadConfig({ values: { 'reauth-max-age': '30s' } }), /at least 60s/);
    h.server.ctx.config.reauthMaxAge = 1800;
    try {
      await sessionSignedIn(11 * MINUTE);
      const page = await browser.get('/account');
      assert.match(page.body, /action="\/account\/passkeys\/remove"/);
      assert.doesNotMatch(page.body, /action="\/account\/reauth"/);
    } finally {
      h.server.ctx.config.reauthMaxAge = 600;
    }
  });

  /** From the stale account page through "Sign in again" to the sign-in form; returns its page. */
  async function askAgain(sid: string) {
    const account = await browser.get('/account');
    const res = await browser.post('/account/reauth', { csrf: csrfOf(account.body, '/account/reauth') });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/signin?reauth=account');
    assert.equal(browser.cookies.get(MARK), 'account');
    assert.ok(await alive(sid), 'asking ends nothing');
    const page = await browser.get('/signin?reauth=account');
    assert.equal(page.status, 200);
    assert.match(page.body, /<h1>Sign in<\/h1>/, 'the form, although signed in');
    assert.match(page.body, /Sign in again to add or remove passkeys\./);
    assert.match(page.body, /value="ada@example\.org"/, 'the email filled in');
    assert.match(page.body, /<a href="\/account">Back to your passkeys<\/a>/);
    return page;
  }

  it('round trip with a password: back at /account with a new session, and adding works', async () => {
    const old = await sessionSignedIn(11 * MINUTE);
    const plain = await browser.get('/signin');
    assert.match(plain.body, /You are signed in/, 'without ?reauth, /signin still shows who is signed in');
    const page = await askAgain(old);
    const res = await browser.post('/signin', {
      csrf: page.csrf!,
      username: 'ada@example.org',
      password: PASSWORD,
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/account');
    assert.equal(browser.cookies.has(MARK), false, 'the mark served one sign-in');
    assert.equal(await alive(old), false, 'the old session was replaced');
    const now = await h.server.ctx.store.getSessionBySecret(
      hashToken(browser.cookies.get(SESSION)!),
      h.server.ctx.clock(),
    );
    assert.ok(now && h.server.ctx.clock() - now.authTime < MINUTE, 'a recent sign-in');
    const csrf = await accountToken();
    const { json, status } = await options('register', csrf);
    assert.equal(status, 200);
    const fresh = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
    const add = await browser.post('/account/passkeys', {
      csrf,
      response: JSON.stringify(fresh.register({ challenge: json.challenge as string })),
    });
    assert.equal(add.status, 303);
    assert.equal((await h.server.ctx.store.getPasskey(fresh.credentialId))?.userId, ada.id);
  });

  it('round trip with a passkey: the passkey sign-in returns to /account too', async () => {
    const old = await sessionSignedIn(11 * MINUTE);
    const page = await askAgain(old);
    const csrf = csrfOf(page.body, '/signin/passkey');
    const { json } = await options('signin', csrf);
    const res = await browser.post('/signin/passkey', {
      csrf,
      response: JSON.stringify(adaKey.assert({ challenge: json.challenge as string })),
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/account');
    const account = await browser.get('/account');
    assert.match(account.body, /data-passkey="register"/, 'the add form is back');
  });

  it('a failed password during the round trip keeps the page and the mark', async () => {
    const page = await askAgain(await sessionSignedIn(11 * MINUTE));
    const res = await browser.post('/signin', {
      csrf: page.csrf!,
      username: 'ada@example.org',
      password: 'x',
    });
    assert.equal(res.status, 401);
    assert.match(res.body, /Sign in again to add or remove passkeys\./);
    assert.equal(browser.cookies.get(MARK), 'account');
  });

  it('the return path cannot be pointed elsewhere: extra fields, the query and a planted cookie', async () => {
    await sessionSignedIn(11 * MINUTE);
    const account = await browser.get('/account');
    const res = await browser.post('/account/reauth', {
      csrf: csrfOf(account.body, '/account/reauth'),
      reauth: 'https://evil.example/',
      return_to: 'https://evil.example/',
      next: '//evil.example',
    });
    assert.equal(res.headers.location, '/signin?reauth=account');
    assert.equal(browser.cookies.get(MARK), 'account');
    for (const query of ['https://evil.example', '//evil.example', '__proto__', 'Account', 'toString'])
      assert.match(
        (await browser.get(`/signin?reauth=${encodeURIComponent(query)}`)).body,
        /You are signed in/,
        `an unknown purpose (${query}) is no purpose`,
      );
    // A cookie planted with a URL (it cannot be on https: __Host-, HttpOnly) still leads nowhere else.
    browser.cookies.set(MARK, encodeURIComponent('https://evil.example/'));
    const page = await browser.get('/signin?reauth=account');
    const signin = await browser.post('/signin', {
      csrf: page.csrf!,
      username: 'ada@example.org',
      password: PASSWORD,
    });
    assert.equal(signin.headers.location, '/signin');
    assert.equal(browser.cookies.has(MARK), false);
  });

  it('"Sign in again" is CSRF-protected: no token, or another form\'s token, marks nothing', async () => {
    await sessionSignedIn(11 * MINUTE);
    const account = await browser.get('/account');
    for (const csrf of ['', 'forged', csrfOf(account.body, '/signout')]) {
      const res = await browser.post('/account/reauth', { csrf });
      assert.equal(res.status, 403);
      assert.equal(browser.cookies.has(MARK), false);
    }
    const cross = await browser.post(
      '/account/reauth',
      { csrf: csrfOf(account.body, '/account/reauth') },
      { origin: 'https://evil.example' },
    );
    assert.equal(cross.status, 403);
    assert.equal(browser.cookies.has(MARK), false);
  });
});

describe('the return-path parsers (fast-check)', () => {
  const ctx = { config: { issuer: ISSUER } } as unknown as ServerContext;
  const reply = () => {
    const headers: Record<string, unknown> = {};
    return {
      getHeader: (n: string) => headers[n],
      header(n: string, v: unknown) {
        headers[n] = v;
        return this;
      },
    };
  };

  it('reauthPurpose names only `account`, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('account', '__proto__', 'constructor')), (s) => {
        assert.equal(reauthPurpose(s), s === 'account' ? 'account' : undefined);
      }),
    );
    for (const v of [undefined, null, 1, ['account'], { account: 1 }])
      assert.equal(reauthPurpose(v), undefined);
  });

  it('takeReauthReturn answers /account or nothing for any cookie value, and clears it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ minLength: 1 }), fc.webUrl(), fc.constant('account')), (value) => {
        const request = {
          headers: { cookie: `${MARK}=${encodeURIComponent(value)}` },
        } as unknown as FastifyRequest;
        const r = reply();
        const back = takeReauthReturn(ctx, request, r as never);
        assert.equal(back, value === 'account' ? '/account' : undefined);
        assert.match(String(r.getHeader('set-cookie')), /Max-Age=0/);
      }),
      { numRuns: 300 },
    );
  });
});
