/**
 * DPoP end to end with a real client library: oauth4webapi's DPoP support against a real `tessera` server
 * on 127.0.0.1:0 (RFC 9449): client_credentials, the authorization code flow with `dpop_jkt` and a public
 * client's refresh, userinfo with a proof, and the nonce dance (`use_dpop_nonce`, retry). Sign-in is played
 * by a session made in the store.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { startHarness, type Harness } from '../oauth/harness.js';
import {
  INSECURE,
  addCodeClient,
  createUser,
  discover,
  signIn,
  type Browser,
  type CodeClient,
} from '../oidc/helpers.js';

const NO_LIMITS = { 'rate-limit-client': '0', 'rate-limit-ip': '0' };

async function thumbprint(keyPair: oauth.CryptoKeyPair): Promise<string> {
  return jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey));
}

/** Retry once on use_dpop_nonce: oauth4webapi's handle has stored the nonce from the error response. */
async function withNonceRetry<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return attempt();
  }
}

for (const nonces of [false, true]) {
  describe(`oauth4webapi DPoP against tessera (--dpop-nonce ${nonces})`, () => {
    let h: Harness;
    let as: oauth.AuthorizationServer;
    let spa: CodeClient;
    let browser: Browser;

    before(async () => {
      h = await startHarness({ ...NO_LIMITS, 'dpop-nonce': String(nonces) });
      as = await discover(h);
      spa = await addCodeClient(h, 'spa', { authMethod: 'none' });
      browser = await signIn(h, await createUser(h, { name: 'Grace Hopper' }));
    });
    after(() => h.close());

    it('publishes dpop_signing_alg_values_supported (asymmetric only)', () => {
      const algs = as.dpop_signing_alg_values_supported;
      assert.ok(Array.isArray(algs) && algs.includes('ES256') && algs.includes('EdDSA'));
      assert.ok(!algs.some((a) => a.startsWith('HS') || a === 'none'));
    });

    it('client_credentials: a DPoP-bound token whose cnf.jkt is the client key', async () => {
      const { secret } = await h.addClient({ id: `svc-${nonces}`, grants: ['client_credentials'] });
      const client: oauth.Client = { client_id: `svc-${nonces}` };
      const keyPair = await oauth.generateKeyPair('ES256');
      const DPoP = oauth.DPoP(client, keyPair);
      const result = await withNonceRetry(async () =>
        oauth.processClientCredentialsResponse(
          as,
          client,
          await oauth.clientCredentialsGrantRequest(
            as,
            client,
            oauth.ClientSecretBasic(secret!),
            new URLSearchParams(),
            { ...INSECURE, DPoP },
          ),
        ),
      );
      assert.equal(result.token_type, 'dpop');
      assert.deepEqual(jose.decodeJwt(result.access_token).cnf, { jkt: await thumbprint(keyPair) });
      // The same key makes a second token: a new proof (new jti) each time.
      const again = await withNonceRetry(async () =>
        oauth.processClientCredentialsResponse(
          as,
          client,
          await oauth.clientCredentialsGrantRequest(
            as,
            client,
            oauth.ClientSecretBasic(secret!),
            new URLSearchParams(),
            { ...INSECURE, DPoP },
          ),
        ),
      );
      assert.equal(again.token_type, 'dpop');
    });

    it('authorization code with dpop_jkt, userinfo with a proof, and refresh of the bound public client', async () => {
      const client: oauth.Client = { client_id: 'spa' };
      const keyPair = await oauth.generateKeyPair('ES256');
      const DPoP = oauth.DPoP(client, keyPair);
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const nonce = oauth.generateRandomNonce();
      const url = new URL(as.authorization_endpoint!);
      url.searchParams.set('client_id', 'spa');
      url.searchParams.set('redirect_uri', spa.redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', 'openid profile');
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
      url.searchParams.set('code_challenge_method', 'S256');
      url.searchParams.set('state', state);
      url.searchParams.set('nonce', nonce);
      url.searchParams.set('dpop_jkt', await DPoP.calculateThumbprint());
      const res = await fetch(url, { headers: { cookie: browser.cookie }, redirect: 'manual' });
      assert.equal(res.status, 302);
      const params = oauth.validateAuthResponse(as, client, new URL(res.headers.get('location')!), state);

      const tokens = await withNonceRetry(async () =>
        oauth.processAuthorizationCodeResponse(
          as,
          client,
          await oauth.authorizationCodeGrantRequest(
            as,
            client,
            oauth.None(),
            params,
            spa.redirectUri,
            verifier,
            {
              ...INSECURE,
              DPoP,
            },
          ),
          { expectedNonce: nonce },
        ),
      );
      assert.equal(tokens.token_type, 'dpop');
      const jkt = await thumbprint(keyPair);
      assert.deepEqual(jose.decodeJwt(tokens.access_token).cnf, { jkt });

      const userinfo = await withNonceRetry(async () =>
        oauth.processUserInfoResponse(
          as,
          client,
          browser.user.id,
          await oauth.userInfoRequest(as, client, tokens.access_token, { ...INSECURE, DPoP }),
        ),
      );
      assert.equal(userinfo.sub, browser.user.id);
      assert.equal(userinfo.name, 'Grace Hopper');

      const refreshed = await withNonceRetry(async () =>
        oauth.processRefreshTokenResponse(
          as,
          client,
          await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, {
            ...INSECURE,
            DPoP,
          }),
        ),
      );
      assert.equal(refreshed.token_type, 'dpop');
      assert.deepEqual(jose.decodeJwt(refreshed.access_token).cnf, { jkt });

      // The same refresh token family, refreshed by a client with another key: refused.
      const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
      await assert.rejects(
        withNonceRetry(async () =>
          oauth.processRefreshTokenResponse(
            as,
            client,
            await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token!, {
              ...INSECURE,
              DPoP: thief,
            }),
          ),
        ),
        (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant',
      );
    });

    it('PAR with a DPoP header (RFC 9449 §10.1): the code is bound to the proof key; another key cannot redeem it', async () => {
      const web = await addCodeClient(h, `web-par-${nonces}`);
      const client: oauth.Client = { client_id: web.record.id };
      const auth = oauth.ClientSecretBasic(web.secret!);
      const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
      const push = async (dpop: oauth.DPoPHandle, extra: Record<string, string> = {}) => {
        const verifier = oauth.generateRandomCodeVerifier();
        const params = new URLSearchParams({
          client_id: web.record.id,
          redirect_uri: web.redirectUri,
          response_type: 'code',
          scope: 'openid',
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state: 'st',
          ...extra,
        });
        const pushed = await withNonceRetry(async () =>
          oauth.processPushedAuthorizationResponse(
            as,
            client,
            await oauth.pushedAuthorizationRequest(as, client, auth, params, { ...INSECURE, DPoP: dpop }),
          ),
        );
        const url = new URL(as.authorization_endpoint!);
        url.searchParams.set('client_id', web.record.id);
        url.searchParams.set('request_uri', pushed.request_uri);
        const res = await fetch(url, { headers: { cookie: browser.cookie }, redirect: 'manual' });
        assert.equal(res.status, 302);
        return {
          verifier,
          params: oauth.validateAuthResponse(as, client, new URL(res.headers.get('location')!), 'st'),
        };
      };
      const redeem = async (code: { verifier: string; params: URLSearchParams }, dpop: oauth.DPoPHandle) =>
        withNonceRetry(async () =>
          oauth.processAuthorizationCodeResponse(
            as,
            client,
            await oauth.authorizationCodeGrantRequest(
              as,
              client,
              auth,
              code.params,
              web.redirectUri,
              code.verifier,
              {
                ...INSECURE,
                DPoP: dpop,
              },
            ),
          ),
        );

      const tokens = await redeem(await push(DPoP), DPoP);
      assert.equal(tokens.token_type, 'dpop');

      const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
      await assert.rejects(
        redeem(await push(DPoP), thief),
        (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant',
      );

      // dpop_jkt naming another key than the proof's: the push itself is refused.
      await assert.rejects(
        push(DPoP, { dpop_jkt: await thief.calculateThumbprint() }),
        (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_dpop_proof',
      );
    });

    it('a bearer token from the same server still works at userinfo as Bearer (DPoP is opt-in per request)', async () => {
      const web = await addCodeClient(h, `web-${nonces}`);
      const client: oauth.Client = { client_id: web.record.id };
      const verifier = oauth.generateRandomCodeVerifier();
      const url = new URL(as.authorization_endpoint!);
      url.searchParams.set('client_id', web.record.id);
      url.searchParams.set('redirect_uri', web.redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', 'openid');
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
      url.searchParams.set('code_challenge_method', 'S256');
      const res = await fetch(url, { headers: { cookie: browser.cookie }, redirect: 'manual' });
      const params = oauth.validateAuthResponse(as, client, new URL(res.headers.get('location')!));
      const tokens = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(
          as,
          client,
          oauth.ClientSecretBasic(web.secret!),
          params,
          web.redirectUri,
          verifier,
          INSECURE,
        ),
      );
      assert.equal(tokens.token_type, 'bearer');
      const info = await fetch(as.userinfo_endpoint!, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(info.status, 200);
    });
  });
}
