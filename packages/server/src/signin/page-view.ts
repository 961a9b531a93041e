import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import type { SignInView } from '../pages/templates.js';
import { csrfToken } from '../sessions/csrf.js';
import { signInProviders } from '../federation/signin.js';
import { passkeySignInView } from '../passkeys/page-views.js';
import { pendingReauth, reauthView } from '../reauth/return-path.js';

/**
 * What every rendering of the sign-in page offers, whichever method brought it back: the form's CSRF token,
 * the passkey button and one button per identity provider, and while this browser asked to sign in again
 * (reauth/return-path.ts) the words saying so. One place, so a failed password, a refused passkey and a
 * fresh page all show the same ways in.
 *
 * @example return sendSignInPage(reply, 401, { ...(await signInChoices(ctx, request, reply)), error });
 */
export async function signInChoices(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Pick<SignInView, 'csrf' | 'passkey' | 'providers' | 'providerTargets' | 'again'>> {
  const again = reauthView(pendingReauth(ctx, request));
  return {
    ...(await signInProviders(ctx)),
    ...(again !== undefined && { again }),
    csrf: csrfToken(ctx, request, reply, 'signin'),
    passkey: passkeySignInView(ctx, request, reply),
  };
}
