import { createHash, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../oauth/crypto.js';
import { RelyingPartyError } from './errors.js';
import { fetcherOf } from './http.js';
import { createIDTokenVerifier } from './id-token.js';
import { requestTokens } from './token-endpoint.js';
import type { PendingSignIn, RelyingParty, RelyingPartyOptions } from './types.js';

/** Parameters the flow sets itself; `extra` may not override them (a caller's typo must not drop PKCE). */
const RESERVED = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'grant_type',
  'code',
  'code_verifier',
  'refresh_token',
]);

function checkExtra(extra: Record<string, string> | undefined): Record<string, string> {
  for (const name of Object.keys(extra ?? {}))
    if (RESERVED.has(name)) throw new TypeError(`"${name}" is set by the relying party itself`);
  return extra ?? {};
}

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * A relying party for one OpenID Provider: authorization code with PKCE S256 (RFC 7636), `state`
 * (RFC 6749 §10.12) and `nonce` (OIDC Core §3.1.2.1), `client_secret_basic`, ID tokens verified by
 * `@tessera/jwt`. Options are checked here once: a scope without `openid` or a provider with no usable ID
 * token algorithm is a construction error, not a per-request surprise.
 *
 * @example
 * const rp = createRelyingParty({ metadata: await discoverProvider(issuer), clientId, clientSecret, redirectUri });
 * const { url, pending } = rp.start();                     // keep `pending`, send the browser to `url`
 * const { claims, tokens } = await rp.finish(callbackQuery, pending);
 */
export function createRelyingParty(options: RelyingPartyOptions): RelyingParty {
  const { metadata, clientId, clientSecret, redirectUri } = options;
  const scope = options.scope ?? 'openid';
  if (!scope.split(' ').includes('openid')) throw new TypeError('"scope" must include openid');
  const fetcher = fetcherOf(options.fetcher);
  const clock = options.clock ?? Date.now;
  const idTokens = createIDTokenVerifier({
    metadata,
    clientId,
    fetcher,
    clock,
    clockTolerance: options.clockTolerance ?? 60,
  });
  const tokenRequest = (params: Record<string, string>) =>
    requestTokens({
      fetcher,
      tokenEndpoint: metadata.token_endpoint,
      clientId,
      clientSecret,
      params,
      now: clock(),
    });

  return {
    metadata,

    start(extra) {
      const pending: PendingSignIn = {
        state: randomToken(32),
        nonce: randomToken(32),
        codeVerifier: randomToken(32),
        createdAt: clock(),
      };
      const url = new URL(metadata.authorization_endpoint);
      const challenge = createHash('sha256').update(pending.codeVerifier).digest('base64url');
      const params = {
        ...checkExtra(extra),
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        scope,
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      };
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      return { url, pending };
    },

    async finish(callback, pending, extra) {
      // State first: until it matches, nothing in this callback is known to answer our request (CSRF).
      const state = callback.getAll('state');
      if (state.length !== 1 || !sameText(state[0]!, pending.state))
        throw new RelyingPartyError(
          'ERR_UPSTREAM_STATE_MISMATCH',
          'the sign-in response does not match this sign-in',
        );
      // RFC 9207 §2.4: required when advertised, and compared whenever present (mix-up attack).
      const iss = callback.getAll('iss');
      if (
        iss.length > 1 ||
        (iss.length === 0 && metadata.authorization_response_iss_parameter_supported === true)
      )
        throw new RelyingPartyError(
          'ERR_UPSTREAM_ISSUER_MISMATCH',
          'the sign-in response does not name its issuer',
        );
      if (iss.length === 1 && iss[0] !== metadata.issuer)
        throw new RelyingPartyError(
          'ERR_UPSTREAM_ISSUER_MISMATCH',
          'the sign-in response comes from another issuer',
        );
      if (callback.has('error'))
        throw new RelyingPartyError('ERR_UPSTREAM_DENIED', 'the identity provider did not sign the user in');
      const code = callback.getAll('code');
      if (code.length !== 1 || code[0] === '')
        throw new RelyingPartyError('ERR_UPSTREAM_DENIED', 'the sign-in response carries no code');
      const tokens = await tokenRequest({
        ...checkExtra(extra),
        grant_type: 'authorization_code',
        code: code[0]!,
        redirect_uri: redirectUri,
        code_verifier: pending.codeVerifier,
      });
      if (tokens.idToken === undefined)
        throw new RelyingPartyError(
          'ERR_UPSTREAM_ID_TOKEN_INVALID',
          'the identity provider returned no ID token',
        );
      const claims = await idTokens.verify(tokens.idToken, {
        nonce: pending.nonce,
        accessToken: tokens.accessToken,
      });
      return { tokens, claims };
    },

    async refresh(refreshToken, extra) {
      const tokens = await tokenRequest({
        ...checkExtra(extra),
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      });
      if (tokens.idToken === undefined) return tokens;
      const claims = await idTokens.verify(tokens.idToken, { accessToken: tokens.accessToken });
      return { ...tokens, claims };
    },

    endSessionUrl({ idTokenHint, postLogoutRedirectUri, state }) {
      if (metadata.end_session_endpoint === undefined) return undefined;
      const url = new URL(metadata.end_session_endpoint);
      url.searchParams.set('client_id', clientId);
      if (idTokenHint !== undefined) url.searchParams.set('id_token_hint', idTokenHint);
      if (postLogoutRedirectUri !== undefined)
        url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
      if (state !== undefined) url.searchParams.set('state', state);
      return url;
    },

    close: () => idTokens.close(),
  };
}
