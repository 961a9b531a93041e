/**
 * One test per attack on the authorization endpoint and the code grant, each asserting the exact error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { createVerifier, type JWK } from '@tessera/jwt';
import type { Harness } from '../oauth/harness.js';
import { hashToken } from '../../src/oauth/crypto.js';
import {
  INSECURE,
  addCodeClient,
  authorize,
  codeRequest,
  createUser,
  discover,
  getCode,
  pkce,
  redeem,
  signIn,
  startOidcHarness,
  type Browser,
  type CodeClient,
} from './helpers.js';

const basicAuth = (c: CodeClient) => `Basic ${Buffer.from(`${c.record.id}:${c.secret}`).toString('base64')}`;

describe('authorization endpoint and code grant attacks', () => {
  let h: Harness;
  let a: CodeClient;
  let b: CodeClient;
  let pub: CodeClient;
  let browser: Browser;
  let now = Date.now();

  before(async () => {
    h = await startOidcHarness({}, { clock: () => now });
    a = await addCodeClient(h, 'client-a');
    b = await addCodeClient(h, 'client-b');
    pub = await addCodeClient(h, 'public-app', {
      authMethod: 'none',
      grants: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: ['read'],
    });
    browser = await signIn(h, await createUser(h));
  });
  after(() => h.close());

  function errorOf(location: string | undefined): Record<string, string> {
    assert.ok(location !== undefined, 'expected a redirect');
    return Object.fromEntries(new URL(location).searchParams);
  }

  it('missing PKCE: invalid_request back to the client, with state and iss', async () => {
    const params = codeRequest(a, '', {
      code_challenge: undefined,
      code_challenge_method: undefined,
      state: 's1',
    });
    const res = await authorize(h, params, browser.cookie);
    assert.equal(res.status, 302);
    assert.ok(res.location!.startsWith(`${a.redirectUri}?`));
    assert.deepEqual(errorOf(res.location), {
      error: 'invalid_request',
      error_description: 'code_challenge is required (PKCE, RFC 7636)',
      state: 's1',
      iss: h.url,
    });
  });

  it('plain PKCE is refused: only S256', async () => {
    const res = await authorize(
      h,
      codeRequest(a, pkce().verifier, { code_challenge_method: 'plain' }),
      browser.cookie,
    );
    const err = errorOf(res.location);
    assert.equal(err.error, 'invalid_request');
    assert.equal(err.error_description, 'code_challenge_method must be S256; only S256 is supported');
  });

  it('a wrong code_verifier: invalid_grant', async () => {
    const { code, params } = await getCode(h, a, browser);
    const res = await redeem(h, a, {
      code,
      redirect_uri: params.redirect_uri!,
      code_verifier: pkce().verifier,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json(), {
      error: 'invalid_grant',
      error_description: 'code_verifier does not match the code_challenge',
    });
  });

  it('code replay: invalid_grant, and the tokens issued from the code are revoked', async () => {
    const { code, verifier, params } = await getCode(h, a, browser);
    const form = { code, redirect_uri: params.redirect_uri!, code_verifier: verifier };
    const first = await redeem(h, a, form);
    assert.equal(first.status, 200);
    const tokens = first.json() as { access_token: string; refresh_token: string };
    const introspect = () =>
      h.post('/oauth/introspect', { token: tokens.access_token }, { authorization: basicAuth(a) });
    assert.equal((await introspect()).json().active, true);

    const replay = await redeem(h, a, form);
    assert.equal(replay.status, 400);
    assert.deepEqual(replay.json(), {
      error: 'invalid_grant',
      error_description: 'authorization code already used; the tokens issued from it have been revoked',
    });
    assert.deepEqual((await introspect()).json(), { active: false });
    const refresh = await h.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
      { authorization: basicAuth(a) },
    );
    assert.deepEqual(refresh.json(), { error: 'invalid_grant', error_description: 'refresh token revoked' });
    // The access token's jti is on the revocation feed for resource servers.
    const jti = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).jti;
    const feed = await h.server.app.inject({
      url: '/oauth/revocations?since=0',
      headers: { authorization: basicAuth(a) },
    });
    assert.equal(feed.statusCode, 200);
    const entries = JSON.parse(feed.body).entries as { type: string; value: string }[];
    assert.ok(entries.some((e) => e.type === 'jti' && e.value === jti));
    const audit = await h.server.ctx.store.listAudit(20);
    assert.ok(audit.some((e) => e.type === 'code.reuse_detected'));
  });

  it('code replay of an opaque access token: introspection says inactive', async () => {
    const opaque = await addCodeClient(h, 'opaque-a', { tokenFormat: 'opaque' });
    const { code, verifier, params } = await getCode(h, opaque, browser);
    const form = { code, redirect_uri: params.redirect_uri!, code_verifier: verifier };
    const tokens = (await redeem(h, opaque, form)).json() as { access_token: string };
    assert.match(tokens.access_token, /^tsa_/);
    const introspect = () =>
      h.post('/oauth/introspect', { token: tokens.access_token }, { authorization: basicAuth(opaque) });
    assert.equal((await introspect()).json().active, true);
    assert.equal((await redeem(h, opaque, form)).json().error, 'invalid_grant');
    assert.deepEqual((await introspect()).json(), { active: false });
  });

  it('a replay racing the first redemption: the first redemption revokes what it issued', async () => {
    const user = await createUser(h);
    const racing = await signIn(h, user);
    const { code, verifier, params } = await getCode(h, a, racing);
    // The replay got in first while nothing was recorded yet: it leaves the marker (see revokeOnCodeReuse).
    const ctx = h.server.ctx;
    assert.equal(await ctx.store.consumeOnce('code_replay', hashToken(code), now + 60_000, now), true);
    const revocationsBefore = await ctx.store.latestRevocationSeq();
    const res = await redeem(h, a, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier });
    assert.deepEqual(res.json(), {
      error: 'invalid_grant',
      error_description: 'authorization code already used; the tokens issued from it have been revoked',
    });
    assert.ok((await ctx.store.latestRevocationSeq()) > revocationsBefore);
    const live = await ctx.store.listLiveFamilies(now);
    assert.equal(live.filter((f) => f.userId === user.id).length, 0);
  });

  it('a code for client A redeemed by client B: invalid_grant', async () => {
    const { code, verifier, params } = await getCode(h, a, browser);
    const res = await redeem(h, a, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier }, b);
    assert.equal(res.status, 400);
    assert.deepEqual(res.json(), { error: 'invalid_grant', error_description: 'invalid authorization code' });
  });

  it('redirect_uri at the token endpoint differs from the authorization request: invalid_grant', async () => {
    const { code, verifier } = await getCode(h, a, browser);
    const res = await redeem(h, a, {
      code,
      redirect_uri: 'https://client-a.example/other',
      code_verifier: verifier,
    });
    assert.deepEqual(res.json(), {
      error: 'invalid_grant',
      error_description: 'redirect_uri does not match the authorization request',
    });
  });

  it('an expired code: invalid_grant', async () => {
    const { code, verifier, params } = await getCode(h, a, browser);
    now += 61_000;
    try {
      const res = await redeem(h, a, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier });
      assert.deepEqual(res.json(), {
        error: 'invalid_grant',
        error_description: 'authorization code expired',
      });
    } finally {
      now -= 61_000;
    }
  });

  it('redirect_uri not registered: the error page, no redirect, no Location', async () => {
    const res = await authorize(
      h,
      codeRequest(a, pkce().challenge, { redirect_uri: 'https://evil.example/callback' }),
      browser.cookie,
    );
    assert.equal(res.status, 400);
    assert.equal(res.headers.location, undefined);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /the redirect_uri is not registered for this client/);
  });

  it('a prefix or look-alike of a registered redirect_uri is no match', async () => {
    for (const uri of [
      `${a.redirectUri}/x`,
      `${a.redirectUri}?x=1`,
      a.redirectUri.toUpperCase(),
      `${a.redirectUri}#f`,
    ]) {
      const res = await authorize(h, codeRequest(a, pkce().challenge, { redirect_uri: uri }), browser.cookie);
      assert.equal(res.status, 400, uri);
      assert.equal(res.headers.location, undefined, uri);
    }
  });

  it('an unknown client: the error page, no redirect', async () => {
    const res = await authorize(h, codeRequest(a, pkce().challenge, { client_id: 'nobody' }), browser.cookie);
    assert.equal(res.status, 400);
    assert.equal(res.headers.location, undefined);
    assert.match(res.body, /unknown client/);
  });

  it('a missing state is not invented in the response', async () => {
    const res = await authorize(h, codeRequest(a, pkce().challenge, { state: undefined }), browser.cookie);
    const params = new URL(res.location!).searchParams;
    assert.ok(params.has('code'));
    assert.equal(params.has('state'), false);
    assert.equal(params.get('iss'), h.url);
  });

  it('a nonce mismatch is caught by oauth4webapi', async () => {
    const as = await discover(h);
    const rp: oauth.Client = { client_id: a.record.id };
    const { code, verifier, params } = await getCode(h, a, browser, { nonce: 'the-real-nonce' });
    const callback = new URLSearchParams({ code, state: params.state!, iss: h.url });
    const validated = oauth.validateAuthResponse(as, rp, callback, params.state!);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      rp,
      oauth.ClientSecretBasic(a.secret!),
      validated,
      a.redirectUri,
      verifier,
      INSECURE,
    );
    await assert.rejects(
      oauth.processAuthorizationCodeResponse(as, rp, response, { expectedNonce: 'another-nonce' }),
      (err: oauth.OperationProcessingError) =>
        err.code === oauth.JWT_CLAIM_COMPARISON && /nonce/.test(err.message),
    );
  });

  it('an ID token used as an access token: invalid_token at userinfo and refused by the SDK requiring at+jwt', async () => {
    const { code, verifier, params } = await getCode(h, a, browser);
    const tokens = (
      await redeem(h, a, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier })
    ).json() as { id_token: string };
    const res = await h.server.app.inject({
      url: '/oauth/userinfo',
      headers: { authorization: `Bearer ${tokens.id_token}` },
    });
    assert.equal(res.statusCode, 401);
    assert.equal(JSON.parse(res.body).error, 'invalid_token');
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="tessera", error="invalid_token"/);
    const keys = JSON.parse((await h.server.app.inject({ url: '/.well-known/jwks.json' })).body) as {
      keys: JWK[];
    };
    const verifier2 = createVerifier({
      algorithms: ['ES256', 'EdDSA', 'RS256', 'PS256'],
      issuer: h.url,
      audience: null,
      keys,
      typ: 'at+jwt',
    });
    await assert.rejects(
      verifier2.verify(tokens.id_token),
      (err: Error & { code?: string; claim?: string }) => {
        assert.equal(err.code, 'ERR_JWT_CLAIM_INVALID');
        assert.equal(err.claim, 'typ');
        assert.equal(err.message, '"typ" claim header does not match the expected type');
        return true;
      },
    );
    verifier2.close();
  });

  it('prompt=none without a session: login_required', async () => {
    const res = await authorize(h, codeRequest(a, pkce().challenge, { prompt: 'none', state: 's2' }));
    assert.deepEqual(errorOf(res.location), {
      error: 'login_required',
      error_description: 'the user is not signed in',
      state: 's2',
      iss: h.url,
    });
  });

  it('prompt=none with another value: invalid_request', async () => {
    const res = await authorize(
      h,
      codeRequest(a, pkce().challenge, { prompt: 'none login' }),
      browser.cookie,
    );
    assert.equal(errorOf(res.location).error, 'invalid_request');
  });

  it('max_age=0 sends a signed-in user to the sign-in page', async () => {
    const res = await authorize(h, codeRequest(a, pkce().challenge, { max_age: '0' }), browser.cookie);
    assert.equal(res.status, 302);
    assert.match(res.location!, /^\/signin\?interaction=[A-Za-z0-9_-]{43}$/);
  });

  it('no session: the sign-in page, not a code', async () => {
    const res = await authorize(h, codeRequest(a, pkce().challenge));
    assert.match(res.location!, /^\/signin\?interaction=/);
  });

  it('response_type other than code: unsupported_response_type', async () => {
    const res = await authorize(
      h,
      codeRequest(a, pkce().challenge, { response_type: 'token' }),
      browser.cookie,
    );
    assert.equal(errorOf(res.location).error, 'unsupported_response_type');
  });

  it('a request object: request_not_supported', async () => {
    const res = await authorize(h, codeRequest(a, pkce().challenge, { request: 'e30.e30.' }), browser.cookie);
    assert.equal(errorOf(res.location).error, 'request_not_supported');
  });

  it('a scope the client is not registered for: invalid_scope', async () => {
    const res = await authorize(
      h,
      codeRequest(a, pkce().challenge, { scope: 'openid admin' }),
      browser.cookie,
    );
    assert.equal(errorOf(res.location).error, 'invalid_scope');
  });

  it('a duplicated parameter: the error page (RFC 6749 §3.1), no redirect', async () => {
    const query =
      new URLSearchParams(codeRequest(a, pkce().challenge)).toString() +
      `&redirect_uri=${encodeURIComponent('https://evil.example/')}`;
    const res = await authorize(h, query, browser.cookie);
    assert.equal(res.status, 400);
    assert.equal(res.headers.location, undefined);
  });

  it('a disabled user cannot redeem a code issued before', async () => {
    const user = await createUser(h);
    const other = await signIn(h, user);
    const { code, verifier, params } = await getCode(h, a, other);
    await h.server.ctx.store.updateUser({ ...user, disabled: true });
    const res = await redeem(h, a, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier });
    assert.deepEqual(res.json(), {
      error: 'invalid_grant',
      error_description: 'the user is no longer active',
    });
  });

  it('a disabled user cannot refresh', async () => {
    const user = await createUser(h);
    const other = await signIn(h, user);
    const { code, verifier, params } = await getCode(h, a, other);
    const tokens = (
      await redeem(h, a, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier })
    ).json() as { refresh_token: string };
    await h.server.ctx.store.updateUser({ ...user, disabled: true });
    const res = await h.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
      { authorization: basicAuth(a) },
    );
    assert.deepEqual(res.json(), {
      error: 'invalid_grant',
      error_description: 'the user of this refresh token is no longer active',
    });
  });

  it('a code from a session that has ended: invalid_grant', async () => {
    const other = await signIn(h, await createUser(h));
    const { code, verifier, params } = await getCode(h, a, other);
    await h.server.ctx.store.deleteSession(other.session.id);
    const res = await redeem(h, a, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier });
    assert.deepEqual(res.json(), {
      error: 'invalid_grant',
      error_description: 'the sign-in session has ended',
    });
  });

  it('a public client cannot use client_credentials', async () => {
    const res = await h.post('/oauth/token', { grant_type: 'client_credentials', client_id: pub.record.id });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json(), {
      error: 'unauthorized_client',
      error_description: 'a public client cannot use this grant type',
    });
  });

  it('a public client cannot introspect', async () => {
    const res = await h.post('/oauth/introspect', { token: 'x', client_id: pub.record.id });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json(), {
      error: 'unauthorized_client',
      error_description: 'public clients cannot introspect tokens',
    });
  });

  it('a confidential client sending only its client_id: invalid_client', async () => {
    const { code, verifier, params } = await getCode(h, a, browser);
    const res = await h.post('/oauth/token', {
      grant_type: 'authorization_code',
      client_id: a.record.id,
      code,
      redirect_uri: params.redirect_uri!,
      code_verifier: verifier,
    });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json(), {
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
  });

  it('a public client redeems its code with client_id alone and revokes its own refresh token', async () => {
    const { code, verifier, params } = await getCode(h, pub, browser, { scope: 'openid read' });
    const res = await redeem(h, pub, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier });
    assert.equal(res.status, 200);
    const tokens = res.json() as { refresh_token: string; scope: string };
    assert.equal(tokens.scope, 'openid read');
    const revoke = await h.post('/oauth/revoke', { token: tokens.refresh_token, client_id: pub.record.id });
    assert.equal(revoke.status, 200);
    const refresh = await h.post('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: pub.record.id,
    });
    assert.deepEqual(refresh.json(), { error: 'invalid_grant', error_description: 'refresh token revoked' });
  });
});
