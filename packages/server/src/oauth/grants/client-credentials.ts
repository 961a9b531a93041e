import { issueAccessToken } from '../access-token.js';
import { resolveScope } from '../scope.js';
import { tokenResponse, type GrantHandler } from './types.js';

/**
 * RFC 6749 §4.4: the client acts for itself, so `sub` is its id. No refresh token (§4.4.3).
 *
 * @example
 * const body = await clientCredentialsGrant(ctx, client, form);
 */
export const clientCredentialsGrant: GrantHandler = async (ctx, client, form) => {
  const scope = resolveScope(form.get('scope'), client.scope);
  const issued = await issueAccessToken(ctx, { client, sub: client.id, scope });
  return tokenResponse(issued, scope);
};
