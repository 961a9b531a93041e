/**
 * `POST /passkeys/options`: the page script's one fetch. It names the ceremony (`signin`, `register` from the
 * account page, `enrol` from an enrolment link) with the page's CSRF token, and gets the library's options
 * JSON; the challenge inside is stored for this browser (challenges.ts). Errors are OAuth-shaped JSON.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { OAuthError, rateLimited, unavailable } from '../server/errors.js';
import { StoreUnavailableError } from '../store/types.js';
import { verifyCsrf } from '../sessions/csrf.js';
import { readSession } from '../sessions/session.js';
import { checkIpThrottle } from '../sessions/throttle.js';
import { signInOptions } from './authentication.js';
import { saveChallenge, type CeremonyPurpose } from './challenges.js';
import { findPasskeyLink, linkHash } from './links.js';
import { CSRF_ACCOUNT, CSRF_ENROL, CSRF_SIGNIN } from './page-views.js';
import { reauthRequired, staleForPasskeys } from './recent-signin.js';
import { registrationOptions } from './registration.js';
import { passkeyIdentity } from './settings.js';

const PURPOSES: Readonly<Record<CeremonyPurpose, string>> = {
  signin: CSRF_SIGNIN,
  register: CSRF_ACCOUNT,
  enrol: CSRF_ENROL,
};

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;

async function options(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply): Promise<object> {
  const identity = passkeyIdentity(ctx.config.issuer);
  if (identity === undefined)
    throw new OAuthError(404, 'invalid_request', 'passkeys are not available on this issuer');
  const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
    string,
    unknown
  >;
  const purpose = text(body.purpose) as CeremonyPurpose | undefined;
  if (purpose === undefined || !Object.hasOwn(PURPOSES, purpose))
    throw new OAuthError(400, 'invalid_request', 'unknown ceremony');
  verifyCsrf(ctx, request, text(body.csrf), PURPOSES[purpose]);

  if (purpose === 'signin') {
    // A locked IP gets no challenge: its next failure would only count again.
    const lock = await checkIpThrottle(ctx, request.ip);
    if (lock !== undefined) throw rateLimited(lock.retryAfterMs / 1000);
    const opts = await signInOptions(identity);
    await saveChallenge(ctx, reply, { purpose, challenge: opts.challenge });
    return opts;
  }
  let user;
  let link: string | undefined;
  if (purpose === 'register') {
    const active = await readSession(ctx, request);
    if (active === undefined) throw new OAuthError(401, 'invalid_request', 'sign in first');
    // A stale session gets no challenge: the add step would refuse it anyway (recent-signin.ts).
    if (await staleForPasskeys(ctx, request, active, 'options')) throw reauthRequired();
    user = active.user;
  } else {
    const token = text(body.token);
    user = token === undefined ? undefined : await findPasskeyLink(ctx.store, token, ctx.clock());
    if (token === undefined || user === undefined)
      throw new OAuthError(400, 'invalid_request', 'the enrolment link has expired or was used');
    link = linkHash(token);
  }
  const opts = await registrationOptions(ctx, user, identity);
  await saveChallenge(ctx, reply, {
    purpose,
    challenge: opts.challenge,
    userId: user.id,
    ...(link !== undefined && { link }),
  });
  return opts;
}

/**
 * The route handler: options JSON (never cached), or `{ error, error_description }`.
 *
 * @example app.post('/passkeys/options', (request, reply) => answerOptions(ctx, request, reply));
 */
export async function answerOptions(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  reply.header('cache-control', 'no-store');
  try {
    return reply.send(await options(ctx, request, reply));
  } catch (caught) {
    const err = caught instanceof StoreUnavailableError ? unavailable() : caught;
    if (!(err instanceof OAuthError)) throw err;
    return reply.code(err.status).headers(err.headers).send(err.toJSON());
  }
}
