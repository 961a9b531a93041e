import { unauthorizedClient, unsupportedGrantType } from '../../server/errors.js';
import type { ServerContext } from '../../server/context.js';
import type { ClientRecord } from '../../store/types.js';
import type { FormParams } from '../form.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { JWT_BEARER_GRANT, jwtBearerGrant } from './jwt-bearer.js';
import { refreshTokenGrant } from './refresh-token.js';
import { authorizationCodeGrant } from './authorization-code.js';
import { TOKEN_EXCHANGE_GRANT, tokenExchangeGrant } from './token-exchange.js';
import type { GrantHandler, GrantRequest, TokenResponse } from './types.js';

/** The grant types the token endpoint serves. */
export const GRANT_TYPES = [
  'client_credentials',
  JWT_BEARER_GRANT,
  'refresh_token',
  'authorization_code',
  TOKEN_EXCHANGE_GRANT,
] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

const HANDLERS: Record<GrantType, GrantHandler> = {
  client_credentials: clientCredentialsGrant,
  [JWT_BEARER_GRANT]: jwtBearerGrant,
  refresh_token: refreshTokenGrant,
  authorization_code: authorizationCodeGrant,
  [TOKEN_EXCHANGE_GRANT]: tokenExchangeGrant,
};

/** The request's grant_type: missing is invalid_request, one we do not serve is unsupported_grant_type. */
export function supportedGrantType(form: FormParams): GrantType {
  const grantType = form.require('grant_type');
  if (!(GRANT_TYPES as readonly string[]).includes(grantType)) {
    throw unsupportedGrantType('unsupported grant_type');
  }
  return grantType as GrantType;
}

/**
 * Grants a public client (`authMethod: 'none'`) may use: it cannot keep a secret, so it cannot act for
 * itself (client_credentials, RFC 6749 §4.4) or vouch for assertions; the code grant is safe for it because
 * PKCE binds the code to the app instance (RFC 7636, RFC 9700 §2.1.1).
 */
const PUBLIC_CLIENT_GRANTS: ReadonlySet<string> = new Set(['authorization_code', 'refresh_token']);

/** A client may use only the grants it was registered with (RFC 6749 §5.2 unauthorized_client). */
export function checkGrantAllowed(client: ClientRecord, grantType: GrantType): void {
  if (!client.grants.includes(grantType))
    throw unauthorizedClient('the client is not allowed to use this grant type');
  if (client.authMethod === 'none' && !PUBLIC_CLIENT_GRANTS.has(grantType))
    throw unauthorizedClient('a public client cannot use this grant type');
}

/**
 * Answer a token request with the grant's handler.
 *
 * @example
 * const body = await runGrant(ctx, 'client_credentials', client, form);
 */
export function runGrant(
  ctx: ServerContext,
  grantType: GrantType,
  client: ClientRecord,
  form: FormParams,
  request: GrantRequest = {},
): Promise<TokenResponse> {
  return HANDLERS[grantType](ctx, client, form, request);
}

export { JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT };
export type { GrantRequest, TokenResponse };
