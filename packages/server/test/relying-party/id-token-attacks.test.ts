/**
 * The relying party against a hostile upstream: every ID token and callback attack is refused with its code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import {
  createRelyingParty,
  discoverProvider,
  RelyingPartyError,
  type RelyingParty,
} from '../../src/relying-party/index.js';
import { startForgedProvider, type ForgedProvider } from './forged-provider.js';

const CLIENT_ID = 'rp-client';
const CALLBACK = 'http://127.0.0.1:9/callback';

let upstream: ForgedProvider;
const parties: RelyingParty[] = [];

async function party(): Promise<RelyingParty> {
  const rp = createRelyingParty({
    metadata: await discoverProvider(upstream.issuer),
    clientId: CLIENT_ID,
    clientSecret: 'rp-secret',
    redirectUri: CALLBACK,
    scope: 'openid email',
  });
  parties.push(rp);
  return rp;
}

/** Start a sign-in and finish it with a well-formed callback; the upstream answers as the test set it. */
async function signIn(rp: RelyingParty, callback?: (state: string) => Record<string, string>) {
  const { url, pending } = rp.start();
  upstream.authorized(url);
  const params = callback?.(pending.state) ?? { code: 'c-1', state: pending.state, iss: upstream.issuer };
  return rp.finish(new URLSearchParams(params), pending);
}

/** Rejected with `code`, and (when given) a message naming the very check that failed. */
const rejectsWith = (promise: Promise<unknown>, code: string, reason?: RegExp) =>
  assert.rejects(
    promise,
    (err: unknown) =>
      err instanceof RelyingPartyError &&
      err.code === code &&
      (reason === undefined || reason.test(err.message)),
  );

describe('relying party: attacks from the upstream', () => {
  before(async () => {
    upstream = await startForgedProvider(CLIENT_ID);
  });
  after(async () => {
    for (const rp of parties) rp.close();
    await upstream.close();
  });

  it('accepts a well-formed sign-in, sending PKCE and the client secret', async () => {
    upstream.idToken = (nonce) => upstream.sign({ nonce, email: 'a@example.com' });
    const { claims, tokens } = await signIn(await party());
    assert.equal(claims.sub, 'upstream-user');
    assert.equal(tokens.accessToken, 'at-1');
    assert.match(upstream.lastTokenRequest!.get('code_verifier')!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(upstream.lastTokenRequest!.get('redirect_uri'), CALLBACK);
  });

  it('refuses an ID token for another audience', async () => {
    upstream.idToken = (nonce) => upstream.sign({ nonce, aud: 'another-client' });
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /ERR_JWT_CLAIM_INVALID/);
  });

  it('refuses an ID token with another nonce (replayed from another sign-in)', async () => {
    upstream.idToken = () => upstream.sign({ nonce: 'someone-elses-nonce' });
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /nonce/);
  });

  it('refuses an ID token without a nonce', async () => {
    upstream.idToken = () => upstream.sign({});
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /nonce/);
  });

  it('refuses an ID token from another issuer (mix-up)', async () => {
    upstream.idToken = (nonce) => upstream.sign({ nonce, iss: 'https://evil.example' });
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /ERR_JWT_CLAIM_INVALID/);
  });

  it('refuses an expired ID token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    upstream.idToken = (nonce) => upstream.sign({ nonce, iat: past - 300, exp: past });
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /ERR_JWT_EXPIRED/);
  });

  it('refuses an unsigned ID token (alg none)', async () => {
    upstream.idToken = async (nonce) => {
      const now = Math.floor(Date.now() / 1000);
      return new jose.UnsecuredJWT({ nonce, sub: 'upstream-user', iat: now })
        .setIssuer(upstream.issuer)
        .setAudience(CLIENT_ID)
        .setExpirationTime(now + 300)
        .encode();
    };
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /\(ERR_/);
  });

  it('refuses an ID token signed by a key not in the upstream JWKS', async () => {
    const { privateKey } = await jose.generateKeyPair('ES256');
    upstream.idToken = (nonce) => upstream.sign({ nonce }, {}, privateKey);
    await rejectsWith(
      signIn(await party()),
      'ERR_UPSTREAM_ID_TOKEN_INVALID',
      /ERR_JWS_SIGNATURE_VERIFICATION_FAILED|ERR_JWKS_NO_MATCHING_KEY/,
    );
  });

  it('refuses an HS256 ID token keyed with the client secret, even when the provider lists HS256', async () => {
    upstream.metadata.id_token_signing_alg_values_supported = ['ES256', 'HS256'];
    upstream.idToken = (nonce) =>
      new jose.SignJWT({ nonce, sub: 'upstream-user' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(upstream.issuer)
        .setAudience(CLIENT_ID)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('rp-secret'));
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /\(ERR_/);
    upstream.metadata.id_token_signing_alg_values_supported = ['ES256'];
  });

  it('refuses an access token offered as the ID token (typ at+jwt)', async () => {
    upstream.idToken = (nonce) => upstream.sign({ nonce }, { typ: 'at+jwt' });
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /access token/);
  });

  it('refuses an ID token for several audiences whose azp is another client', async () => {
    upstream.idToken = (nonce) => upstream.sign({ nonce, aud: [CLIENT_ID, 'other'], azp: 'other' });
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /azp/);
  });

  it('refuses an ID token whose at_hash does not match the access token', async () => {
    upstream.idToken = (nonce) => upstream.sign({ nonce, at_hash: 'AAAAAAAAAAAAAAAAAAAAAA' });
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_ID_TOKEN_INVALID', /at_hash/);
  });

  it('refuses a callback whose state is not ours (CSRF) before calling the token endpoint', async () => {
    upstream.lastTokenRequest = undefined;
    upstream.idToken = (nonce) => upstream.sign({ nonce });
    await rejectsWith(
      signIn(await party(), () => ({ code: 'c-1', state: 'forged', iss: upstream.issuer })),
      'ERR_UPSTREAM_STATE_MISMATCH',
    );
    assert.equal(upstream.lastTokenRequest, undefined);
  });

  it('refuses a callback naming another issuer, or none when the provider advertises RFC 9207', async () => {
    const rp = await party();
    await rejectsWith(
      signIn(rp, (state) => ({ code: 'c-1', state, iss: 'https://evil.example' })),
      'ERR_UPSTREAM_ISSUER_MISMATCH',
    );
    await rejectsWith(
      signIn(rp, (state) => ({ code: 'c-1', state })),
      'ERR_UPSTREAM_ISSUER_MISMATCH',
    );
  });

  it("turns the provider's error into ERR_UPSTREAM_DENIED without repeating its text", async () => {
    const err = await signIn(await party(), (state) => ({
      error: 'access_denied',
      error_description: '<script>alert(1)</script>',
      state,
      iss: upstream.issuer,
    })).catch((e: unknown) => e);
    assert.ok(err instanceof RelyingPartyError && err.code === 'ERR_UPSTREAM_DENIED');
    assert.doesNotMatch(err.message, /script/);
  });

  it('reports a refused code as ERR_UPSTREAM_GRANT_REFUSED', async () => {
    upstream.tokenResponse = { status: 400, body: { error: 'invalid_grant' } };
    await rejectsWith(signIn(await party()), 'ERR_UPSTREAM_GRANT_REFUSED');
    upstream.tokenResponse = { status: 200 };
  });

  it('refuses metadata naming another issuer, without PKCE S256, or with only symmetric ID token algorithms', async () => {
    const good = structuredClone(upstream.metadata);
    try {
      upstream.metadata.issuer = 'https://evil.example';
      await rejectsWith(discoverProvider(upstream.issuer), 'ERR_UPSTREAM_METADATA_INVALID');
      upstream.metadata = { ...good, code_challenge_methods_supported: ['plain'] };
      await rejectsWith(discoverProvider(upstream.issuer), 'ERR_UPSTREAM_METADATA_INVALID');
      upstream.metadata = { ...good, id_token_signing_alg_values_supported: ['HS256', 'none'] };
      const metadata = await discoverProvider(upstream.issuer);
      assert.throws(
        () => createRelyingParty({ metadata, clientId: CLIENT_ID, clientSecret: 's', redirectUri: CALLBACK }),
        (err: unknown) => err instanceof RelyingPartyError && err.code === 'ERR_UPSTREAM_METADATA_INVALID',
      );
      upstream.metadata = { ...good, token_endpoint: 'http://idp.example/token' };
      await rejectsWith(discoverProvider(upstream.issuer), 'ERR_UPSTREAM_METADATA_INVALID');
    } finally {
      upstream.metadata = good;
    }
  });

  it('reports an unreachable provider as ERR_UPSTREAM_UNAVAILABLE', async () => {
    await rejectsWith(discoverProvider('http://127.0.0.1:9'), 'ERR_UPSTREAM_UNAVAILABLE');
  });
});
