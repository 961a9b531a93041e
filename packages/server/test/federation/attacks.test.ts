/**
 * One test per attack on federation, each driven end to end through Tessera's callback by a browser, with
 * a hostile upstream (test/helpers/forged-provider.ts) that signs what the test chooses. Each asserts the
 * refusal, the reason recorded in the audit log, and that no user, link or session was created.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { createUser } from '../oidc/helpers.js';
import {
  census,
  clickProvider,
  formFields,
  HttpBrowser,
  startDownstream,
  type Downstream,
} from './helpers.js';
import { startForgedProvider, type ForgedProvider } from '../helpers/forged-provider.js';

const PASSWORD = 'correct horse battery staple';

describe('federation attacks (hostile upstream, end to end)', () => {
  let ours: Downstream;
  let evil: ForgedProvider;

  before(async () => {
    ours = await startDownstream();
    evil = await startForgedProvider('tessera');
    const added = await ours.idps(
      [
        'add',
        '--id',
        'forged',
        '--issuer',
        evil.issuer,
        '--client-id',
        'tessera',
        '--client-secret-stdin',
        '--allowed-domains',
        'corp.example',
      ],
      'forged-secret',
    );
    assert.equal(added.code, 0, added.err);
  });
  after(async () => {
    await ours?.close();
    await evil?.close();
  });

  async function lastFailure(): Promise<unknown> {
    const events = await ours.h.server.ctx.store.listAudit(20);
    return events.find((e) => e.type === 'signin.failure')?.data.reason;
  }

  /** Start a sign-in, go through the forged upstream; expect a refusal page and nothing created. */
  async function refused(status: number, reason: string, page: RegExp) {
    const before = await census(ours);
    const browser = new HttpBrowser();
    const started = await ours.startAuthorization(browser);
    const res = await clickProvider(browser, ours, started.page, 'forged');
    assert.equal(res.status, status, res.body.slice(0, 300));
    assert.ok(res.url.startsWith(`${ours.url}/signin/idp/forged/callback?`), res.url);
    assert.match(res.body, page);
    assert.doesNotMatch(res.body, /ERR_|eyJ/, 'no internals, no token on the page');
    assert.equal(await lastFailure(), reason);
    assert.deepEqual(await census(ours), before, 'no user, link or session');
    return browser;
  }

  const FAILED = /Signing in with forged did not succeed/;

  it('an upstream ID token issued for another audience is refused', async () => {
    evil.idToken = (nonce) => evil.sign({ nonce, aud: 'some-other-client' });
    await refused(400, 'ERR_UPSTREAM_ID_TOKEN_INVALID', FAILED);
  });

  it('an ID token with another nonce (a replayed or injected one) is refused', async () => {
    evil.idToken = () => evil.sign({ nonce: 'not-the-one-we-sent' });
    await refused(400, 'ERR_UPSTREAM_ID_TOKEN_INVALID', FAILED);
  });

  it('mix-up: an authorization response naming another issuer (RFC 9207) is refused', async () => {
    evil.idToken = (nonce) => evil.sign({ nonce });
    evil.responseIss = 'https://honest-idp.example';
    try {
      await refused(400, 'ERR_UPSTREAM_ISSUER_MISMATCH', FAILED);
      // Advertised but left out: refused as well (a downgrade of the mix-up defence).
      evil.responseIss = undefined;
      await refused(400, 'ERR_UPSTREAM_ISSUER_MISMATCH', FAILED);
    } finally {
      evil.responseIss = evil.issuer;
    }
  });

  it('an ID token whose iss is another issuer is refused', async () => {
    evil.idToken = (nonce) => evil.sign({ nonce, iss: 'https://honest-idp.example' });
    await refused(400, 'ERR_UPSTREAM_ID_TOKEN_INVALID', FAILED);
  });

  it('an expired ID token is refused', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    evil.idToken = (nonce) => evil.sign({ nonce, iat: past - 300, exp: past });
    await refused(400, 'ERR_UPSTREAM_ID_TOKEN_INVALID', FAILED);
  });

  it('an unsigned ID token (alg none) is refused', async () => {
    evil.idToken = async (nonce) => {
      const now = Math.floor(Date.now() / 1000);
      return new jose.UnsecuredJWT({
        iss: evil.issuer,
        aud: 'tessera',
        sub: 'upstream-sub-1',
        email: 'mallory@corp.example',
        email_verified: true,
        nonce,
      })
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .encode();
    };
    await refused(400, 'ERR_UPSTREAM_ID_TOKEN_INVALID', FAILED);
  });

  it('an ID token signed by a key not in the upstream JWKS (same kid) is refused', async () => {
    const { privateKey } = await jose.generateKeyPair('ES256');
    evil.idToken = (nonce) => evil.sign({ nonce }, { key: privateKey });
    await refused(400, 'ERR_UPSTREAM_ID_TOKEN_INVALID', FAILED);
  });

  it('a verified email outside --allowed-domains is not provisioned', async () => {
    evil.idToken = (nonce) => evil.sign({ nonce, sub: 'outsider', email: 'eve@evil.example' });
    await refused(403, 'domain_not_allowed', /not allowed to sign in to this service/);
  });

  it("account takeover: an upstream asserting a local user's email gets neither session nor link", async () => {
    const victim = await createUser(ours.h, { email: 'victim@corp.example' });
    await createUser(ours.h, { email: 'mallory-local@example.com' });
    evil.idToken = (nonce) => evil.sign({ nonce, sub: 'attacker-sub', email: 'VICTIM@corp.example' });
    const before = await census(ours);
    const browser = new HttpBrowser();
    const started = await ours.startAuthorization(browser);
    const res = await clickProvider(browser, ours, started.page, 'forged');
    assert.equal(res.status, 200);
    assert.match(res.body, /An account with the email <strong>victim@corp.example<\/strong> already exists/);
    assert.deepEqual(await census(ours), before, 'not signed in, not linked');
    assert.equal(await ours.h.server.ctx.store.getIdentityLink('forged', 'attacker-sub'), undefined);

    // The attacker signs in with their own password in the same browser: the pending link is for the
    // victim, so it is dropped, not given to the attacker's account.
    const page = await browser.follow(started.signInUrl);
    const done = await browser.follow(`${ours.url}/signin`, {
      form: {
        ...formFields(page.body, '/signin'),
        username: 'mallory-local@example.com',
        password: PASSWORD,
      },
    });
    assert.ok(done.location?.startsWith(ours.app.redirectUri));
    assert.deepEqual(await ours.h.server.ctx.store.listIdentityLinks(), []);
    assert.equal(await ours.h.server.ctx.store.getIdentityLink('forged', 'attacker-sub'), undefined);
    void victim;
  });

  it("an existing account is linked only after its owner's password sign-in in the same browser", async () => {
    const owner = await createUser(ours.h, { email: 'owner@corp.example' });
    evil.idToken = (nonce) => evil.sign({ nonce, sub: 'owner-upstream', email: 'owner@corp.example' });
    const browser = new HttpBrowser();
    const started = await ours.startAuthorization(browser);
    const res = await clickProvider(browser, ours, started.page, 'forged');
    assert.match(res.body, /Sign in with your password/);
    const link = /href="([^"]+)"/.exec(res.body.slice(res.body.indexOf('class="button primary"') - 200))?.[1];
    assert.equal(
      link?.replace(/&amp;/g, '&'),
      new URL(started.signInUrl).pathname + new URL(started.signInUrl).search,
    );

    // Another browser signing in as the owner does not link (the pending link is bound to the first one).
    const elsewhere = new HttpBrowser();
    const other = await ours.startAuthorization(elsewhere);
    await elsewhere.follow(`${ours.url}/signin`, {
      form: { ...formFields(other.page, '/signin'), username: owner.email, password: PASSWORD },
    });
    assert.equal(await ours.h.server.ctx.store.getIdentityLink('forged', 'owner-upstream'), undefined);

    const page = await browser.follow(started.signInUrl);
    const done = await browser.follow(`${ours.url}/signin`, {
      form: { ...formFields(page.body, '/signin'), username: owner.email, password: PASSWORD },
    });
    assert.ok(done.location?.startsWith(ours.app.redirectUri));
    assert.equal(
      (await ours.h.server.ctx.store.getIdentityLink('forged', 'owner-upstream'))?.userId,
      owner.id,
    );

    // From now on the upstream identity signs in as the owner directly.
    const next = new HttpBrowser();
    const again = await ours.startAuthorization(next);
    const back = await clickProvider(next, ours, again.page, 'forged');
    const tokens = await ours.redeem(back.location!, again.verifier);
    const claims = await ours.verify(tokens.id_token!, 'app');
    assert.equal(claims.sub, owner.id);
    assert.equal(claims.idp, 'forged');
    const audit = await ours.h.server.ctx.store.listAudit(30);
    assert.ok(audit.some((e) => e.type === 'idp.linked' && e.data.via === 'password_signin'));
  });
});
