/**
 * Redirect URI matching (exact; RFC 8252 §7.3 loopback ports) and ID tokens under EdDSA (at_hash with
 * SHA-512).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as jose from 'jose';
import { matchRedirectUri, withQuery } from '../../src/oidc/redirect-uri.js';
import type { Harness } from '../oauth/harness.js';
import {
  addCodeClient,
  authorize,
  codeRequest,
  createUser,
  getCode,
  pkce,
  redeem,
  signIn,
  startOidcHarness,
  type Browser,
} from './helpers.js';

describe('redirect URI matching', () => {
  const registered = [
    'http://127.0.0.1/cb',
    'http://[::1]:8080/cb',
    'http://localhost/cb',
    'https://app.example/cb?x=1',
  ];

  it('exact match, and any port for 127.0.0.1 and [::1] registrations only', () => {
    assert.equal(matchRedirectUri(registered, 'https://app.example/cb?x=1'), 'https://app.example/cb?x=1');
    assert.equal(matchRedirectUri(registered, 'http://127.0.0.1:53012/cb'), 'http://127.0.0.1/cb');
    assert.equal(matchRedirectUri(registered, 'http://[::1]/cb'), 'http://[::1]:8080/cb');
    assert.equal(matchRedirectUri(registered, 'http://[::1]:1/cb'), 'http://[::1]:8080/cb');
  });

  it('no normalisation, no prefixes, no localhost port change, no port out of range', () => {
    for (const uri of [
      'http://localhost:53012/cb',
      'http://127.0.0.1:53012/cb/',
      'http://127.0.0.1:53012/CB',
      'http://127.0.0.1:99999/cb',
      'http://127.0.0.1:053012/cb',
      'http://127.0.0.1:80/cb?x=1',
      'https://127.0.0.1/cb',
      'http://127.0.0.1.evil.example/cb',
      'http://127.0.0.1@evil.example/cb',
      'https://app.example/cb',
      'https://app.example/cb?x=1&y=2',
      'https://APP.example/cb?x=1',
    ])
      assert.equal(matchRedirectUri(registered, uri), undefined, uri);
  });

  it('response parameters are appended to an existing query', () => {
    assert.equal(
      withQuery('https://app.example/cb?x=1', { code: 'c', state: undefined }),
      'https://app.example/cb?x=1&code=c',
    );
    assert.equal(withQuery('com.example.app:/cb', { code: 'a b' }), 'com.example.app:/cb?code=a+b');
  });
});

describe('native app on the loopback interface, EdDSA ID tokens', () => {
  let h: Harness;
  let browser: Browser;

  before(async () => {
    h = await startOidcHarness({ alg: 'EdDSA' });
    browser = await signIn(h, await createUser(h));
  });
  after(() => h.close());

  it('a loopback redirect with the port of the moment; the token request repeats that exact URI', async () => {
    const native = await addCodeClient(h, 'native', {
      authMethod: 'none',
      redirectUris: ['http://127.0.0.1/callback'],
    });
    const uri = 'http://127.0.0.1:49152/callback';
    const { code, verifier } = await getCode(h, native, browser, { redirect_uri: uri });
    const wrongPort = await redeem(h, native, {
      code,
      redirect_uri: 'http://127.0.0.1:49153/callback',
      code_verifier: verifier,
    });
    assert.deepEqual(wrongPort.json(), {
      error: 'invalid_grant',
      error_description: 'redirect_uri does not match the authorization request',
    });
    const localhost = await addCodeClient(h, 'native-localhost', {
      authMethod: 'none',
      redirectUris: ['http://localhost/callback'],
    });
    const res = await authorize(
      h,
      codeRequest(localhost, pkce().challenge, { redirect_uri: 'http://localhost:49152/callback' }),
      browser.cookie,
    );
    assert.equal(res.status, 400);
    assert.equal(res.headers.location, undefined);
  });

  it('EdDSA: the ID token verifies and at_hash is the left half of SHA-512', async () => {
    const web = await addCodeClient(h, 'web-eddsa');
    const { code, verifier, params } = await getCode(h, web, browser);
    const tokens = (
      await redeem(h, web, { code, redirect_uri: params.redirect_uri!, code_verifier: verifier })
    ).json() as { id_token: string; access_token: string };
    const jwks = jose.createRemoteJWKSet(new URL(`${h.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
      issuer: h.url,
      audience: 'web-eddsa',
      typ: 'JWT',
    });
    assert.equal(protectedHeader.alg, 'EdDSA');
    const digest = createHash('sha512').update(tokens.access_token).digest();
    assert.equal(payload.at_hash, digest.subarray(0, 32).toString('base64url'));
  });
});
