/**
 * The passkey side of reauthentication (reauth/recent.ts): every step that changes a user's passkeys (the
 * registration options, adding, removing) checks on the server that the session's sign-in is recent, so a
 * stolen session cookie cannot add an attacker's passkey and keep access after the session ends. A refused
 * attempt is audited as `passkey.reauth_required`.
 */
import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { OAuthError } from '../server/errors.js';
import type { ActiveSession } from '../sessions/session.js';
import { isRecentSignIn, signInAge } from '../reauth/recent.js';

/** The account page's alert when an add or remove was refused for an old sign-in. */
export const REAUTH_REFUSED = 'That change needs a recent sign-in. Sign in again, then try once more.';

/** The step that was refused, in the audit event. */
export type PasskeyChange = 'options' | 'add' | 'remove';

/**
 * True (and audited) when the session's sign-in is too old to change passkeys.
 *
 * @example if (await staleForPasskeys(ctx, request, active, 'remove')) return showAccount(…, 403, …);
 */
export async function staleForPasskeys(
  ctx: ServerContext,
  request: FastifyRequest,
  active: ActiveSession,
  action: PasskeyChange,
): Promise<boolean> {
  if (isRecentSignIn(ctx, active.session)) return false;
  await ctx.audit('passkey.reauth_required', {
    userId: active.user.id,
    sid: active.session.id,
    action,
    age: signInAge(ctx, active.session),
    maxAge: ctx.config.reauthMaxAge,
    ip: request.ip,
  });
  return true;
}

/**
 * The options endpoint's answer for a stale session: 403 `insufficient_user_authentication` (the code of
 * RFC 9470 §3, step-up authentication). 403 rather than 401: a cookie session has no HTTP authentication
 * scheme to challenge with, and RFC 9110 §15.5.2 requires a `WWW-Authenticate` on every 401.
 *
 * @example throw reauthRequired();
 */
export function reauthRequired(): OAuthError {
  return new OAuthError(403, 'insufficient_user_authentication', 'sign in again to add or remove passkeys');
}
