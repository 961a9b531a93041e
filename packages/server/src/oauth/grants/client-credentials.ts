import { issueAccessToken } from '../access-token.js';
import { resolveAudience } from '../resource.js';
import { resolveScope } from '../scope.js';
import { tokenResponse, type GrantHandler } from './types.js';

/**
 * RFC 6749 §4.4: the client acts for itself, so `sub` is its id. No refresh token (§4.4.3). One audience
 * (RFC 8707 `resource` or `audience`, see resolveAudience).
 *
 * @example
 * const body = await clientCredentialsGrant(ctx, client, form);
 */
export const clientCredentialsGrant: GrantHandler = async (ctx, client, form, request) => {
  const scope = resolveScope(form.get('scope'), client.scope);
  const audience = resolveAudience(ctx, client, form);
  // RFC 9449 §5: a proof with the request binds the token to its key.
  const issued = await issueAccessToken(ctx, { client, sub: client.id, scope, audience, cnf: request.dpop });
  return tokenResponse(issued, scope);
};
