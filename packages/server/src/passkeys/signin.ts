/**
 * `POST /signin/passkey`: the sign-in page's passkey form, posted by the page script with the assertion in
 * its `response` field. On success the same steps as a password sign-in (signin/signin.ts): a new session,
 * then back to the waiting authorization request; the session's `amr` is `["hwk", "user"]`. Every failure
 * is the sign-in page again with one fixed sentence, an audit event naming the reason, and a count against
 * the IP's sign-in throttle (sessions/throttle.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { verifyCsrf } from '../sessions/csrf.js';
import { startSession } from '../sessions/session.js';
import { checkIpThrottle, describeWait, recordIpFailure } from '../sessions/throttle.js';
import { sendErrorPage, sendSignInPage } from '../pages/index.js';
import { EXPIRED_SIGNIN, formOf } from '../signin/errors.js';
import type { InteractionFlow } from '../signin/flow.js';
import type { InteractionView } from '../oidc/interaction.js';
import { waitingRequest } from '../signin/signin.js';
import { signInChoices } from '../signin/page-view.js';
import { verifySignIn } from './authentication.js';
import { takeChallenge } from './challenges.js';
import { PasskeyError, reasonOf } from './errors.js';
import { CSRF_SIGNIN } from './page-views.js';
import { parseAssertion } from './response.js';
import { PASSKEY_AMR, passkeyIdentity } from './settings.js';
import { redirectAfterSignIn } from '../reauth/return-path.js';

/** One answer for every refused passkey: which check failed is for the audit log, not for a prober. */
export const PASSKEY_SIGNIN_FAILED = 'That passkey could not sign you in. Try again, or use your password.';

/**
 * Verify the assertion and sign the user in.
 *
 * @example app.post('/signin/passkey', (request, reply) => submitPasskeySignIn(ctx, flow, request, reply));
 */
export async function submitPasskeySignIn(
  ctx: ServerContext,
  flow: InteractionFlow,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const form = formOf(request);
  verifyCsrf(ctx, request, form.get('csrf'), CSRF_SIGNIN);
  const identity = passkeyIdentity(ctx.config.issuer);
  if (identity === undefined) return sendErrorPage(reply, 404, EXPIRED_SIGNIN);
  const id = form.get('interaction');
  let view: InteractionView | undefined;
  if (id !== undefined) {
    view = await waitingRequest(ctx, flow, id);
    if (view === undefined) return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
  }
  const again = async (status: number, error: string) =>
    sendSignInPage(reply, status, {
      ...(await signInChoices(ctx, request, reply)),
      ...(view !== undefined && {
        interaction: view.id,
        clientId: view.clientId,
        returnTo: view.redirectUri,
      }),
      error,
    });

  const lock = await checkIpThrottle(ctx, request.ip);
  if (lock !== undefined) {
    ctx.metrics.passkeySignIns.inc({ result: 'throttled' });
    reply.header('retry-after', String(Math.ceil(lock.retryAfterMs / 1000)));
    return again(429, `Too many attempts; try again in ${describeWait(lock.retryAfterMs)}.`);
  }

  let signedIn;
  try {
    const stored = await takeChallenge(ctx, request, reply, 'signin');
    if (stored === undefined) throw new PasskeyError('ERR_PASSKEY_CHALLENGE', 'no live challenge');
    signedIn = await verifySignIn(ctx, stored.challenge, parseAssertion(form.get('response')), identity);
  } catch (err) {
    if (!(err instanceof PasskeyError)) throw err;
    const reason = reasonOf(err.code);
    ctx.metrics.passkeySignIns.inc({ result: reason });
    const locked = await recordIpFailure(ctx, request.ip);
    const who = err.userId === undefined ? {} : { userId: err.userId };
    await ctx.audit('passkey.signin_failed', { ...who, reason, ip: request.ip });
    if (locked !== undefined)
      await ctx.audit('signin.locked', {
        scope: 'ip',
        seconds: Math.ceil(locked.retryAfterMs / 1000),
        ip: request.ip,
      });
    return again(401, PASSKEY_SIGNIN_FAILED);
  }

  const { user, passkey } = signedIn;
  const session = await startSession(ctx, request, reply, user, { amr: [...PASSKEY_AMR], acr: '1' });
  ctx.metrics.passkeySignIns.inc({ result: 'success' });
  await ctx.audit('passkey.signin', {
    userId: user.id,
    sid: session.id,
    credential: passkey.id,
    ip: request.ip,
  });
  if (id !== undefined) return flow.continue(ctx, request, reply, id, { session, user }, { signedIn: true });
  return redirectAfterSignIn(ctx, request, reply);
}
