import { invalidGrant } from '../../server/errors.js';
import type { ServerContext } from '../../server/context.js';
import type { RefreshFamilyRecord } from '../../store/types.js';
import { issueAccessToken } from '../access-token.js';
import { hashToken } from '../crypto.js';
import { newRefreshToken, refreshTokenExpiry } from '../refresh-token.js';
import { resolveAudience } from '../resource.js';
import { resolveScope } from '../scope.js';
import { recordRefreshReuse } from '../observe.js';
import { splitAuthenticationClaims } from '../claims-policy.js';
import { OIDC_SCOPES } from '../../oidc/authorize-request.js';
import { requireBoundKey } from '../../dpop/binding.js';
import { tokenResponse, type GrantHandler } from './types.js';

function familyClaims(family: RefreshFamilyRecord): Record<string, unknown> {
  try {
    const claims: unknown = JSON.parse(family.claims);
    return claims !== null && typeof claims === 'object' && !Array.isArray(claims)
      ? (claims as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/**
 * Reuse detection (RFC 9700 §4.14.2): a refresh token that was already rotated was either stolen or
 * replayed, and we cannot tell which copy is the legitimate one, so the whole family dies — the latest
 * token too. Audited and counted.
 */
async function revokeOnReuse(ctx: ServerContext, family: RefreshFamilyRecord): Promise<never> {
  const now = ctx.clock();
  await ctx.store.revokeFamily(family.id, 'reuse', now);
  recordRefreshReuse(ctx);
  await ctx.audit('refresh.reuse_detected', {
    clientId: family.clientId,
    familyId: family.id,
    sub: family.sub,
  });
  throw invalidGrant('refresh token already used; the session has been revoked');
}

/**
 * RFC 6749 §6 with rotation: every use returns a new refresh token and retires the presented one, in one
 * atomic store step (`rotateRefreshToken`), so of N concurrent uses on any number of instances exactly
 * one succeeds and the rest count as reuse. No grace window: a client retrying with a retired token loses
 * the session (documented in docs/oauth.md). Absolute and idle lifetimes come from the client. A family
 * bound to a DPoP key (public clients, RFC 9449 §5) needs a proof by that key; the new access token binds
 * to the proof sent, if any.
 *
 * @example
 * const body = await refreshTokenGrant(ctx, client, form);
 */
export const refreshTokenGrant: GrantHandler = async (ctx, client, form, request) => {
  const presented = form.require('refresh_token');
  const hash = hashToken(presented);
  const current = await ctx.store.getRefreshToken(hash);
  const family = current && (await ctx.store.getFamily(current.familyId));
  // RFC 6749 §10.4: a refresh token is bound to its client; another client learns nothing and burns nothing.
  if (!current || !family || family.clientId !== client.id) throw invalidGrant('invalid refresh token');

  const now = ctx.clock();
  if (family.revokedAt !== null) throw invalidGrant('refresh token revoked');
  if (family.absoluteExpiresAt <= now) throw invalidGrant('refresh token expired');
  if (current.usedAt === null && current.expiresAt <= now) throw invalidGrant('refresh token expired');
  // A family from a user's sign-in lives only while the user does: deleted or disabled users' refresh
  // tokens stop working at once (issue 14). The browser session's idle expiry does not matter (offline
  // access is what refresh tokens are for); logout revokes the family itself (endSession).
  if (family.userId != null) {
    const user = await ctx.store.getUser(family.userId);
    if (user === undefined || user.disabled)
      throw invalidGrant('the user of this refresh token is no longer active');
  }
  // A client whose scope shrank since the login does not keep the old scope through refresh.
  // The OpenID scopes are not registered per client: a sign-in family keeps them (OIDC_SCOPES).
  const allowed = family.userId != null ? [...client.scope, ...OIDC_SCOPES] : client.scope;
  const granted = family.scope.filter((s) => allowed.includes(s));
  const scope = resolveScope(form.get('scope'), granted);
  // RFC 8707 §2 on refresh: the new token may name any one of the audiences the client still has (the
  // family keeps no audience of its own), checked before the rotation so a wrong one burns nothing.
  const audience = resolveAudience(ctx, client, form);
  // RFC 9449 §5: a bound family (public client) refreshes only with its key, checked before the rotation so
  // a thief's attempt with a stolen token and another key burns nothing and revokes nothing.
  requireBoundKey(family.dpopJkt, request, 'refresh token');

  const next = newRefreshToken();
  const result = await ctx.store.rotateRefreshToken(
    hash,
    {
      hash: hashToken(next),
      createdAt: now,
      expiresAt: refreshTokenExpiry(client, now, family.absoluteExpiresAt),
      usedAt: null,
    },
    now,
  );
  if (result.status === 'unknown') throw invalidGrant('invalid refresh token');
  if (result.status === 'reused') return revokeOnReuse(ctx, result.family);
  // Revoked between our read and the rotation (RFC 7009 revoke or a concurrent reuse detection).
  if (result.family.revokedAt !== null) throw invalidGrant('refresh token revoked');

  // auth_time, acr, amr and sid are the sign-in's and stay with the family; they are not custom claims.
  const { authentication, custom } = splitAuthenticationClaims(familyClaims(family));
  const issued = await issueAccessToken(ctx, {
    client,
    sub: family.sub,
    scope,
    claims: custom,
    audience,
    ...(family.userId != null && authentication !== undefined && { authentication }),
    cnf: request.dpop,
  });
  return tokenResponse(issued, scope, next);
};
