import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { csrfToken, verifyCsrf } from '../sessions/csrf.js';
import { readSession } from '../sessions/session.js';
import { sendConsentPage, sendErrorPage } from '../pages/index.js';
import { EXPIRED_SIGNIN, formOf } from './errors.js';
import type { InteractionFlow } from './flow.js';
import { interactionId } from './signin.js';

const toSignIn = (reply: FastifyReply, id: string) =>
  reply.header('cache-control', 'no-store').redirect(`/signin?interaction=${encodeURIComponent(id)}`, 303);

/** `GET /consent?interaction=ID`: the client and what it asks for; needs a live session. */
export async function showConsent(
  ctx: ServerContext,
  flow: InteractionFlow,
  request: FastifyRequest<{ Querystring: Record<string, unknown> }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const id = interactionId(request.query.interaction);
  if (id === undefined) return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
  const active = await readSession(ctx, request);
  if (active === undefined) return toSignIn(reply, id);
  const view = await flow.load(ctx, id);
  if (view === undefined) return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
  return sendConsentPage(reply, {
    csrf: csrfToken(ctx, request, reply, 'consent'),
    interaction: view.id,
    clientId: view.clientId,
    scope: view.scope,
    email: active.user.email,
    returnTo: view.redirectUri,
  });
}

/** `POST /consent`: remember an "allow" per user, client and scope and carry on; a "deny" goes back to the client. */
export async function submitConsent(
  ctx: ServerContext,
  flow: InteractionFlow,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const form = formOf(request);
  verifyCsrf(ctx, request, form.get('csrf'), 'consent');
  const id = interactionId(form.get('interaction'));
  if (id === undefined) return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
  const active = await readSession(ctx, request);
  if (active === undefined) return toSignIn(reply, id);
  const view = await flow.load(ctx, id);
  if (view === undefined) return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
  const decision = form.get('decision');
  const event = { userId: active.user.id, clientId: view.clientId, scope: view.scope.join(' ') };
  if (decision === 'allow') {
    await ctx.store.grantConsent(active.user.id, view.clientId, view.scope, ctx.clock());
    await ctx.audit('consent.granted', event);
    return flow.continue(ctx, request, reply, id, active, { consented: true });
  }
  if (decision === 'deny') {
    await ctx.audit('consent.denied', event);
    return flow.deny(ctx, request, reply, id);
  }
  return sendErrorPage(reply, 400, {
    title: 'Something is wrong with this request',
    message: 'Choose Allow or Deny on the consent page.',
  });
}
