/**
 * From a finished upstream sign-in back to the waiting authorization request, in a fresh navigation.
 *
 * Why not a redirect: the browser reaches our callback by a redirect that follows the upstream's sign-in
 * form, and browsers apply the upstream page's CSP `form-action` to every redirect of that navigation (CSP
 * Level 3 §6.4.1). An upstream that names only our callback there (Tessera does) would have the browser
 * refuse our redirect on to the application. So the callback answers a page that moves on by
 * `<meta http-equiv="refresh">` to `/signin/idp/continue?token=…`, a new navigation under our own CSP.
 *
 * The token is single use and bound to the session the callback just started: a link to it opened in
 * another browser, or after another sign-in, continues nothing (it could otherwise hand a victim's session
 * to an attacker's waiting request).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import type { SessionRecord } from '../store/types.js';
import { hashToken, randomToken } from '../oauth/crypto.js';
import { readSession } from '../sessions/session.js';
import { sendContinuePage, sendErrorPage } from '../pages/index.js';
import { EXPIRED_SIGNIN } from '../signin/errors.js';
import type { InteractionFlow } from '../signin/flow.js';

/** Time for the browser to follow the page: seconds, not minutes. */
const CONTINUE_TTL_MS = 60_000;

interface ContinueData {
  interaction: string;
  sessionId: string;
}

/**
 * Answer the callback with the page that continues `interaction` for `session`.
 *
 * @example return sendContinue(ctx, reply, data.interaction, session);
 */
export async function sendContinue(
  ctx: ServerContext,
  reply: FastifyReply,
  interaction: string,
  session: SessionRecord,
): Promise<FastifyReply> {
  const token = randomToken(32);
  const now = ctx.clock();
  const data: ContinueData = { interaction, sessionId: session.id };
  await ctx.store.insertPending({
    hash: hashToken(token),
    kind: 'idp_continue',
    owner: session.userId,
    data: JSON.stringify(data),
    createdAt: now,
    expiresAt: now + CONTINUE_TTL_MS,
  });
  return sendContinuePage(reply, `/signin/idp/continue?token=${encodeURIComponent(token)}`);
}

/**
 * `GET /signin/idp/continue?token=…`: the waiting request continues for the session that signed in.
 *
 * @example app.get('/signin/idp/continue', (request, reply) => continueAfterUpstream(ctx, flow, request, reply));
 */
export async function continueAfterUpstream(
  ctx: ServerContext,
  flow: InteractionFlow,
  request: FastifyRequest<{ Querystring: Record<string, unknown> }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const token = request.query.token;
  if (typeof token !== 'string' || token.length === 0 || token.length > 128)
    return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
  const record = await ctx.store.takePending('idp_continue', hashToken(token), ctx.clock());
  const active = await readSession(ctx, request);
  const data = record === undefined ? undefined : (JSON.parse(record.data) as ContinueData);
  if (data === undefined || active === undefined || active.session.id !== data.sessionId)
    return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
  return flow.continue(ctx, request, reply, data.interaction, active, { signedIn: true });
}
