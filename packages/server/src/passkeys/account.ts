/**
 * The account page (`/account`): a signed-in user's passkeys (name, added, last used), a form to add one
 * (the script runs the registration ceremony and posts the answer) and one to remove each. Every form is
 * CSRF-protected; without a session the page sends the browser to sign in. Adding and removing need a
 * recent sign-in (recent-signin.ts): with an older one the page lists the passkeys and offers "Sign in
 * again" instead (reauth/request.ts), and the posts are refused on the server.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { csrfToken, verifyCsrf } from '../sessions/csrf.js';
import { readSession, type ActiveSession } from '../sessions/session.js';
import { sendAccountPage } from '../pages/index.js';
import { formOf } from '../signin/errors.js';
import { passkeyScriptPaths } from './assets.js';
import { takeChallenge } from './challenges.js';
import { PasskeyError, reasonOf } from './errors.js';
import { CSRF_ACCOUNT } from './page-views.js';
import { passkeyName, storePasskey, verifyRegistration } from './registration.js';
import { parseAttestation } from './response.js';
import { passkeyIdentity } from './settings.js';
import { isRecentSignIn, reauthWindow } from '../reauth/recent.js';
import { CSRF_REAUTH } from '../reauth/request.js';
import { REAUTH_REFUSED, staleForPasskeys } from './recent-signin.js';

/** The one sentence a refused registration shows (the reason goes to the audit log). */
export const REGISTRATION_FAILED = 'The passkey could not be added. Try again.';

async function showAccount(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  active: ActiveSession,
  status: number,
  message: { error?: string; notice?: string } = {},
): Promise<FastifyReply> {
  const passkeys = await ctx.store.listUserPasskeys(active.user.id);
  return sendAccountPage(
    reply,
    status,
    {
      csrf: csrfToken(ctx, request, reply, CSRF_ACCOUNT),
      signoutCsrf: csrfToken(ctx, request, reply, 'signout'),
      reauth: isRecentSignIn(ctx, active.session)
        ? undefined
        : { csrf: csrfToken(ctx, request, reply, CSRF_REAUTH), window: reauthWindow(ctx) },
      email: active.user.email,
      name: active.user.name,
      passkeys: passkeys.map(({ id, name, createdAt, lastUsedAt, backedUp }) => ({
        id,
        name,
        createdAt,
        lastUsedAt,
        backedUp,
      })),
      available: passkeyIdentity(ctx.config.issuer) !== undefined,
      ...message,
    },
    passkeyScriptPaths(),
  );
}

const signInFirst = (reply: FastifyReply) =>
  reply.header('cache-control', 'no-store').redirect('/signin', 303);

/** `GET /account`. `?added=1` / `?removed=1` (after a post) show a confirmation. */
export async function getAccount(
  ctx: ServerContext,
  request: FastifyRequest<{ Querystring: Record<string, unknown> }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const active = await readSession(ctx, request);
  if (active === undefined) return signInFirst(reply);
  const notice =
    request.query.added === '1'
      ? 'Passkey added.'
      : request.query.removed === '1'
        ? 'Passkey removed.'
        : undefined;
  return showAccount(ctx, request, reply, active, 200, notice === undefined ? {} : { notice });
}

/**
 * The common start of a passkey change: the account form's CSRF token, a session (else to sign-in), and a
 * recent sign-in (else the account page with 403: a stolen or forgotten session adds no passkey). Checked
 * before any challenge is taken or answer verified, so a refused request changes nothing.
 */
async function changeAllowed(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  action: 'add' | 'remove',
): Promise<{ active: ActiveSession; form: ReturnType<typeof formOf> } | FastifyReply> {
  const form = formOf(request);
  verifyCsrf(ctx, request, form.get('csrf'), CSRF_ACCOUNT);
  const active = await readSession(ctx, request);
  if (active === undefined) return signInFirst(reply);
  if (await staleForPasskeys(ctx, request, active, action))
    return showAccount(ctx, request, reply, active, 403, { error: REAUTH_REFUSED });
  return { active, form };
}

/** `POST /account/passkeys`: verify the registration answer for the signed-in user and keep the passkey. */
export async function addPasskey(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const allowed = await changeAllowed(ctx, request, reply, 'add');
  if (!('active' in allowed)) return allowed;
  const { active, form } = allowed;
  const identity = passkeyIdentity(ctx.config.issuer);
  try {
    if (identity === undefined) throw new PasskeyError('ERR_PASSKEY_CHALLENGE', 'passkeys unavailable');
    const stored = await takeChallenge(ctx, request, reply, 'register');
    // The challenge was made for this session's user: one made while another user was signed in is refused.
    if (stored === undefined || stored.userId !== active.user.id)
      throw new PasskeyError('ERR_PASSKEY_CHALLENGE', 'no live challenge for this user', active.user.id);
    const count = (await ctx.store.listUserPasskeys(active.user.id)).length;
    const verified = await verifyRegistration(
      ctx,
      active.user,
      stored.challenge,
      parseAttestation(form.get('response')),
      passkeyName(form.get('name'), `Passkey ${count + 1}`),
      identity,
    );
    const passkey = await storePasskey(ctx, verified);
    await ctx.audit('passkey.registered', { userId: active.user.id, credential: passkey.id, via: 'account' });
  } catch (err) {
    if (!(err instanceof PasskeyError)) throw err;
    await ctx.audit('passkey.registration_failed', {
      userId: active.user.id,
      reason: reasonOf(err.code),
      via: 'account',
    });
    return showAccount(ctx, request, reply, active, 400, { error: REGISTRATION_FAILED });
  }
  return reply.header('cache-control', 'no-store').redirect('/account?added=1', 303);
}

/** `POST /account/passkeys/remove`: delete one of the signed-in user's passkeys (never another user's). */
export async function removePasskey(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const allowed = await changeAllowed(ctx, request, reply, 'remove');
  if (!('active' in allowed)) return allowed;
  const { active, form } = allowed;
  const id = form.get('id') ?? '';
  if (id.length === 0 || id.length > 1024 || !(await ctx.store.deletePasskey(active.user.id, id)))
    return showAccount(ctx, request, reply, active, 400, { error: 'That passkey was already removed.' });
  await ctx.audit('passkey.removed', { userId: active.user.id, credential: id });
  return reply.header('cache-control', 'no-store').redirect('/account?removed=1', 303);
}
