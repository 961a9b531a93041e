import { invalidGrant } from '../../server/errors.js';
import type { ClientRecord } from '../../store/types.js';
import { issueAccessToken } from '../access-token.js';
import { AssertionRejected, verifyAssertion } from '../assertion.js';
import { startRefreshFamily } from '../refresh-token.js';
import { resolveAudience } from '../resource.js';
import { resolveScope } from '../scope.js';
import { tokenResponse, type GrantHandler } from './types.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Claims every assertion carries for its own validation; they never pass into the access token. */
const ASSERTION_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);

/**
 * The assertion's extra claims that the client may pass through (its `allowedClaims`); anything else is
 * dropped. A registered access-token claim on the allowlist is refused later by the claims policy.
 */
export function allowedAssertionClaims(client: ClientRecord, payload: Record<string, unknown>) {
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (!ASSERTION_CLAIMS.has(name) && client.allowedClaims.includes(name)) claims[name] = value;
  }
  return claims;
}

/**
 * RFC 7523 §2.1: a first-party login backend that authenticated a user presents an assertion signed with
 * its registered key (iss = client id, `sub` the user, `aud` the token endpoint or issuer, short `exp`,
 * single-use `jti`). Answers with an access token for the user, and a refresh token when the client also
 * has the refresh_token grant.
 *
 * @example
 * const body = await jwtBearerGrant(ctx, client, form);
 */
export const jwtBearerGrant: GrantHandler = async (ctx, client, form, request) => {
  const assertion = form.require('assertion');
  // draft-ietf-oauth-rfc7523bis: one JWT is either the client's authentication or the grant, never both.
  if (assertion === form.get('client_assertion')) {
    throw invalidGrant('the same JWT cannot be both client_assertion and assertion');
  }
  const scope = resolveScope(form.get('scope'), client.scope);
  const audience = resolveAudience(ctx, client, form);
  let payload;
  try {
    ({ payload } = await verifyAssertion(ctx, assertion, { purpose: 'jwt-bearer', client }));
  } catch (err) {
    if (err instanceof AssertionRejected) throw invalidGrant(`assertion rejected: ${err.message}`);
    throw err;
  }
  // RFC 7523 §3 item 2 leaves `sub` to the server: a login backend may not name a registered client, or
  // it could mint a token indistinguishable from that service's own client_credentials token.
  if (await ctx.store.getClient(payload.sub)) {
    throw invalidGrant('assertion rejected: "sub" must not be the id of a registered client');
  }
  const claims = allowedAssertionClaims(client, payload);
  const issued = await issueAccessToken(ctx, {
    client,
    sub: payload.sub,
    scope,
    claims,
    audience,
    cnf: request.dpop,
  });
  const refreshToken = client.grants.includes('refresh_token')
    ? await startRefreshFamily(ctx, { client, sub: payload.sub, scope, claims })
    : undefined;
  return tokenResponse(issued, scope, refreshToken);
};
