/**
 * `POST /account/reauth`: the account page's "Sign in again" button. CSRF-protected (a foreign page cannot
 * send a signed-in user through the sign-in page); it ends nothing, marks where the next sign-in returns
 * (return-path.ts) and sends the browser to `/signin?reauth=account`. The destination is fixed here: any
 * field the post carries is ignored.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { verifyCsrf } from '../sessions/csrf.js';
import { formOf } from '../signin/errors.js';
import { markReauth, reauthSignInUrl } from './return-path.js';

/** The CSRF purpose of the "Sign in again" form (a token for another form does not work here). */
export const CSRF_REAUTH = 'reauth';

/**
 * Mark the need and go to the sign-in page.
 *
 * @example app.post('/account/reauth', (request, reply) => requestReauth(ctx, request, reply));
 */
export async function requestReauth(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  verifyCsrf(ctx, request, formOf(request).get('csrf'), CSRF_REAUTH);
  markReauth(ctx, reply, 'account');
  return reply.header('cache-control', 'no-store').redirect(reauthSignInUrl('account'), 303);
}
