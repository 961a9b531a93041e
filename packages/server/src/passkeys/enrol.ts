/**
 * The enrolment link's page (`/account/passkey?token=…`, from `tessera users passkey-link`): whoever opens
 * it can register one passkey for the link's user, without a password or a session. Opening the page does not
 * use the link; a registration that verifies does (single use), so a refused attempt can be retried.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import type { UserRecord } from '../store/types.js';
import { csrfToken, verifyCsrf } from '../sessions/csrf.js';
import { sendEnrolDonePage, sendEnrolPage, sendErrorPage } from '../pages/index.js';
import { formOf } from '../signin/errors.js';
import { passkeyScriptPaths } from './assets.js';
import { REGISTRATION_FAILED } from './account.js';
import { takeChallenge } from './challenges.js';
import { PasskeyError, reasonOf } from './errors.js';
import { findPasskeyLink, linkHash, takePasskeyLink } from './links.js';
import { CSRF_ENROL } from './page-views.js';
import { storePasskey, verifyRegistration } from './registration.js';
import { parseAttestation } from './response.js';
import { passkeyIdentity } from './settings.js';

const EXPIRED_LINK = {
  title: 'This link has expired',
  message: 'This passkey link has expired or was already used. Ask your administrator for a new one.',
};
const UNAVAILABLE = {
  title: 'Passkeys are not available here',
  message: 'Passkeys need Tessera to be served over https. Ask your administrator.',
};

const linkToken = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;

/** The link a query or form names and its user; undefined when unknown, used, expired, or the user is gone. */
async function liveLink(
  ctx: ServerContext,
  value: unknown,
): Promise<{ token: string; user: UserRecord } | undefined> {
  const token = linkToken(value);
  const user = token === undefined ? undefined : await findPasskeyLink(ctx.store, token, ctx.clock());
  return token === undefined || user === undefined ? undefined : { token, user };
}

/** `GET /account/passkey?token=…`: the page, if the link is live. */
export async function showEnrol(
  ctx: ServerContext,
  request: FastifyRequest<{ Querystring: Record<string, unknown> }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  if (passkeyIdentity(ctx.config.issuer) === undefined) return sendErrorPage(reply, 404, UNAVAILABLE);
  const link = await liveLink(ctx, request.query.token);
  if (link === undefined) return sendErrorPage(reply, 400, EXPIRED_LINK);
  const { token, user } = link;
  return sendEnrolPage(
    reply,
    200,
    { csrf: csrfToken(ctx, request, reply, CSRF_ENROL), token, email: user.email },
    passkeyScriptPaths(),
  );
}

/** `POST /account/passkey`: verify the registration for the link's user, then use the link up. */
export async function submitEnrol(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const form = formOf(request);
  verifyCsrf(ctx, request, form.get('csrf'), CSRF_ENROL);
  const identity = passkeyIdentity(ctx.config.issuer);
  if (identity === undefined) return sendErrorPage(reply, 404, UNAVAILABLE);
  const link = await liveLink(ctx, form.get('token'));
  if (link === undefined) return sendErrorPage(reply, 400, EXPIRED_LINK);
  const { token, user } = link;
  try {
    const stored = await takeChallenge(ctx, request, reply, 'enrol');
    // The challenge must have been made through this very link, for its user.
    if (stored === undefined || stored.link !== linkHash(token) || stored.userId !== user.id)
      throw new PasskeyError('ERR_PASSKEY_CHALLENGE', 'no live challenge for this link', user.id);
    const response = parseAttestation(form.get('response'));
    const name = `Passkey ${(await ctx.store.listUserPasskeys(user.id)).length + 1}`;
    const verified = await verifyRegistration(ctx, user, stored.challenge, response, name, identity);
    // Used up only once the answer verified (a refused try keeps the link), and before the credential is
    // stored: of two racing registrations through one link, one wins.
    const owner = await takePasskeyLink(ctx.store, token, ctx.clock());
    if (owner === undefined || owner.id !== user.id)
      throw new PasskeyError('ERR_PASSKEY_LINK', 'link used meanwhile', user.id);
    const passkey = await storePasskey(ctx, verified);
    await ctx.audit('passkey.registered', { userId: user.id, credential: passkey.id, via: 'link' });
  } catch (err) {
    if (!(err instanceof PasskeyError)) throw err;
    await ctx.audit('passkey.registration_failed', {
      userId: user.id,
      reason: reasonOf(err.code),
      via: 'link',
    });
    if (err.code === 'ERR_PASSKEY_LINK') return sendErrorPage(reply, 400, EXPIRED_LINK);
    return sendEnrolPage(
      reply,
      400,
      {
        csrf: csrfToken(ctx, request, reply, CSRF_ENROL),
        token,
        email: user.email,
        error: REGISTRATION_FAILED,
      },
      passkeyScriptPaths(),
    );
  }
  return sendEnrolDonePage(reply);
}
