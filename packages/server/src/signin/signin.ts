import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import type { UserRecord } from '../store/types.js';
import { csrfToken, verifyCsrf } from '../sessions/csrf.js';
import { endSession, readSession, startSession } from '../sessions/session.js';
import {
  checkThrottle,
  describeWait,
  recordFailure,
  recordSuccess,
  throttleKeys,
} from '../sessions/throttle.js';
import { hashPassword, verifyPassword } from '../users/password.js';
import { sendErrorPage, sendSignedInPage, sendSignedOutPage, sendSignInPage } from '../pages/index.js';
import { passkeyIdentity } from '../passkeys/settings.js';
import { EXPIRED_SIGNIN, formOf } from './errors.js';
import { completePendingLink } from '../federation/linking.js';
import type { InteractionFlow } from './flow.js';
import { signInChoices } from './page-view.js';
import { reauthPurpose, reauthView, redirectAfterSignIn } from '../reauth/return-path.js';

/** One answer for every way a password sign-in fails (user enumeration, OWASP Authentication Cheat Sheet). */
export const SIGNIN_FAILED = 'Email or password is incorrect.';
/** Longest email accepted (RFC 5321 path limit); longer input is refused without a lookup. */
const MAX_EMAIL = 320;

/** A query or form value we accept as an interaction id: a short opaque string. */
export function interactionId(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 128 ? value : undefined;
}

/**
 * The waiting authorization request a query or form names; undefined when the id is malformed, unknown or
 * expired (the caller shows the expired sign-in page).
 *
 * @example const view = await waitingRequest(ctx, flow, form.get('interaction'));
 */
export async function waitingRequest(
  ctx: ServerContext,
  flow: InteractionFlow,
  value: unknown,
): Promise<Awaited<ReturnType<InteractionFlow['load']>>> {
  const id = interactionId(value);
  return id === undefined ? undefined : flow.load(ctx, id);
}

/**
 * `GET /signin`: the form (for a waiting authorization request or on its own), or who is signed in.
 * `?reauth=account` asks for a fresh sign-in while signed in: the form even with a live session (its email
 * filled in); the sign-in that follows replaces the session (startSession).
 */
export async function showSignIn(
  ctx: ServerContext,
  flow: InteractionFlow,
  request: FastifyRequest<{ Querystring: Record<string, unknown> }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const raw = request.query.interaction;
  if (raw !== undefined) {
    const view = await waitingRequest(ctx, flow, raw);
    if (view === undefined) return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
    return sendSignInPage(reply, 200, {
      ...(await signInChoices(ctx, request, reply)),
      interaction: view.id,
      clientId: view.clientId,
      returnTo: view.redirectUri,
      ...(view.loginHint !== undefined && { email: view.loginHint.slice(0, MAX_EMAIL) }),
    });
  }
  const active = await readSession(ctx, request);
  const again = reauthView(reauthPurpose(request.query.reauth));
  if (active !== undefined && again === undefined)
    return sendSignedInPage(reply, {
      csrf: csrfToken(ctx, request, reply, 'signout'),
      email: active.user.email,
      name: active.user.name,
      account: passkeyIdentity(ctx.config.issuer) !== undefined,
    });
  return sendSignInPage(reply, 200, {
    ...(await signInChoices(ctx, request, reply)),
    ...(again !== undefined && { again }),
    ...(again !== undefined && active !== undefined && { email: active.user.email.slice(0, MAX_EMAIL) }),
  });
}

type Outcome = 'success' | 'failure' | 'disabled';

/** `POST /signin`: CSRF, throttle, password, session; then back to the waiting request or to /signin. */
export async function submitSignIn(
  ctx: ServerContext,
  flow: InteractionFlow,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const form = formOf(request);
  verifyCsrf(ctx, request, form.get('csrf'), 'signin');
  const id = form.get('interaction');
  let clientId: string | undefined;
  let returnTo: string | undefined;
  if (id !== undefined) {
    const view = await waitingRequest(ctx, flow, id);
    if (view === undefined) return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
    if (form.get('decision') === 'cancel') return flow.deny(ctx, request, reply, id);
    clientId = view.clientId;
    returnTo = view.redirectUri;
  }
  const email = (form.get('username') ?? '').trim();
  const password = form.get('password') ?? '';
  const again = async (status: number, error: string) =>
    sendSignInPage(reply, status, {
      ...(await signInChoices(ctx, request, reply)),
      ...(id !== undefined && { interaction: id }),
      ...(clientId !== undefined && { clientId }),
      ...(returnTo !== undefined && { returnTo }),
      email: email.slice(0, MAX_EMAIL),
      error,
    });
  if (email === '' || password === '') return again(400, 'Enter your email and your password.');

  const keys = throttleKeys(email, request.ip);
  const lock = await checkThrottle(ctx, keys);
  if (lock !== undefined) {
    // Refused before any lookup or hashing, with the same words for known and unknown accounts.
    ctx.metrics.signIns.inc({ result: 'throttled' });
    reply.header('retry-after', String(Math.ceil(lock.retryAfterMs / 1000)));
    return again(429, `Too many attempts; try again in ${describeWait(lock.retryAfterMs)}.`);
  }

  const user = email.length > MAX_EMAIL ? undefined : await ctx.store.getUserByEmail(email);
  // Always a full argon2id verification, against a dummy hash when there is no account or no password:
  // comparable time either way (enumeration by timing).
  const { ok, rehash } = await verifyPassword(user?.passwordHash ?? null, password);
  if (!ok || user === undefined || user.disabled) {
    const outcome: Outcome = ok && user?.disabled ? 'disabled' : 'failure';
    await signInFailed(ctx, request, keys, user, outcome, failureReason(user, ok));
    return again(401, SIGNIN_FAILED);
  }

  let signedIn: UserRecord = user;
  if (rehash) {
    // The stored hash used older parameters: upgrade it now that we hold the password (issue 14).
    signedIn = { ...user, passwordHash: await hashPassword(password), updatedAt: ctx.clock() };
    await ctx.store.updateUser(signedIn);
  }
  await recordSuccess(ctx, keys);
  // Federation: an upstream identity waiting for this account's password is linked now (same browser only).
  await completePendingLink(ctx, request, reply, signedIn);
  const session = await startSession(ctx, request, reply, signedIn, { amr: ['pwd'], acr: '1' });
  ctx.metrics.signIns.inc({ result: 'success' });
  await ctx.audit('signin.success', {
    userId: signedIn.id,
    sid: session.id,
    idp: session.idp,
    ip: request.ip,
  });
  if (id !== undefined)
    return flow.continue(ctx, request, reply, id, { session, user: signedIn }, { signedIn: true });
  return redirectAfterSignIn(ctx, request, reply);
}

function failureReason(user: UserRecord | undefined, ok: boolean): string {
  if (user === undefined) return 'unknown_user';
  if (user.passwordHash === null) return 'no_password';
  if (!ok) return 'wrong_password';
  return 'disabled';
}

/** Count, audit and measure one failure; audit the locks it started. Never the password or the email. */
async function signInFailed(
  ctx: ServerContext,
  request: FastifyRequest,
  keys: ReturnType<typeof throttleKeys>,
  user: UserRecord | undefined,
  outcome: Outcome,
  reason: string,
): Promise<void> {
  ctx.metrics.signIns.inc({ result: outcome });
  const locks = await recordFailure(ctx, keys);
  const who = user === undefined ? {} : { userId: user.id };
  await ctx.audit('signin.failure', { ...who, reason, ip: request.ip });
  for (const lock of locks)
    await ctx.audit('signin.locked', {
      ...who,
      scope: lock.scope,
      seconds: Math.ceil(lock.retryAfterMs / 1000),
      ip: request.ip,
    });
}

/** `POST /signout` (the "Signed in as" page's button): end the session, then the signed-out page. */
export async function submitSignOut(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const form = formOf(request);
  verifyCsrf(ctx, request, form.get('csrf'), 'signout');
  const ended = await endSession(ctx, request, reply, 'logout');
  if (ended !== undefined) ctx.metrics.sessionsEnded.inc({ reason: 'logout' });
  return sendSignedOutPage(reply);
}
