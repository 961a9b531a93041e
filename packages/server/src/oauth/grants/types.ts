import type { ServerContext } from '../../server/context.js';
import type { ClientRecord } from '../../store/types.js';
import type { FormParams } from '../form.js';
import type { IssuedAccessToken } from '../access-token.js';

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  /** OIDC Core §3.1.3.3: when `openid` was granted in the authorization code flow. */
  id_token?: string;
}

/** One grant type: given an authenticated client allowed to use it, answer the token request. */
export type GrantHandler = (
  ctx: ServerContext,
  client: ClientRecord,
  form: FormParams,
) => Promise<TokenResponse>;

/** Build the wire response from an issued token. */
export function tokenResponse(
  issued: IssuedAccessToken,
  scope: string[],
  refreshToken?: string,
): TokenResponse {
  const body: TokenResponse = {
    access_token: issued.token,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
  };
  if (scope.length > 0) body.scope = scope.join(' ');
  if (refreshToken !== undefined) body.refresh_token = refreshToken;
  return body;
}
