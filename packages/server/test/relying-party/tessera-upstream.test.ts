/**
 * The relying party against a real provider: Tessera itself over loopback HTTP (discovery, the code flow
 * through a signed-in browser session, refresh, RFC 9207 `iss`, single-use codes, logout URL).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRelyingParty, discoverProvider, RelyingPartyError } from '../../src/relying-party/index.js';
import type { RelyingParty } from '../../src/relying-party/index.js';
import type { Harness } from '../oauth/harness.js';
import { addCodeClient, authorize, createUser, signIn, startOidcHarness } from '../oidc/helpers.js';

const CALLBACK = 'http://127.0.0.1:8123/.tessera/callback';

describe('relying party against Tessera', () => {
  let h: Harness;
  let rp: RelyingParty;
  let cookie: string;
  let userId: string;

  before(async () => {
    h = await startOidcHarness();
    const client = await addCodeClient(h, 'gate', { redirectUris: [CALLBACK] });
    const user = await createUser(h);
    userId = user.id;
    cookie = (await signIn(h, user)).cookie;
    rp = createRelyingParty({
      metadata: await discoverProvider(h.url),
      clientId: 'gate',
      clientSecret: client.secret!,
      redirectUri: CALLBACK,
      scope: 'openid email',
    });
  });
  after(async () => {
    rp.close();
    await h.close();
  });

  /** The browser's trip: the authorization URL with the session cookie, back with the callback query. */
  async function callbackFor(url: URL): Promise<URLSearchParams> {
    const res = await authorize(h, url.search.slice(1), cookie);
    assert.equal(res.status, 302, res.body);
    const back = new URL(res.location!);
    assert.equal(`${back.origin}${back.pathname}`, CALLBACK);
    return back.searchParams;
  }

  it('discovers the metadata, signs in with PKCE and verifies the ID token', async () => {
    assert.equal(rp.metadata.authorization_response_iss_parameter_supported, true);
    const { url, pending } = rp.start();
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    const { claims, tokens } = await rp.finish(await callbackFor(url), pending);
    assert.equal(claims.sub, userId);
    assert.equal(claims.nonce, pending.nonce);
    assert.equal(claims.aud, 'gate');
    assert.ok(tokens.refreshToken !== undefined && tokens.expiresAt! > Date.now());
  });

  it('refreshes, and a code is good for one sign-in only', async () => {
    const { url, pending } = rp.start();
    const callback = await callbackFor(url);
    const first = await rp.finish(callback, pending);
    const refreshed = await rp.refresh(first.tokens.refreshToken!);
    assert.notEqual(refreshed.accessToken, first.tokens.accessToken);
    await assert.rejects(
      rp.finish(callback, pending),
      (err: unknown) => err instanceof RelyingPartyError && err.code === 'ERR_UPSTREAM_GRANT_REFUSED',
    );
  });

  it("refuses a code delivered with another sign-in's state and PKCE verifier", async () => {
    const one = rp.start();
    const two = rp.start();
    const callback = await callbackFor(one.url);
    await assert.rejects(
      rp.finish(callback, two.pending),
      (err: unknown) => err instanceof RelyingPartyError && err.code === 'ERR_UPSTREAM_STATE_MISMATCH',
    );
    // Even with the state swapped in, the code is bound to the first verifier (RFC 7636 §4.6).
    callback.set('state', two.pending.state);
    await assert.rejects(
      rp.finish(callback, two.pending),
      (err: unknown) => err instanceof RelyingPartyError && err.code === 'ERR_UPSTREAM_GRANT_REFUSED',
    );
  });

  it('builds the logout URL from end_session_endpoint', () => {
    const url = rp.endSessionUrl({ idTokenHint: 'x.y.z', postLogoutRedirectUri: 'http://127.0.0.1:8123/' })!;
    assert.equal(url.origin + url.pathname, rp.metadata.end_session_endpoint);
    assert.equal(url.searchParams.get('id_token_hint'), 'x.y.z');
    assert.equal(url.searchParams.get('client_id'), 'gate');
  });

  it('refuses extra parameters that would override the flow', () => {
    assert.throws(() => rp.start({ code_challenge_method: 'plain' }), TypeError);
  });
});
