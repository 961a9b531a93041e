/**
 * Passkey sign-in and registration against the real server, without a browser: a software authenticator
 * (soft-authenticator.ts) answers the challenges the server hands out, so each known attack gets its own
 * test and its exact audit reason: user verification not performed, a stale or equal counter (cloned
 * authenticator), an unknown credential, another user's credential, a wrong origin or RP ID, a replayed
 * challenge, a disabled user, a forged signature, a registration presenting a credential already registered
 * to someone else; and failures count against the per-IP sign-in throttle.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../oauth/harness.js';
import { Browser } from '../signin/pages-harness.js';
import { createUser } from '../oidc/helpers.js';
import { userHandleOf } from '../../src/passkeys/settings.js';
import { hashToken } from '../../src/oauth/crypto.js';
import { PASSKEY_SIGNIN_FAILED } from '../../src/passkeys/signin.js';
import { recordIpFailure, IP_FREE_FAILURES } from '../../src/sessions/throttle.js';
import type { UserRecord } from '../../src/store/types.js';
import { SoftAuthenticator } from './soft-authenticator.js';

const ISSUER = 'https://auth.example.org';
const IDENTITY = { origin: ISSUER, rpId: 'auth.example.org' };
let ipCounter = 0;

describe('passkey refusals (software authenticator)', () => {
  let h: Harness;
  let ada: UserRecord;
  let bob: UserRecord;
  let adaKey: SoftAuthenticator;
  let bobKey: SoftAuthenticator;

  before(async () => {
    h = await startHarness({ 'rate-limit-client': '0', 'rate-limit-ip': '0' });
    h.server.ctx.config.issuer = ISSUER;
    ada = await createUser(h, { email: 'ada@example.org' });
    bob = await createUser(h, { email: 'bob@example.org' });
    adaKey = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
    bobKey = new SoftAuthenticator(userHandleOf(bob.id), IDENTITY);
    for (const [user, key] of [
      [ada, adaKey],
      [bob, bobKey],
    ] as const)
      await h.server.ctx.store.createPasskey({
        id: key.credentialId,
        userId: user.id,
        publicKey: Buffer.from(key.cosePublicKey).toString('base64url'),
        counter: 0,
        transports: ['internal'],
        backedUp: false,
        name: 'Soft',
        createdAt: h.server.ctx.clock(),
        lastUsedAt: null,
      });
  });
  after(() => h?.close());

  /** A fresh browser on its own address (so the IP throttle of one test does not touch another). */
  let browser: Browser;
  beforeEach(() => {
    browser = new Browser(h.server.app, `10.9.0.${++ipCounter}`);
  });

  async function options(purpose: string, csrf: string, extra: Record<string, string> = {}) {
    const cookie = [...browser.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/passkeys/options',
      remoteAddress: browser.remoteAddress,
      headers: { 'content-type': 'application/json', cookie },
      payload: JSON.stringify({ purpose, csrf, ...extra }),
    });
    for (const line of [res.headers['set-cookie'] ?? []].flat()) {
      const [pair] = String(line).split(';', 1);
      const eq = pair!.indexOf('=');
      browser.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, unknown> };
  }

  /** The sign-in page's passkey form token, then a challenge. */
  async function signInChallenge(): Promise<{ csrf: string; challenge: string }> {
    const page = await browser.get('/signin');
    const csrf = /action="\/signin\/passkey"[\s\S]*?name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(csrf, 'the sign-in page has a passkey form');
    const res = await options('signin', csrf);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.userVerification, 'required');
    assert.equal(res.json.rpId, 'auth.example.org');
    return { csrf, challenge: res.json.challenge as string };
  }

  const submit = (csrf: string, response: unknown) =>
    browser.post('/signin/passkey', { csrf, response: JSON.stringify(response) });

  async function lastFailure(): Promise<Record<string, unknown>> {
    const event = (await h.server.ctx.store.listAudit(20)).find((e) => e.type === 'passkey.signin_failed');
    assert.ok(event);
    return event.data;
  }

  async function refused(response: (challenge: string) => unknown, reason: string, userId?: string) {
    const { csrf, challenge } = await signInChallenge();
    const res = await submit(csrf, response(challenge));
    assert.equal(res.status, 401);
    assert.match(res.body, new RegExp(PASSKEY_SIGNIN_FAILED.replace(/[.,]/g, '.')));
    assert.equal(browser.cookies.has('__Host-tessera_session'), false, 'no session');
    const data = await lastFailure();
    assert.equal(data.reason, reason);
    assert.equal(data.userId, userId);
    assert.equal(data.ip, browser.remoteAddress);
  }

  it('signs in: a session with amr hwk+user, the counter stored, audit and metric', async () => {
    const { csrf, challenge } = await signInChallenge();
    const res = await submit(csrf, adaKey.assert({ challenge }));
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/signin');
    const cookie = browser.cookies.get('__Host-tessera_session');
    assert.ok(cookie);
    const sessions = await h.server.ctx.store.deleteUserSessions(ada.id);
    assert.equal(sessions.length, 1);
    browser.cookies.delete('__Host-tessera_session');
    const stored = await h.server.ctx.store.getPasskey(adaKey.credentialId);
    assert.equal(stored?.counter, adaKey.counter);
    assert.ok(stored?.lastUsedAt);
    const [event] = (await h.server.ctx.store.listAudit(5)).filter((e) => e.type === 'passkey.signin');
    assert.equal(event?.data.userId, ada.id);
    assert.match(await h.server.ctx.metrics.render(), /tessera_passkey_signins_total\{result="success"\} 1/);
  });

  it('the session is the one a password sign-in would start, with amr ["hwk", "user"]', async () => {
    const { csrf, challenge } = await signInChallenge();
    assert.equal((await submit(csrf, adaKey.assert({ challenge }))).status, 303);
    const store = h.server.ctx.store;
    const secret = browser.cookies.get('__Host-tessera_session')!;
    const session = await store.getSessionBySecret(hashToken(secret), h.server.ctx.clock());
    assert.deepEqual(session?.amr, ['hwk', 'user']);
    assert.equal(session?.acr, '1');
    assert.equal(session?.userId, ada.id);
    const [event] = (await store.listAudit(5)).filter((e) => e.type === 'passkey.signin');
    assert.equal(event?.data.sid, session?.id);
    await store.deleteUserSessions(ada.id);
    browser.cookies.delete('__Host-tessera_session');
  });

  it('refuses an assertion without user verification (UV flag clear)', () =>
    refused((challenge) => adaKey.assert({ challenge, flags: 0x01 }), 'user_not_verified', ada.id));

  it('refuses an equal counter (a cloned authenticator) and audits passkey.counter_regressed', async () => {
    const stored = (await h.server.ctx.store.getPasskey(adaKey.credentialId))!.counter;
    await refused((challenge) => adaKey.assert({ challenge, counter: stored }), 'counter_regressed', ada.id);
    const alarm = (await h.server.ctx.store.listAudit(10)).find(
      (e) => e.type === 'passkey.counter_regressed',
    );
    assert.deepEqual(alarm?.data, {
      userId: ada.id,
      credential: adaKey.credentialId,
      stored,
      received: stored,
    });
  });

  it('refuses a lower counter too', async () => {
    const stored = (await h.server.ctx.store.getPasskey(adaKey.credentialId))!.counter;
    await refused(
      (challenge) => adaKey.assert({ challenge, counter: stored - 1 }),
      'counter_regressed',
      ada.id,
    );
  });

  it('a forged assertion with a stale counter is a bad signature, not a clone alarm', async () => {
    const before = (await h.server.ctx.store.listAudit(50)).filter(
      (e) => e.type === 'passkey.counter_regressed',
    );
    await refused((challenge) => adaKey.assert({ challenge, counter: 1, tamper: true }), 'invalid', ada.id);
    const afterwards = (await h.server.ctx.store.listAudit(50)).filter(
      (e) => e.type === 'passkey.counter_regressed',
    );
    assert.equal(afterwards.length, before.length);
  });

  it('refuses an unknown credential', () => {
    const stranger = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
    return refused((challenge) => stranger.assert({ challenge }), 'unknown_credential');
  });

  it("refuses another user's credential presented under this user's handle", () =>
    refused(
      (challenge) => bobKey.assert({ challenge, userHandle: userHandleOf(ada.id) }),
      'user_mismatch',
      bob.id,
    ));

  it('refuses an assertion without a user handle (a discoverable sign-in must name its user)', () =>
    refused(
      (challenge) => ({
        ...adaKey.assert({ challenge }),
        response: { ...(adaKey.assert({ challenge }).response as object), userHandle: undefined },
      }),
      'user_mismatch',
      ada.id,
    ));

  it('refuses a wrong origin (a phishing site relaying the challenge)', () =>
    refused(
      (challenge) => adaKey.assert({ challenge, origin: 'https://auth.example.org.evil.example' }),
      'wrong_origin',
      ada.id,
    ));

  it('refuses a wrong RP ID', () =>
    refused((challenge) => adaKey.assert({ challenge, rpId: 'evil.example' }), 'wrong_rp', ada.id));

  it('refuses an answer to another challenge', () =>
    refused(() => adaKey.assert({ challenge: 'c29tZSBvdGhlciBjaGFsbGVuZ2U' }), 'invalid', ada.id));

  it('refuses a replayed challenge: the same answer twice, or a second answer to one challenge', async () => {
    const { csrf, challenge } = await signInChallenge();
    const cookies = new Map(browser.cookies);
    const answer = adaKey.assert({ challenge });
    assert.equal((await submit(csrf, answer)).status, 303);
    await h.server.ctx.store.deleteUserSessions(ada.id);
    // The browser's cookie as it was before the first answer: the challenge it names is gone.
    browser.cookies.clear();
    for (const [k, v] of cookies) browser.cookies.set(k, v);
    const again = await submit(csrf, adaKey.assert({ challenge }));
    assert.equal(again.status, 401);
    assert.equal((await lastFailure()).reason, 'challenge');
  });

  it('refuses a disabled user', async () => {
    const carol = await createUser(h, { email: 'carol@example.org' });
    const key = new SoftAuthenticator(userHandleOf(carol.id), IDENTITY);
    await h.server.ctx.store.createPasskey({
      id: key.credentialId,
      userId: carol.id,
      publicKey: Buffer.from(key.cosePublicKey).toString('base64url'),
      counter: 0,
      transports: [],
      backedUp: false,
      name: 'Soft',
      createdAt: 0,
      lastUsedAt: null,
    });
    await h.server.ctx.store.updateUser({ ...carol, disabled: true });
    await refused((challenge) => key.assert({ challenge }), 'user_disabled', carol.id);
  });

  it('refuses a malformed response field', async () => {
    const { csrf } = await signInChallenge();
    const res = await browser.post('/signin/passkey', { csrf, response: '{"id":1}' });
    assert.equal(res.status, 401);
    assert.equal((await lastFailure()).reason, 'malformed');
  });

  it('refuses a post without the passkey form token (CSRF), before any challenge is used', async () => {
    const { challenge } = await signInChallenge();
    const res = await submit('forged', adaKey.assert({ challenge }));
    assert.equal(res.status, 403);
  });

  it('failures count against the per-IP sign-in throttle: once locked, no challenge and no attempt', async () => {
    for (let i = 0; i < IP_FREE_FAILURES; i++) await recordIpFailure(h.server.ctx, browser.remoteAddress);
    const stranger = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
    await refused((challenge) => stranger.assert({ challenge }), 'unknown_credential');
    const page = await browser.get('/signin');
    const csrf = /action="\/signin\/passkey"[\s\S]*?name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const res = await options('signin', csrf);
    assert.equal(res.status, 429);
    assert.equal(res.json.error, 'slow_down');
    const post = await submit(csrf, adaKey.assert({ challenge: 'x' }));
    assert.equal(post.status, 429);
    assert.ok(post.headers['retry-after']);
  });

  describe('registration', () => {
    async function accountBrowser(): Promise<{ csrf: string }> {
      const signin = await browser.get('/signin');
      const res = await browser.post('/signin', {
        csrf: signin.csrf!,
        username: 'ada@example.org',
        password: 'correct horse battery staple',
      });
      assert.equal(res.status, 303);
      const account = await browser.get('/account');
      assert.equal(account.status, 200);
      return { csrf: account.csrf! };
    }

    it('registers a new credential for the signed-in user', async () => {
      const { csrf } = await accountBrowser();
      const res = await options('register', csrf);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.authenticatorSelection, {
        residentKey: 'required',
        userVerification: 'required',
        requireResidentKey: true,
      });
      assert.deepEqual(
        (res.json.excludeCredentials as { id: string }[]).map((c) => c.id),
        [adaKey.credentialId],
      );
      const fresh = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
      const post = await browser.post('/account/passkeys', {
        csrf,
        name: ' Phone\u0007 ',
        response: JSON.stringify(fresh.register({ challenge: res.json.challenge as string })),
      });
      assert.equal(post.status, 303);
      assert.equal(post.headers.location, '/account?added=1');
      const stored = await h.server.ctx.store.getPasskey(fresh.credentialId);
      assert.equal(stored?.userId, ada.id);
      assert.equal(stored?.name, 'Phone');
    });

    it("refuses to register a credential already registered to another user (Bob's, for Ada)", async () => {
      const { csrf } = await accountBrowser();
      const res = await options('register', csrf);
      const post = await browser.post('/account/passkeys', {
        csrf,
        response: JSON.stringify(bobKey.register({ challenge: res.json.challenge as string })),
      });
      assert.equal(post.status, 400);
      assert.equal((await h.server.ctx.store.getPasskey(bobKey.credentialId))?.userId, bob.id, 'still Bob’s');
      const event = (await h.server.ctx.store.listAudit(5)).find(
        (e) => e.type === 'passkey.registration_failed',
      );
      assert.equal(event?.data.reason, 'already_registered');
    });

    it('refuses a registration without user verification', async () => {
      const { csrf } = await accountBrowser();
      const res = await options('register', csrf);
      const fresh = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
      const post = await browser.post('/account/passkeys', {
        csrf,
        response: JSON.stringify(fresh.register({ challenge: res.json.challenge as string, flags: 0x01 })),
      });
      assert.equal(post.status, 400);
      const event = (await h.server.ctx.store.listAudit(5)).find(
        (e) => e.type === 'passkey.registration_failed',
      );
      assert.equal(event?.data.reason, 'user_not_verified');
      assert.equal(await h.server.ctx.store.getPasskey(fresh.credentialId), undefined);
    });

    it('asks for options only with a session; a sign-in challenge cannot register', async () => {
      const page = await browser.get('/signin');
      const csrf = /action="\/signin\/passkey"[\s\S]*?name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
      assert.equal(
        (await options('register', csrf)).status,
        403,
        'the sign-in token is not the account token',
      );
      const { challenge } = await signInChallenge();
      const { csrf: account } = await accountBrowser();
      const fresh = new SoftAuthenticator(userHandleOf(ada.id), IDENTITY);
      const post = await browser.post('/account/passkeys', {
        csrf: account,
        response: JSON.stringify(fresh.register({ challenge })),
      });
      assert.equal(post.status, 400);
      const event = (await h.server.ctx.store.listAudit(5)).find(
        (e) => e.type === 'passkey.registration_failed',
      );
      assert.equal(event?.data.reason, 'challenge');
    });

    it('removes only the signed-in user’s own passkey', async () => {
      const { csrf } = await accountBrowser();
      const other = await browser.post('/account/passkeys/remove', { csrf, id: bobKey.credentialId });
      assert.equal(other.status, 400);
      assert.ok(await h.server.ctx.store.getPasskey(bobKey.credentialId));
      const own = (await h.server.ctx.store.listUserPasskeys(ada.id)).at(-1)!;
      const res = await browser.post('/account/passkeys/remove', { csrf, id: own.id });
      assert.equal(res.status, 303);
      assert.equal(await h.server.ctx.store.getPasskey(own.id), undefined);
    });
  });
});
