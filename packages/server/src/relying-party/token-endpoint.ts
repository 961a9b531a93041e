import { basicAuthorization, type Fetcher } from '@tessera/jwt';
import { RelyingPartyError } from './errors.js';
import { callProvider, jsonObject } from './http.js';
import type { TokenSet } from './types.js';

/** What a token request needs: where, who we are, and the grant's parameters. */
export interface TokenRequest {
  fetcher: Fetcher;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  params: Record<string, string>;
  /** Milliseconds since the epoch, to turn `expires_in` into `expiresAt`. */
  now: number;
}

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/**
 * POST a grant to the provider's token endpoint with `client_secret_basic` (RFC 6749 §2.3.1) and read the
 * answer (RFC 6749 §5.1). A 4xx is the grant refused (used or expired code, revoked refresh token); a 5xx or
 * a body that is not a token response is the provider unavailable. The provider's `error_description` is not
 * repeated: it is the provider's text, not ours to show.
 *
 * @example const tokens = await requestTokens({ fetcher, tokenEndpoint, clientId, clientSecret, params, now });
 */
export async function requestTokens(request: TokenRequest): Promise<TokenSet> {
  const res = await callProvider(request.fetcher, new URL(request.tokenEndpoint), {
    method: 'POST',
    headers: {
      authorization: basicAuthorization(request.clientId, request.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(request.params).toString(),
  });
  const body = jsonObject(res);
  if (res.status >= 400 && res.status < 500) {
    const error =
      typeof body?.error === 'string' && /^[\x21-\x7e]{1,64}$/.test(body.error) ? body.error : 'error';
    throw new RelyingPartyError(
      'ERR_UPSTREAM_GRANT_REFUSED',
      `the provider's token endpoint refused the grant (${error})`,
    );
  }
  if (res.status !== 200 || body === undefined)
    throw new RelyingPartyError(
      'ERR_UPSTREAM_UNAVAILABLE',
      `the provider's token endpoint answered HTTP ${res.status}`,
    );
  const accessToken = optionalString(body.access_token);
  const tokenType = optionalString(body.token_type);
  // Only bearer tokens: a DPoP-bound token would need our proof on every use (RFC 9449), which we never asked for.
  if (accessToken === undefined || accessToken === '' || tokenType?.toLowerCase() !== 'bearer')
    throw new RelyingPartyError(
      'ERR_UPSTREAM_UNAVAILABLE',
      "the provider's token response has no bearer access token",
    );
  const tokens: TokenSet = { accessToken, tokenType: 'Bearer' };
  const expiresIn = body.expires_in;
  if (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0)
    tokens.expiresAt = request.now + Math.floor(expiresIn) * 1000;
  const refreshToken = optionalString(body.refresh_token);
  if (refreshToken !== undefined) tokens.refreshToken = refreshToken;
  const idToken = optionalString(body.id_token);
  if (idToken !== undefined) tokens.idToken = idToken;
  const scope = optionalString(body.scope);
  if (scope !== undefined) tokens.scope = scope;
  return tokens;
}
