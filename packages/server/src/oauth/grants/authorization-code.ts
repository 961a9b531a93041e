import { timingSafeEqual } from 'node:crypto';
import type { ServerContext } from '../../server/context.js';
import { invalidGrant, invalidRequest } from '../../server/errors.js';
import { LOCAL_IDP, type AuthCodeRecord, type ClientRecord, type UserRecord } from '../../store/types.js';
import { issueAccessToken } from '../access-token.js';
import type { AuthenticationClaims } from '../claims-policy.js';
import { hashToken } from '../crypto.js';
import { startRefreshFamilyWithId } from '../refresh-token.js';
import { resolveAudience } from '../resource.js';
import { publishRevocation } from '../revocation-feed.js';
import { recordRevocation } from '../observe.js';
import { s256Challenge } from '../../oidc/codes.js';
import { issueIDToken } from '../../oidc/id-token.js';
import { refreshFamilyKey, requireBoundKey } from '../../dpop/binding.js';
import { tokenResponse, type GrantHandler } from './types.js';

/** RFC 7636 §4.1: code_verifier = 43*128unreserved. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** UsedIdStore namespace that settles the race between a code's first redemption and its replay. */
const REPLAY_MARK = 'code_replay';
/** The marker outlives the code (a late replay still finds it). */
const REPLAY_MARK_TTL_MS = 24 * 3600_000;

/** Deny-list a code's access token (JWT and opaque alike, by jti) and revoke its refresh family. */
async function revokeIssued(
  ctx: ServerContext,
  issued: { jti: string | null; expiresAt: number | null; familyId: string | null },
): Promise<boolean> {
  const now = ctx.clock();
  if (issued.jti !== null) {
    const entry = await ctx.store.addRevocation({
      kind: 'jti',
      value: issued.jti,
      expiresAt: issued.expiresAt ?? now + REPLAY_MARK_TTL_MS,
      revokedAt: now,
    });
    recordRevocation(ctx, 'jti');
    await publishRevocation(ctx, entry);
  }
  return issued.familyId !== null && (await ctx.store.revokeFamily(issued.familyId, 'code_reuse', now));
}

/**
 * RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization server MUST deny
 * the request and SHOULD revoke (when possible) all tokens previously issued based on that authorization
 * code." The access token's jti goes on the deny-list (JWT and opaque alike) and out to subscribed
 * verifiers, and the refresh family is revoked. Audited.
 *
 * A replay can arrive while the first redemption is still issuing (nothing recorded yet). Both sides then
 * race for one `consumeOnce` marker: if the replay wins, the first redemption sees the marker after
 * recording its tokens and revokes them itself; if the first redemption wins, its tokens are recorded by
 * then and the replay reads them back (a second `redeemAuthCode` returns the current record).
 */
async function revokeOnCodeReuse(ctx: ServerContext, hash: string, seen: AuthCodeRecord): Promise<never> {
  let code = seen;
  if (code.accessTokenJti === null) {
    const now = ctx.clock();
    const first = await ctx.store.consumeOnce(REPLAY_MARK, hash, now + REPLAY_MARK_TTL_MS, now);
    if (!first) {
      const again = await ctx.store.redeemAuthCode(hash, now);
      if (again.status === 'reused') code = again.code;
    }
  }
  const familyRevoked = await revokeIssued(ctx, {
    jti: code.accessTokenJti,
    expiresAt: code.accessTokenExpiresAt,
    familyId: code.refreshFamilyId,
  });
  await ctx.audit('code.reuse_detected', {
    clientId: code.clientId,
    userId: code.userId,
    sid: code.sessionId,
    jti: code.accessTokenJti,
    familyId: code.refreshFamilyId,
    familyRevoked,
  });
  throw invalidGrant('authorization code already used; the tokens issued from it have been revoked');
}

/**
 * The user's claims the client's allowlist lets into its access tokens (the claims policy checks them):
 * custom claims by name, and `email` with `email_verified` when the client allows `email` and the user
 * granted the `email` scope. An app behind `tessera proxy` (or any resource server) can then show and
 * authorise on who the user is without a userinfo call; an email is identity, not a secret, and it only
 * goes where both the client's registration and the scope the user granted say it may (OIDC Core §5.4).
 */
function allowedUserClaims(
  user: UserRecord,
  client: ClientRecord,
  scope: readonly string[],
): Record<string, unknown> {
  if (client.allowedClaims.length === 0) return {};
  const identity: Record<string, unknown> =
    client.allowedClaims.includes('email') && scope.includes('email')
      ? { email: user.email, email_verified: user.emailVerified }
      : {};
  let claims: unknown;
  try {
    claims = JSON.parse(user.claims);
  } catch {
    return identity;
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return identity;
  const picked: Record<string, unknown> = { ...identity };
  for (const name of client.allowedClaims)
    if (Object.hasOwn(claims, name)) picked[name] = (claims as Record<string, unknown>)[name];
  return picked;
}

function challengeMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(s256Challenge(verifier));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/**
 * RFC 6749 §4.1.3 with RFC 7636: redeem an authorization code, once. Checked as a list: the code exists
 * and is unused (`redeemAuthCode`, one atomic store step; a replay revokes what the first use issued), it
 * was issued to this client, it has not expired, the redirect_uri is the authorization request's, the PKCE
 * verifier matches (S256), the user is still active and the session still exists. Then: an RFC 9068
 * access token for the user (`sub` = user id, with auth_time, acr, amr, sid and the allowlisted custom
 * claims), a refresh family when the client has the refresh_token grant, an ID token when `openid` was
 * granted.
 *
 * @example
 * const body = await authorizationCodeGrant(ctx, client, form);
 */
export const authorizationCodeGrant: GrantHandler = async (ctx, client, form, request) => {
  const presented = form.require('code');
  const redirectUri = form.require('redirect_uri');
  const verifier = form.get('code_verifier');
  // Format checks first: a malformed request burns nothing.
  if (verifier === undefined) throw invalidRequest('missing required parameter "code_verifier" (PKCE)');
  if (!CODE_VERIFIER.test(verifier))
    throw invalidRequest('code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)');
  if (presented.length > 256) throw invalidGrant('invalid authorization code');

  const hash = hashToken(presented);
  const now = ctx.clock();
  const result = await ctx.store.redeemAuthCode(hash, now);
  if (result.status === 'unknown') throw invalidGrant('invalid authorization code');
  if (result.status === 'reused') return revokeOnCodeReuse(ctx, hash, result.code);
  const code = result.code;
  // RFC 6749 §4.1.3: the code was issued to the authenticated client. Another client's attempt burns it.
  if (code.clientId !== client.id) throw invalidGrant('invalid authorization code');
  if (code.expiresAt <= now) throw invalidGrant('authorization code expired');
  if (code.redirectUri !== redirectUri)
    throw invalidGrant('redirect_uri does not match the authorization request');
  if (!challengeMatches(verifier, code.codeChallenge))
    throw invalidGrant('code_verifier does not match the code_challenge');
  // RFC 9449 §10: a code requested with `dpop_jkt` is redeemed only with a proof by that key (a code stolen
  // from the redirect is useless to a thief without the client's private key).
  requireBoundKey(code.dpopJkt, request, 'authorization code');
  const user = await ctx.store.getUser(code.userId);
  if (user === undefined || user.disabled) throw invalidGrant('the user is no longer active');
  const session = await ctx.store.getSession(code.sessionId);
  if (session === undefined || session.absoluteExpiresAt <= now)
    throw invalidGrant('the sign-in session has ended');

  const scope = code.scope;
  const audience = resolveAudience(ctx, client, form);
  const custom = allowedUserClaims(user, client, scope);
  const authentication: AuthenticationClaims = {
    auth_time: Math.floor(code.authTime / 1000),
    acr: code.acr,
    amr: code.amr,
    sid: code.sessionId,
    idp: code.idp ?? LOCAL_IDP,
  };
  const issued = await issueAccessToken(ctx, {
    client,
    sub: user.id,
    scope,
    claims: custom,
    audience,
    authentication,
    cnf: request.dpop,
  });
  const refresh = client.grants.includes('refresh_token')
    ? await startRefreshFamilyWithId(ctx, {
        client,
        sub: user.id,
        scope,
        claims: { ...custom, ...authentication },
        userId: user.id,
        sessionId: code.sessionId,
        dpopJkt: refreshFamilyKey(client, request),
      })
    : undefined;
  await ctx.store.recordCodeTokens(hash, {
    accessTokenJti: issued.jti,
    accessTokenExpiresAt: issued.exp * 1000,
    refreshFamilyId: refresh?.familyId ?? null,
  });
  // A replay that came in while we were issuing found nothing to revoke: it left the marker, we revoke.
  const doneAt = ctx.clock();
  if (!(await ctx.store.consumeOnce(REPLAY_MARK, hash, doneAt + REPLAY_MARK_TTL_MS, doneAt))) {
    await revokeIssued(ctx, {
      jti: issued.jti,
      expiresAt: issued.exp * 1000,
      familyId: refresh?.familyId ?? null,
    });
    await ctx.audit('code.reuse_detected', {
      clientId: code.clientId,
      userId: code.userId,
      sid: code.sessionId,
      jti: issued.jti,
      familyId: refresh?.familyId ?? null,
      familyRevoked: refresh !== undefined,
    });
    throw invalidGrant('authorization code already used; the tokens issued from it have been revoked');
  }

  const body = tokenResponse(issued, scope, refresh?.token);
  if (scope.includes('openid')) {
    body.id_token = await issueIDToken(ctx, {
      client,
      user,
      scope,
      expiresIn: issued.expiresIn,
      authTime: code.authTime,
      acr: code.acr,
      amr: code.amr,
      idp: code.idp ?? LOCAL_IDP,
      sid: code.sessionId,
      nonce: code.nonce,
      accessToken: issued.token,
    });
  }
  return body;
};
