import type { ServerContext } from '../../server/context.js';
import type { ClientRecord } from '../../store/types.js';
import type { FormParams } from '../form.js';
import type { IssuedAccessToken } from '../access-token.js';

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  access_token: string;
  /** `DPoP` when the token is bound to a proof key (RFC 9449 §5), otherwise `Bearer`. */
  token_type: 'Bearer' | 'DPoP';
  /** RFC 8693 §2.2.1: the token exchange grant says what kind of token it returned. */
  issued_token_type?: string;
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  /** OIDC Core §3.1.3.3: when `openid` was granted in the authorization code flow. */
  id_token?: string;
}

/**
 * What the token endpoint learned about a request besides its form, shared by every grant.
 * `dpop`: the thumbprint (RFC 7638) of the key of a valid DPoP proof sent with it (RFC 9449 §5): the
 * grant binds the tokens it issues to that key.
 */
export interface GrantRequest {
  dpop?: { jkt: string };
}

/** One grant type: given an authenticated client allowed to use it, answer the token request. */
export type GrantHandler = (
  ctx: ServerContext,
  client: ClientRecord,
  form: FormParams,
  request: GrantRequest,
) => Promise<TokenResponse>;

/** Build the wire response from an issued token. */
export function tokenResponse(
  issued: IssuedAccessToken,
  scope: string[],
  refreshToken?: string,
): TokenResponse {
  const body: TokenResponse = {
    access_token: issued.token,
    token_type: issued.cnf !== undefined ? 'DPoP' : 'Bearer',
    expires_in: issued.expiresIn,
  };
  if (scope.length > 0) body.scope = scope.join(' ');
  if (refreshToken !== undefined) body.refresh_token = refreshToken;
  return body;
}
