/**
 * Protocol tests: a real server on 127.0.0.1 (port 0, temp data dir, SQLite) driven by oauth4webapi, an
 * OAuth client library nobody here wrote. Tokens are verified with `jose` against the served JWKS and with
 * `@tessera/jwt`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { createVerifier, type JWKS } from '@tessera/jwt';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import {
  basic,
  makeClientKey,
  signAssertion,
  startHarness,
  type ClientKey,
  type Harness,
} from './harness.js';

const insecure = { [oauth.allowInsecureRequests]: true } as const;

describe('OAuth protocol (oauth4webapi against a real server)', () => {
  let h: Harness;
  let as: oauth.AuthorizationServer;
  let basicClient: { id: string; secret: string };
  let postClient: { id: string; secret: string };
  let jwtClient: { id: string; key: ClientKey };
  let loginClient: { id: string; secret: string; key: ClientKey };
  let opaqueClient: { id: string; secret: string };
  let resourceServer: { id: string; secret: string };

  before(async () => {
    h = await startHarness();
    const secretOf = async (o: Parameters<Harness['addClient']>[0]) => {
      const { id, secret } = await h.addClient(o);
      return { id, secret: secret! };
    };
    basicClient = await secretOf({
      id: 'svc-basic',
      grants: ['client_credentials'],
      audience: ['api'],
      scope: ['read', 'write'],
    });
    postClient = await secretOf({
      id: 'svc-post',
      grants: ['client_credentials'],
      audience: ['api'],
      authMethod: 'client_secret_post',
    });
    const key = await makeClientKey();
    await h.addClient({
      id: 'svc-jwt',
      grants: ['client_credentials'],
      audience: ['api'],
      authMethod: 'private_key_jwt',
      jwks: key.jwks,
    });
    jwtClient = { id: 'svc-jwt', key };
    const loginKey = await makeClientKey();
    const login = await secretOf({
      id: 'login',
      grants: [JWT_BEARER_GRANT, 'refresh_token'],
      audience: ['api'],
      scope: ['profile', 'orders'],
      jwks: loginKey.jwks,
      allowedClaims: ['tenant_id', 'email'],
    });
    loginClient = { ...login, key: loginKey };
    opaqueClient = await secretOf({
      id: 'svc-opaque',
      grants: ['client_credentials'],
      audience: ['api'],
      tokenFormat: 'opaque',
    });
    resourceServer = await secretOf({
      id: 'orders-api',
      grants: ['client_credentials'],
      audience: ['api'],
      introspectAudiences: ['api'],
    });

    const issuer = new URL(h.url);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    );
  });
  after(() => h.close());

  async function clientCredentials(client: oauth.Client, auth: oauth.ClientAuth, scope?: string) {
    const params: Record<string, string> = scope ? { scope } : {};
    const res = await oauth.clientCredentialsGrantRequest(as, client, auth, params, insecure);
    return oauth.processClientCredentialsResponse(as, client, res);
  }

  async function verifyWithJose(token: string) {
    const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri!));
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      issuer: as.issuer,
      audience: 'api',
      typ: 'at+jwt',
      requiredClaims: ['jti', 'iat', 'exp', 'sub', 'client_id'],
    });
    return { payload, protectedHeader };
  }

  async function verifyWithTessera(token: string) {
    const jwks = (await (await fetch(as.jwks_uri!)).json()) as JWKS;
    const verifier = createVerifier({
      algorithms: ['ES256'],
      issuer: as.issuer,
      audience: 'api',
      keys: jwks,
      typ: 'at+jwt',
    });
    return (await verifier.verify(token)).payload;
  }

  async function introspect(token: string, hint?: string) {
    const client = { client_id: resourceServer.id };
    const res = await oauth.introspectionRequest(
      as,
      client,
      oauth.ClientSecretBasic(resourceServer.secret),
      token,
      {
        ...insecure,
        ...(hint ? { additionalParameters: { token_type_hint: hint } } : {}),
      },
    );
    return oauth.processIntrospectionResponse(as, client, res);
  }

  it('discovery names the endpoints and methods', () => {
    assert.equal(as.issuer, h.url);
    assert.equal(as.token_endpoint, `${h.url}/oauth/token`);
    assert.equal(as.introspection_endpoint, `${h.url}/oauth/introspect`);
    assert.equal(as.revocation_endpoint, `${h.url}/oauth/revoke`);
    assert.ok(as.token_endpoint_auth_methods_supported?.includes('private_key_jwt'));
  });

  it('client_credentials with client_secret_basic: an RFC 9068 JWT that jose, oauth4webapi and @tessera/jwt accept', async () => {
    const client = { client_id: basicClient.id };
    const body = await clientCredentials(client, oauth.ClientSecretBasic(basicClient.secret), 'read');
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.expires_in, 900);
    assert.equal(body.scope, 'read');
    const { payload, protectedHeader } = await verifyWithJose(body.access_token);
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.sub, basicClient.id);
    assert.equal(payload.client_id, basicClient.id);
    assert.equal(payload.scope, 'read');
    assert.equal(payload.exp! - payload.iat!, 900);
    assert.ok(Buffer.from(payload.jti!, 'base64url').length >= 16);
    const tessera = await verifyWithTessera(body.access_token);
    assert.equal(tessera.jti, payload.jti);
    // oauth4webapi's own RFC 9068 resource-server validation.
    const request = new Request(`${h.url}/resource`, {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    const claims = await oauth.validateJwtAccessToken(as, request, 'api', insecure);
    assert.equal(claims.client_id, basicClient.id);
  });

  it('client_credentials with client_secret_post', async () => {
    const client = { client_id: postClient.id };
    const body = await clientCredentials(client, oauth.ClientSecretPost(postClient.secret));
    const { payload } = await verifyWithJose(body.access_token);
    assert.equal(payload.client_id, postClient.id);
    // The same client may not switch to Basic: its registered method is client_secret_post.
    // 401 with a WWW-Authenticate challenge, which oauth4webapi surfaces as a challenge error.
    await assert.rejects(
      clientCredentials(client, oauth.ClientSecretBasic(postClient.secret)),
      (err: Error) => {
        assert.ok(err instanceof oauth.WWWAuthenticateChallengeError);
        assert.equal(err.status, 401);
        return true;
      },
    );
  });

  it('client_credentials with private_key_jwt; the assertion cannot be replayed', async () => {
    const client = { client_id: jwtClient.id };
    const auth = oauth.PrivateKeyJwt({ key: jwtClient.key.privateKey, kid: jwtClient.key.kid });
    const body = await clientCredentials(client, auth);
    const { payload } = await verifyWithJose(body.access_token);
    assert.equal(payload.sub, jwtClient.id);

    const assertion = await signAssertion(jwtClient.key, {
      iss: jwtClient.id,
      sub: jwtClient.id,
      aud: as.token_endpoint,
    });
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
    assert.equal((await h.post('/oauth/token', form)).status, 200);
    const replay = await h.post('/oauth/token', form);
    assert.equal(replay.status, 401);
    assert.equal(replay.json().error, 'invalid_client');
    assert.ok(replay.headers['www-authenticate']);
  });

  it('jwt-bearer, then refresh rotation and reuse detection', async () => {
    const client = { client_id: loginClient.id };
    const auth = oauth.ClientSecretBasic(loginClient.secret);
    const assertion = await signAssertion(loginClient.key, {
      iss: loginClient.id,
      sub: 'user-42',
      aud: as.token_endpoint,
      tenant_id: 't-7',
      email: 'ada@example.com',
      department: 'not on the allowlist',
    });
    const first = await oauth.processGenericTokenEndpointResponse(
      as,
      client,
      await oauth.genericTokenEndpointRequest(
        as,
        client,
        auth,
        JWT_BEARER_GRANT,
        { assertion, scope: 'orders' },
        insecure,
      ),
    );
    const { payload } = await verifyWithJose(first.access_token);
    assert.equal(payload.sub, 'user-42');
    assert.equal(payload.tenant_id, 't-7');
    assert.equal(payload.email, 'ada@example.com');
    assert.equal(payload.department, undefined);
    assert.equal(payload.scope, 'orders');
    assert.ok(first.refresh_token);

    const refresh = async (token: string) =>
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, auth, token, insecure),
      );
    const second = await refresh(first.refresh_token!);
    assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token);
    const secondClaims = (await verifyWithJose(second.access_token)).payload;
    assert.equal(secondClaims.sub, 'user-42');
    assert.equal(secondClaims.tenant_id, 't-7');
    const third = await refresh(second.refresh_token!);

    // Reuse of a retired token fails and takes the whole family down, the latest token included.
    await assert.rejects(
      refresh(first.refresh_token!),
      (err: oauth.ResponseBodyError) => err.error === 'invalid_grant',
    );
    await assert.rejects(
      refresh(third.refresh_token!),
      (err: oauth.ResponseBodyError) => err.error === 'invalid_grant',
    );
    const audit = await h.server.ctx.store.listAudit(50);
    assert.ok(audit.some((e) => e.type === 'refresh.reuse_detected' && e.data.sub === 'user-42'));
    const metrics = await h.server.ctx.metrics.render();
    assert.match(metrics, /tessera_refresh_reuse_detected_total 1/);
  });

  it('introspection: JWT, opaque, refresh and inactive', async () => {
    const jwt = await clientCredentials(
      { client_id: basicClient.id },
      oauth.ClientSecretBasic(basicClient.secret),
    );
    const jwtInfo = await introspect(jwt.access_token);
    assert.equal(jwtInfo.active, true);
    assert.equal(jwtInfo.client_id, basicClient.id);
    assert.equal(jwtInfo.iss, h.url);
    assert.equal(jwtInfo.token_type, 'Bearer');

    const opaque = await clientCredentials(
      { client_id: opaqueClient.id },
      oauth.ClientSecretBasic(opaqueClient.secret),
    );
    assert.equal(opaque.access_token.split('.').length, 1);
    assert.ok(Buffer.from(opaque.access_token, 'base64url').length >= 32);
    const opaqueInfo = await introspect(opaque.access_token);
    assert.equal(opaqueInfo.active, true);
    assert.equal(opaqueInfo.sub, opaqueClient.id);
    assert.equal(opaqueInfo.aud, 'api');

    const assertion = await signAssertion(loginClient.key, {
      iss: loginClient.id,
      sub: 'user-9',
      aud: h.url,
    });
    const login = { client_id: loginClient.id };
    const loginAuth = oauth.ClientSecretBasic(loginClient.secret);
    const tokens = await oauth.processGenericTokenEndpointResponse(
      as,
      login,
      await oauth.genericTokenEndpointRequest(
        as,
        login,
        loginAuth,
        JWT_BEARER_GRANT,
        { assertion },
        insecure,
      ),
    );
    // A refresh token is visible only to its own client.
    const rtInfo = await oauth.processIntrospectionResponse(
      as,
      login,
      await oauth.introspectionRequest(as, login, loginAuth, tokens.refresh_token!, insecure),
    );
    assert.equal(rtInfo.active, true);
    assert.equal(rtInfo.sub, 'user-9');
    assert.equal(rtInfo.token_type, 'refresh_token');
    assert.deepEqual(await introspect(tokens.refresh_token!, 'refresh_token'), { active: false });

    for (const junk of ['nope', 'a.b.c', jwt.access_token.slice(0, -4) + 'AAAA']) {
      const raw = await h.post(
        '/oauth/introspect',
        { token: junk },
        { authorization: basic(resourceServer.id, resourceServer.secret) },
      );
      assert.equal(raw.status, 200);
      assert.equal(raw.body, '{"active":false}');
    }
  });

  it('revocation: a JWT goes inactive and onto the feed; a refresh token revokes its family; an opaque token is deleted', async () => {
    const auth = oauth.ClientSecretBasic(basicClient.secret);
    const client = { client_id: basicClient.id };
    const jwt = await clientCredentials(client, auth);
    const jti = (await verifyWithJose(jwt.access_token)).payload.jti;
    // Another client's revocation has no effect (and still answers 200).
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(
        as,
        { client_id: resourceServer.id },
        oauth.ClientSecretBasic(resourceServer.secret),
        jwt.access_token,
        insecure,
      ),
    );
    assert.equal((await introspect(jwt.access_token)).active, true);
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, auth, jwt.access_token, insecure),
    );
    assert.deepEqual(await introspect(jwt.access_token), { active: false });

    const feed = await fetch(`${h.url}/oauth/revocations?since=0`, {
      headers: { authorization: basic(resourceServer.id, resourceServer.secret) },
    });
    assert.equal(feed.status, 200);
    assert.equal(feed.headers.get('cache-control'), 'no-store');
    const page = (await feed.json()) as {
      cursor: number;
      entries: { type: string; value: string; seq: number; exp: number }[];
    };
    const entry = page.entries.find((e) => e.value === jti);
    assert.ok(entry);
    assert.equal(entry.type, 'jti');
    assert.equal(page.cursor, page.entries[page.entries.length - 1]!.seq);
    assert.equal((await fetch(`${h.url}/oauth/revocations?since=0`)).status, 401);

    // Refresh token: the family goes, so the refresh token no longer works.
    const login = { client_id: loginClient.id };
    const loginAuth = oauth.ClientSecretBasic(loginClient.secret);
    const assertion = await signAssertion(loginClient.key, {
      iss: loginClient.id,
      sub: 'user-5',
      aud: as.token_endpoint,
    });
    const tokens = await oauth.processGenericTokenEndpointResponse(
      as,
      login,
      await oauth.genericTokenEndpointRequest(
        as,
        login,
        loginAuth,
        JWT_BEARER_GRANT,
        { assertion },
        insecure,
      ),
    );
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, login, loginAuth, tokens.refresh_token!, {
        ...insecure,
        additionalParameters: { token_type_hint: 'refresh_token' },
      }),
    );
    await assert.rejects(
      oauth.processRefreshTokenResponse(
        as,
        login,
        await oauth.refreshTokenGrantRequest(as, login, loginAuth, tokens.refresh_token!, insecure),
      ),
      (err: oauth.ResponseBodyError) => err.error === 'invalid_grant',
    );

    // Opaque token: deleted.
    const opaque = await clientCredentials(
      { client_id: opaqueClient.id },
      oauth.ClientSecretBasic(opaqueClient.secret),
    );
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(
        as,
        { client_id: opaqueClient.id },
        oauth.ClientSecretBasic(opaqueClient.secret),
        opaque.access_token,
        insecure,
      ),
    );
    assert.deepEqual(await introspect(opaque.access_token), { active: false });

    // Unknown tokens: 200 (RFC 7009 §2.2).
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, auth, 'never-issued', insecure),
    );
  });
});
