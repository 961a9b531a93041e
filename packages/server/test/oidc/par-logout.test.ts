/**
 * Pushed authorization requests (RFC 9126), RP-initiated logout, and the userinfo endpoint's RFC 6750 errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import type { Harness } from '../oauth/harness.js';
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

describe('PAR, logout and userinfo', () => {
  let h: Harness;
  let web: CodeClient;
  let strict: CodeClient;
  let pub: CodeClient;
  let browser: Browser;

  before(async () => {
    h = await startOidcHarness();
    web = await addCodeClient(h, 'web');
    await addCodeClient(h, 'other');
    strict = await addCodeClient(h, 'strict', { requirePar: true });
    pub = await addCodeClient(h, 'pub', { authMethod: 'none' });
    browser = await signIn(h, await createUser(h));
  });
  after(() => h.close());

  async function push(client: CodeClient, params: Record<string, string>) {
    return h.post('/oauth/par', params, { authorization: basicAuth(client) });
  }

  it('PAR with oauth4webapi: 201, request_uri used once at the authorization endpoint', async () => {
    const as = await discover(h);
    const rp: oauth.Client = { client_id: 'strict' };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const response = await oauth.pushedAuthorizationRequest(
      as,
      rp,
      oauth.ClientSecretBasic(strict.secret!),
      {
        response_type: 'code',
        redirect_uri: strict.redirectUri,
        scope: 'openid',
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      },
      INSECURE,
    );
    assert.equal(response.status, 201);
    const pushed = await oauth.processPushedAuthorizationResponse(as, rp, response);
    assert.match(pushed.request_uri, /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);
    assert.equal(pushed.expires_in, 60);

    // Other parameters in the URL are ignored (RFC 9126 §4): the pushed redirect_uri and state win.
    const res = await authorize(
      h,
      {
        client_id: 'strict',
        request_uri: pushed.request_uri,
        state: 'ignored',
        redirect_uri: 'https://evil.example/',
      },
      browser.cookie,
    );
    assert.equal(res.status, 302);
    const params = oauth.validateAuthResponse(as, rp, new URL(res.location!), state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      rp,
      await oauth.authorizationCodeGrantRequest(
        as,
        rp,
        oauth.ClientSecretBasic(strict.secret!),
        params,
        strict.redirectUri,
        verifier,
        INSECURE,
      ),
    );
    assert.equal(typeof tokens.access_token, 'string');

    const replay = await authorize(
      h,
      { client_id: 'strict', request_uri: pushed.request_uri },
      browser.cookie,
    );
    assert.equal(replay.status, 400);
    assert.equal(replay.headers.location, undefined);
    assert.match(replay.body, /the request_uri is unknown, expired or already used/);
  });

  it('a client registered with requirePar cannot send a plain authorization request', async () => {
    const res = await authorize(h, codeRequest(strict, pkce().challenge, { state: 'p' }), browser.cookie);
    const params = Object.fromEntries(new URL(res.location!).searchParams);
    assert.deepEqual(params, {
      error: 'invalid_request',
      error_description: 'this client must use pushed authorization requests (PAR)',
      state: 'p',
      iss: h.url,
    });
  });

  it('another client cannot use a pushed request_uri, and does not burn it', async () => {
    const pushed = await push(web, codeRequest(web, pkce().challenge));
    assert.equal(pushed.status, 201);
    const uri = pushed.json().request_uri as string;
    const stolen = await authorize(h, { client_id: 'other', request_uri: uri }, browser.cookie);
    assert.equal(stolen.status, 400);
    assert.equal(stolen.headers.location, undefined);
    const own = await authorize(h, { client_id: 'web', request_uri: uri }, browser.cookie);
    assert.ok(new URL(own.location!).searchParams.get('code'));
  });

  it('PAR validates like the authorization endpoint, with JSON errors', async () => {
    const plain = await push(web, codeRequest(web, pkce().verifier, { code_challenge_method: 'plain' }));
    assert.equal(plain.status, 400);
    assert.deepEqual(plain.json(), {
      error: 'invalid_request',
      error_description: 'code_challenge_method must be S256; only S256 is supported',
    });
    const badRedirect = await push(
      web,
      codeRequest(web, pkce().challenge, { redirect_uri: 'https://evil.example/' }),
    );
    assert.deepEqual(badRedirect.json(), {
      error: 'invalid_request',
      error_description: 'the redirect_uri is not registered for this client',
    });
    const noAuth = await h.post('/oauth/par', codeRequest(web, pkce().challenge, { client_id: 'web' }));
    assert.equal(noAuth.status, 401);
    assert.equal(noAuth.json().error, 'invalid_client');
  });

  it('a public client cannot use PAR', async () => {
    const res = await h.post('/oauth/par', codeRequest(pub, pkce().challenge));
    assert.equal(res.status, 400);
    assert.deepEqual(res.json(), {
      error: 'unauthorized_client',
      error_description: 'pushed authorization requests are for confidential clients',
    });
  });

  it('userinfo: no token is a bare 401 challenge; query tokens are refused; no-store', async () => {
    const bare = await h.server.app.inject({ url: '/oauth/userinfo' });
    assert.equal(bare.statusCode, 401);
    assert.equal(bare.headers['www-authenticate'], 'Bearer realm="tessera"');
    const query = await h.server.app.inject({ url: '/oauth/userinfo?access_token=abc' });
    assert.equal(query.statusCode, 400);
    assert.equal(JSON.parse(query.body).error, 'invalid_request');
    const garbage = await h.server.app.inject({
      url: '/oauth/userinfo',
      headers: { authorization: 'Bearer abc.def.ghi' },
    });
    assert.equal(garbage.statusCode, 401);
    assert.equal(garbage.headers['cache-control'], 'no-store');
    assert.equal(JSON.parse(garbage.body).error, 'invalid_token');
  });

  it('userinfo: a token without openid is 403 insufficient_scope; POST with access_token in the body works', async () => {
    const scoped = await addCodeClient(h, 'scoped', { scope: ['read'] });
    const { code, verifier, params } = await getCode(h, scoped, browser, { scope: 'read' });
    const tokens = (
      await redeem(h, scoped, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier })
    ).json() as { access_token: string; id_token?: string };
    assert.equal(tokens.id_token, undefined);
    const res = await h.server.app.inject({
      url: '/oauth/userinfo',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(res.statusCode, 403);
    assert.equal(JSON.parse(res.body).error, 'insufficient_scope');
    assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope".*scope="openid"/);

    const withOpenid = await getCode(h, scoped, browser, { scope: 'openid' });
    const t2 = (
      await redeem(h, scoped, {
        code: withOpenid.code,
        redirect_uri: withOpenid.params.redirect_uri!,
        code_verifier: withOpenid.verifier,
      })
    ).json() as { access_token: string };
    const post = await h.post('/oauth/userinfo', { access_token: t2.access_token });
    assert.equal(post.status, 200);
    assert.deepEqual(post.json(), { sub: browser.user.id });
  });

  it('an opaque access token works at userinfo', async () => {
    const opaque = await addCodeClient(h, 'opaque', { tokenFormat: 'opaque' });
    const { code, verifier, params } = await getCode(h, opaque, browser, { scope: 'openid email' });
    const tokens = (
      await redeem(h, opaque, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier })
    ).json() as { access_token: string };
    assert.match(tokens.access_token, /^tsa_/);
    const res = await h.server.app.inject({
      url: '/oauth/userinfo',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.deepEqual(JSON.parse(res.body), {
      email: browser.user.email,
      email_verified: true,
      sub: browser.user.id,
    });
  });

  describe('RP-initiated logout', () => {
    async function confirmPage(query: Record<string, string>, cookie: string) {
      const res = await h.server.app.inject({
        url: `/oauth/logout?${new URLSearchParams(query)}`,
        headers: { cookie },
      });
      const csrf = /name="csrf" value="([^"]+)"/.exec(res.body)?.[1];
      const setCookie = [res.headers['set-cookie']].flat().filter((c): c is string => typeof c === 'string');
      const csrfCookie = setCookie.map((c) => c.split(';')[0]!).find((c) => c.startsWith('tessera_csrf='));
      return { res, csrf, csrfCookie };
    }

    it('ends the session, revokes its refresh families, and returns to the registered URI with state', async () => {
      const session = await signIn(h, await createUser(h));
      const { code, verifier, params } = await getCode(h, web, session);
      const tokens = (
        await redeem(h, web, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier })
      ).json() as { refresh_token: string; id_token: string };
      const query = {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: 'https://web.example/signed-out',
        state: 'bye',
      };
      const { res, csrf, csrfCookie } = await confirmPage(query, session.cookie);
      assert.equal(res.statusCode, 200);
      assert.ok(csrf !== undefined && csrfCookie !== undefined);
      assert.equal(res.headers.location, undefined);

      const post = await h.post(
        '/oauth/logout',
        { ...query, csrf: csrf!, decision: 'logout' },
        { cookie: `${session.cookie}; ${csrfCookie}` },
      );
      assert.equal(post.status, 303);
      assert.equal(post.headers.location, 'https://web.example/signed-out?state=bye');
      assert.equal(await h.server.ctx.store.getSession(session.session.id), undefined);
      const refresh = await h.post(
        '/oauth/token',
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
        { authorization: basicAuth(web) },
      );
      assert.deepEqual(refresh.json(), {
        error: 'invalid_grant',
        error_description: 'refresh token revoked',
      });
      // The browser is signed out: the next authorization request goes to the sign-in page.
      const next = await authorize(h, codeRequest(web, pkce().challenge), session.cookie);
      assert.match(next.location!, /^\/signin\?/);
    });

    it('an unregistered post_logout_redirect_uri: the error page, never a redirect', async () => {
      const { res } = await confirmPage(
        { client_id: 'web', post_logout_redirect_uri: 'https://evil.example/' },
        browser.cookie,
      );
      assert.equal(res.statusCode, 400);
      assert.equal(res.headers.location, undefined);
      assert.match(res.body, /the post_logout_redirect_uri is not registered for this client/);
      const anonymous = await confirmPage(
        { post_logout_redirect_uri: 'https://web.example/signed-out' },
        browser.cookie,
      );
      assert.equal(anonymous.res.statusCode, 400);
      assert.match(anonymous.res.body, /needs the client to be identified/);
    });

    it('client_id disagreeing with the id_token_hint: the error page', async () => {
      const { code, verifier, params } = await getCode(h, web, browser);
      const tokens = (
        await redeem(h, web, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier })
      ).json() as { id_token: string; access_token: string };
      const { res } = await confirmPage(
        { id_token_hint: tokens.id_token, client_id: 'other' },
        browser.cookie,
      );
      assert.equal(res.statusCode, 400);
      assert.match(res.body, /client_id does not match the id_token_hint/);
      // An access token is no ID token hint.
      const wrongType = await confirmPage({ id_token_hint: tokens.access_token }, browser.cookie);
      assert.equal(wrongType.res.statusCode, 400);
    });

    it('a logout POST without the CSRF field shows the confirmation; a forged one is refused', async () => {
      const session = await signIn(h, await createUser(h));
      const noCsrf = await h.post('/oauth/logout', { client_id: 'web' }, { cookie: session.cookie });
      assert.equal(noCsrf.status, 200);
      assert.match(noCsrf.body, /name="csrf"/);
      const forged = await h.post(
        '/oauth/logout',
        { client_id: 'web', csrf: 'forged' },
        { cookie: `${session.cookie}; tessera_csrf=${'a'.repeat(43)}` },
      );
      assert.equal(forged.status, 403);
      assert.ok(await h.server.ctx.store.getSession(session.session.id));
    });
  });
});
