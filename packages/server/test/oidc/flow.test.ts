/**
 * The authorization code flow end to end with oauth4webapi as the relying party against a real server:
 * discovery, authorization URL with PKCE + state + nonce, `iss` check, code grant, ID token, userinfo,
 * refresh; tokens verified with jose and @tessera/jwt too. Sign-in is played by a session made in the store.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { createVerifier, type JWK } from '@tessera/jwt';
import type { Harness } from '../oauth/harness.js';
import {
  INSECURE,
  addCodeClient,
  authorize,
  createUser,
  discover,
  signIn,
  type Browser,
  type CodeClient,
} from './helpers.js';

describe('authorization code flow with oauth4webapi', () => {
  let h: Harness;
  let as: oauth.AuthorizationServer;
  let web: CodeClient;
  let spa: CodeClient;
  let browser: Browser;

  before(async () => {
    const { startOidcHarness } = await import('./helpers.js');
    h = await startOidcHarness();
    as = await discover(h);
    web = await addCodeClient(h, 'web', { allowedClaims: ['tenant_id'] });
    spa = await addCodeClient(h, 'spa', { authMethod: 'none' });
    const user = await createUser(h, {
      name: 'Ada Lovelace',
      claims: '{"tenant_id":"acme","secret_ssn":"x"}',
    });
    browser = await signIn(h, user);
  });
  after(() => h.close());

  /** Authorize through the real HTTP server with the browser's cookie; returns the callback URL. */
  async function browse(url: URL): Promise<Response> {
    return fetch(url, { headers: { cookie: browser.cookie }, redirect: 'manual' });
  }

  async function run(client: CodeClient, auth: oauth.ClientAuth) {
    const rp: oauth.Client = { client_id: client.record.id };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint!);
    url.searchParams.set('client_id', rp.client_id);
    url.searchParams.set('redirect_uri', client.redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', 'openid profile email');
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    url.searchParams.set('nonce', nonce);
    const res = await browse(url);
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.origin + location.pathname, client.redirectUri);
    const params = oauth.validateAuthResponse(as, rp, location, state);
    const tokenResponse = await oauth.authorizationCodeGrantRequest(
      as,
      rp,
      auth,
      params,
      client.redirectUri,
      verifier,
      INSECURE,
    );
    const result = await oauth.processAuthorizationCodeResponse(as, rp, tokenResponse, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
    return { rp, result, nonce };
  }

  it('publishes the OpenID provider metadata', () => {
    assert.equal(as.issuer, h.url);
    assert.equal(as.authorization_endpoint, `${h.url}/oauth/authorize`);
    assert.equal(as.userinfo_endpoint, `${h.url}/oauth/userinfo`);
    assert.equal(as.end_session_endpoint, `${h.url}/oauth/logout`);
    assert.equal(as.pushed_authorization_request_endpoint, `${h.url}/oauth/par`);
    assert.deepEqual(as.response_types_supported, ['code']);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.ok(as.grant_types_supported?.includes('authorization_code'));
    assert.ok(as.token_endpoint_auth_methods_supported?.includes('none'));
    assert.deepEqual(as.response_modes_supported, ['query']);
    assert.equal(as.request_parameter_supported, false);
    assert.equal(as.request_uri_parameter_supported, false);
    assert.equal(as.claims_parameter_supported, false);
    assert.equal(as.require_pushed_authorization_requests, false);
    assert.deepEqual(as.prompt_values_supported, ['none', 'login', 'consent']);
  });

  it('a confidential client signs the user in, gets tokens, calls userinfo and refreshes', async () => {
    const { rp, result, nonce } = await run(web, oauth.ClientSecretBasic(web.secret!));
    const idClaims = oauth.getValidatedIdTokenClaims(result)!;
    assert.equal(idClaims.sub, browser.user.id);
    assert.equal(idClaims.aud, 'web');
    assert.equal(idClaims.azp, 'web');
    assert.equal(idClaims.nonce, nonce);
    assert.equal(idClaims.sid, browser.session.id);
    assert.equal(idClaims.auth_time, Math.floor(browser.session.authTime / 1000));
    assert.equal(idClaims.name, 'Ada Lovelace');
    assert.equal(idClaims.email, browser.user.email);
    assert.equal(idClaims.email_verified, true);
    assert.deepEqual(idClaims.amr, ['pwd']);
    assert.equal(idClaims.acr, '1');
    assert.equal(typeof result.refresh_token, 'string');
    assert.equal(result.scope, 'openid profile email');

    // The ID token with jose: our JWKS, typ JWT, at_hash of the access token.
    const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri!));
    const id = await jose.jwtVerify(result.id_token!, jwks, { issuer: h.url, audience: 'web', typ: 'JWT' });
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(result.access_token));
    assert.equal(id.payload.at_hash, Buffer.from(digest.slice(0, 16)).toString('base64url'));

    // The access token with jose and with @tessera/jwt: RFC 9068, sub = user id, session claims, allowlisted custom claims only.
    const at = await jose.jwtVerify(result.access_token, jwks, { issuer: h.url, typ: 'at+jwt' });
    const keys = (await (await fetch(as.jwks_uri!)).json()) as { keys: JWK[] };
    const verifier = createVerifier({
      algorithms: ['ES256', 'EdDSA', 'RS256', 'PS256'],
      issuer: h.url,
      audience: null,
      keys,
      typ: 'at+jwt',
    });
    const { payload } = await verifier.verify(result.access_token);
    verifier.close();
    for (const claims of [at.payload, payload]) {
      assert.equal(claims.sub, browser.user.id);
      assert.equal(claims.client_id, 'web');
      assert.equal(claims.scope, 'openid profile email');
      assert.equal(claims.sid, browser.session.id);
      assert.equal(claims.auth_time, Math.floor(browser.session.authTime / 1000));
      assert.deepEqual(claims.amr, ['pwd']);
      assert.equal(claims.tenant_id, 'acme');
      assert.equal(claims.secret_ssn, undefined);
      assert.equal(claims.email, undefined);
    }

    const info = await oauth.processUserInfoResponse(
      as,
      rp,
      browser.user.id,
      await oauth.userInfoRequest(as, rp, result.access_token, INSECURE),
    );
    assert.deepEqual(info, {
      name: 'Ada Lovelace',
      email: browser.user.email,
      email_verified: true,
      sub: browser.user.id,
    });

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      rp,
      await oauth.refreshTokenGrantRequest(
        as,
        rp,
        oauth.ClientSecretBasic(web.secret!),
        result.refresh_token!,
        INSECURE,
      ),
    );
    const again = await jose.jwtVerify(refreshed.access_token, jwks, { issuer: h.url, typ: 'at+jwt' });
    assert.equal(again.payload.sub, browser.user.id);
    assert.equal(again.payload.sid, browser.session.id);
    assert.equal(again.payload.tenant_id, 'acme');
    assert.equal(again.payload.scope, 'openid profile email');
    assert.equal(again.payload.auth_time, Math.floor(browser.session.authTime / 1000));
  });

  it('a public client (client_id only) uses the code flow with PKCE; single sign-on with the same session', async () => {
    const { rp, result } = await run(spa, oauth.None());
    assert.equal(oauth.getValidatedIdTokenClaims(result)!.sid, browser.session.id);
    const info = await oauth.processUserInfoResponse(
      as,
      rp,
      browser.user.id,
      await oauth.userInfoRequest(as, rp, result.access_token, INSECURE),
    );
    assert.equal(info.sub, browser.user.id);
  });

  it('userinfo answers only what the granted scopes allow', async () => {
    const rp: oauth.Client = { client_id: 'web' };
    const verifier = oauth.generateRandomCodeVerifier();
    const res = await authorize(
      h,
      {
        response_type: 'code',
        client_id: 'web',
        redirect_uri: web.redirectUri,
        scope: 'openid',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      },
      browser.cookie,
    );
    const params = oauth.validateAuthResponse(as, rp, new URL(res.location!), oauth.expectNoState);
    const result = await oauth.processAuthorizationCodeResponse(
      as,
      rp,
      await oauth.authorizationCodeGrantRequest(
        as,
        rp,
        oauth.ClientSecretBasic(web.secret!),
        params,
        web.redirectUri,
        verifier,
        INSECURE,
      ),
    );
    const info = await oauth.processUserInfoResponse(
      as,
      rp,
      browser.user.id,
      await oauth.userInfoRequest(as, rp, result.access_token, INSECURE),
    );
    assert.deepEqual(info, { sub: browser.user.id });
    const idClaims = oauth.getValidatedIdTokenClaims(result)!;
    assert.equal(idClaims.email, undefined);
    assert.equal(idClaims.nonce, undefined);
  });
});
