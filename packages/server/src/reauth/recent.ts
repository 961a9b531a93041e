/**
 * How recent a session's sign-in is. Changing how an account signs in (adding or removing a passkey) needs a
 * sign-in from the last `--reauth-max-age` (default 10 minutes): a stolen session cookie or a browser left
 * signed in must not be enough to plant a credential that outlives the session (NIST SP 800-63B §4
 * reauthentication; OWASP ASVS V2/V3, re-authentication before sensitive account changes).
 */
import type { ServerContext } from '../server/context.js';
import type { SessionRecord } from '../store/types.js';

/**
 * Whole seconds since the session's sign-in (`authTime`); 0 for a sign-in "in the future" (clock skew
 * between instances), which counts as recent.
 *
 * @example const age = signInAge(ctx, active.session); // 42
 */
export function signInAge(ctx: ServerContext, session: Pick<SessionRecord, 'authTime'>): number {
  return Math.max(0, Math.floor((ctx.clock() - session.authTime) / 1000));
}

/**
 * True when the session's sign-in is at most `--reauth-max-age` old (the boundary itself still counts).
 *
 * @example if (!isRecentSignIn(ctx, active.session)) return askToSignInAgain();
 */
export function isRecentSignIn(ctx: ServerContext, session: Pick<SessionRecord, 'authTime'>): boolean {
  return ctx.clock() - session.authTime <= ctx.config.reauthMaxAge * 1000;
}

/**
 * `--reauth-max-age` in words for the pages ("10 minutes", "1 minute", "2 hours").
 *
 * @example html`<p>Changes need a sign-in from the last ${reauthWindow(ctx)}.</p>`
 */
export function reauthWindow(ctx: ServerContext): string {
  const minutes = Math.max(1, Math.round(ctx.config.reauthMaxAge / 60));
  if (minutes % 60 === 0 && minutes >= 120) return `${minutes / 60} hours`;
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}
