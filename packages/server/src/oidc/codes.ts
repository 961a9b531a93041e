import { createHash } from 'node:crypto';
import type { ServerContext } from '../server/context.js';
import type { ActiveSession } from '../sessions/session.js';
import { hashToken, randomToken } from '../oauth/crypto.js';
import { LOCAL_IDP } from '../store/types.js';
import type { AuthorizationRequest } from './authorize-request.js';

/** RFC 9700 §4.2.1 / OIDC: codes are short-lived; one minute is plenty for a redirect and a token call. */
export const CODE_TTL_MS = 60_000;

/**
 * Issue an authorization code: 256 random bits (RFC 6749 §10.10), stored only as its SHA-256, bound to the
 * client, redirect URI, PKCE challenge, nonce, user, session, scope and the authentication (auth_time, acr,
 * amr) and the `dpop_jkt` key if one was named (RFC 9449 §10), single use (`redeemAuthCode`).
 *
 * @example
 * const code = await issueAuthorizationCode(ctx, request, active);
 */
export async function issueAuthorizationCode(
  ctx: ServerContext,
  request: AuthorizationRequest,
  active: ActiveSession,
): Promise<string> {
  const code = randomToken(32);
  const now = ctx.clock();
  await ctx.store.insertAuthCode({
    hash: hashToken(code),
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    nonce: request.nonce ?? null,
    userId: active.user.id,
    sessionId: active.session.id,
    scope: request.scope,
    authTime: active.session.authTime,
    amr: active.session.amr,
    acr: active.session.acr,
    idp: active.session.idp ?? LOCAL_IDP,
    createdAt: now,
    expiresAt: now + CODE_TTL_MS,
    usedAt: null,
    accessTokenJti: null,
    accessTokenExpiresAt: null,
    refreshFamilyId: null,
    dpopJkt: request.dpopJkt ?? null,
  });
  return code;
}

/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}
