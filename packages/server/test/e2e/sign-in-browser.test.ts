/**
 * People sign in, end to end, in a real Chromium (Debian's, through playwright-core): a web application using
 * `oauth4webapi` as its relying-party library sends the browser to Tessera's sign-in page, the user types an
 * email and password, and the application gets tokens it verifies with `jose` and `@tessera/jwt`, calls
 * userinfo, refreshes, and logs out. A second application (a public client that needs consent) gets single
 * sign-on. The sign-in browser runs with JavaScript disabled: the pages must work without it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createVerifier, type JWKS } from '@tessera/jwt';
import { startHarness, type Harness } from '../oauth/harness.js';
import { createUser } from '../../src/users/users.js';
import { assertChromium, CHROMIUM, CHROMIUM_ARGS, chromiumSkipFor } from '../helpers/chromium.js';
import { startRelyingParty } from './relying-party.js';

const skip = chromiumSkipFor('sign-in-browser');
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const EMAIL = 'alice@example.com';
const PASSWORD = 'a long passphrase nobody guesses';

describe('people sign in (Chromium, oauth4webapi relying parties)', { skip }, () => {
  let h: Harness;
  let web: Awaited<ReturnType<typeof startRelyingParty>>;
  let spa: Awaited<ReturnType<typeof startRelyingParty>>;
  let webSecret: string;
  let userId: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const cspViolations: string[] = [];

  before(async () => {
    assertChromium();
    h = await startHarness();
    const ctx = h.server.ctx;
    web = await startRelyingParty(h.url);
    spa = await startRelyingParty(h.url);
    // A confidential first-party web app (no consent screen) with refresh tokens and tenant_id passed through.
    const webClient = await h.addClient({
      id: 'web',
      grants: ['authorization_code', 'refresh_token'],
      redirectUris: [web.redirectUri],
      postLogoutRedirectUris: [web.postLogoutRedirectUri],
      firstParty: true,
      allowedClaims: ['tenant_id'],
      audience: ['https://orders.example'],
    });
    webSecret = webClient.secret!;
    await web.register('web', webSecret);
    // A public single-page app of another party: PKCE only, and the user must consent.
    await h.addClient({
      id: 'spa',
      grants: ['authorization_code'],
      authMethod: 'none',
      redirectUris: [spa.redirectUri],
      audience: ['https://orders.example'],
    });
    await spa.register('spa', undefined);
    const user = await createUser(
      ctx.store,
      {
        email: EMAIL,
        name: 'Alice Liddell',
        password: PASSWORD,
        emailVerified: true,
        claims: { tenant_id: 'acme' },
      },
      ctx.clock(),
    );
    userId = user.id;

    profileDir = mkdtempSync(join(tmpdir(), 'tessera-signin-browser-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ javaScriptEnabled: false });
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await web?.close();
    await spa?.close();
    await h?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  async function signInThroughForm(start: string): Promise<void> {
    await page.goto(start);
    assert.match(new URL(page.url()).pathname, /^\/signin/, 'the application sent the browser to sign in');
    await page.getByLabel(/email/i).fill(EMAIL);
    await page.getByLabel(/password/i).fill(PASSWORD);
    await page.getByRole('button', { name: /sign in/i }).click();
  }

  async function remoteVerifier(audience: string, typ: string) {
    const jwks = (await (await fetch(web.as().jwks_uri!)).json()) as JWKS;
    return createVerifier({ algorithms: ['ES256'], issuer: h.url, audience, keys: jwks, typ });
  }

  it('signs a user in through the login page; the app verifies the ID and access tokens with jose and @tessera/jwt', async () => {
    await signInThroughForm(`${web.url}/login?scope=${encodeURIComponent('openid profile email')}`);
    await page.waitForSelector('#signed-in');
    assert.equal(await page.textContent('#signed-in'), `Hello ${EMAIL}`);
    const tokens = web.last!;

    const keys = jose.createRemoteJWKSet(new URL(web.as().jwks_uri!));
    const id = await jose.jwtVerify(tokens.idToken, keys, { issuer: h.url, audience: 'web', typ: 'JWT' });
    assert.equal(id.payload.sub, userId, 'sub is the stable user id, never the email');
    assert.equal(id.payload.azp, 'web');
    assert.equal(id.payload.email, EMAIL);
    assert.equal(id.payload.email_verified, true);
    assert.equal(id.payload.name, 'Alice Liddell');
    assert.deepEqual(id.payload.amr, ['pwd']);
    assert.equal(typeof id.payload.sid, 'string');
    assert.equal(typeof id.payload.at_hash, 'string');
    assert.equal(typeof id.payload.auth_time, 'number');

    const at = await jose.jwtVerify(tokens.accessToken, keys, {
      issuer: h.url,
      audience: 'https://orders.example',
      typ: 'at+jwt',
    });
    assert.equal(at.payload.sub, userId);
    assert.equal(at.payload.client_id, 'web');
    assert.equal(at.payload.tenant_id, 'acme', "the client's allowlist lets tenant_id through");
    assert.equal(at.payload.sid, id.payload.sid);
    assert.equal(at.payload.email, undefined, 'the email is not in the access token');
    const lifetime = (at.payload.exp as number) - (at.payload.iat as number);
    assert.ok(lifetime >= 300 && lifetime <= 900, `access token lifetime ${lifetime}s is 5-15 minutes`);

    const sdk = await remoteVerifier('https://orders.example', 'at+jwt');
    assert.equal((await sdk.verify(tokens.accessToken)).payload.sub, userId);
    // The ID token is not an access token: a resource server requiring at+jwt refuses it.
    const sdkForWeb = await remoteVerifier('web', 'at+jwt');
    await assert.rejects(sdkForWeb.verify(tokens.idToken));
    assert.deepEqual(cspViolations, []);
  });

  it('calls userinfo with the access token and gets only what the scopes allow', async () => {
    const tokens = web.last!;
    const response = await oauth.userInfoRequest(web.as(), web.client, tokens.accessToken, insecure);
    const info = await oauth.processUserInfoResponse(web.as(), web.client, userId, response);
    assert.equal(info.sub, userId);
    assert.equal(info.email, EMAIL);
    assert.equal(info.name, 'Alice Liddell');
    assert.equal((info as Record<string, unknown>).tenant_id, undefined);
    // The ID token used as an access token at userinfo: invalid_token.
    const wrong = await fetch(web.as().userinfo_endpoint!, {
      headers: { authorization: `Bearer ${tokens.idToken}` },
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  it('refreshes: a new access token for the same user and session, and the old refresh token is spent', async () => {
    const tokens = web.last!;
    assert.ok(tokens.refreshToken);
    const auth = oauth.ClientSecretBasic(webSecret);
    const response = await oauth.refreshTokenGrantRequest(
      web.as(),
      web.client,
      auth,
      tokens.refreshToken,
      insecure,
    );
    const refreshed = await oauth.processRefreshTokenResponse(web.as(), web.client, response);
    const claims = jose.decodeJwt(refreshed.access_token);
    assert.equal(claims.sub, userId);
    assert.equal(claims.sid, jose.decodeJwt(tokens.idToken).sid);
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refreshToken);
    web.last = { ...tokens, accessToken: refreshed.access_token, refreshToken: refreshed.refresh_token };
  });

  it('single sign-on: a second application needs no password, asks for consent once, and honours a denial', async () => {
    await page.goto(`${spa.url}/login?scope=${encodeURIComponent('openid email')}`);
    assert.match(new URL(page.url()).pathname, /^\/consent/, 'signed in already: straight to consent');
    assert.match((await page.textContent('body')) ?? '', /spa/);
    await page.getByRole('button', { name: /deny|cancel|no/i }).click();
    await page.waitForSelector('#error');
    assert.equal(spa.lastError, 'access_denied');

    await page.goto(`${spa.url}/login?scope=${encodeURIComponent('openid email')}`);
    assert.match(new URL(page.url()).pathname, /^\/consent/);
    await page.getByRole('button', { name: /allow/i }).click();
    await page.waitForSelector('#signed-in');
    assert.equal(jose.decodeJwt(spa.last!.idToken).sub, userId);
    assert.equal(jose.decodeJwt(spa.last!.idToken).sid, jose.decodeJwt(web.last!.idToken).sid, 'one session');

    // Remembered: the third time goes straight back to the app.
    await page.goto(`${spa.url}/login?scope=${encodeURIComponent('openid email')}`);
    await page.waitForSelector('#signed-in');
  });

  it('prompt=none inside a live session returns a code without any page', async () => {
    await page.goto(`${web.url}/login?prompt=none`);
    await page.waitForSelector('#signed-in');
  });

  it('a nonce mismatch is caught by the relying party', async () => {
    await page.goto(`${web.url}/login?bad_nonce=1`);
    await page.waitForSelector('#error');
    assert.match(web.lastError ?? '', /nonce|OAUTH_JWT_CLAIM_COMPARISON_FAILED/i);
  });

  it('logs out (RP-initiated): confirmation, back to the registered URI with state, session and refresh tokens ended', async () => {
    // A fresh sign-in for a current ID token and refresh token.
    await page.goto(`${web.url}/login?prompt=none`);
    await page.waitForSelector('#signed-in');
    const { idToken, refreshToken } = web.last!;
    const logout = new URL(web.as().end_session_endpoint!);
    logout.searchParams.set('id_token_hint', idToken);
    logout.searchParams.set('post_logout_redirect_uri', web.postLogoutRedirectUri);
    logout.searchParams.set('state', 'bye');
    await page.goto(logout.href);
    await page.getByRole('button', { name: /sign out/i }).click();
    await page.waitForSelector('#logged-out');
    assert.equal(await page.textContent('#logged-out'), 'bye');

    const response = await oauth.refreshTokenGrantRequest(
      web.as(),
      web.client,
      oauth.ClientSecretBasic(webSecret),
      refreshToken!,
      insecure,
    );
    await assert.rejects(
      oauth.processRefreshTokenResponse(web.as(), web.client, response),
      (err: unknown) => {
        assert.equal((err as { error?: string }).error, 'invalid_grant');
        return true;
      },
    );

    await page.goto(`${web.url}/login?prompt=none`);
    await page.waitForSelector('#error');
    assert.equal(web.lastError, 'login_required');
  });
});
