/**
 * TEMPORARY contract (the authorization-endpoint work implements it): how the sign-in and consent pages
 * hand a waiting authorization request back to the protocol code.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import type { ActiveSession } from '../sessions/session.js';

/** What the pages may show about a waiting authorization request. */
export interface InteractionView {
  /** The interaction id (the `interaction` query parameter of /signin and /consent). */
  id: string;
  clientId: string;
  /** Scopes the client asks for (the consent page lists them). */
  scope: string[];
  /** `login_hint`, to pre-fill the email field. */
  loginHint: string | undefined;
}

/** The waiting request `id`, or undefined when it is unknown or expired. */
export async function loadInteraction(
  _ctx: ServerContext,
  _id: string,
): Promise<InteractionView | undefined> {
  throw new Error('not implemented yet');
}

/**
 * Carry on with the waiting request `id` for this session: to the consent page, or back to the client
 * with a code. `progress.signedIn` means the user just authenticated (so `prompt=login` / `max_age` are
 * satisfied); `progress.consented` means they just allowed it on the consent page.
 */
export async function continueAuthorization(
  _ctx: ServerContext,
  _request: FastifyRequest,
  _reply: FastifyReply,
  _id: string,
  _active: ActiveSession,
  _progress: { signedIn?: boolean; consented?: boolean },
): Promise<FastifyReply> {
  throw new Error('not implemented yet');
}

/** The user denied on the consent page (or cancelled sign-in): back to the client with `access_denied`. */
export async function denyAuthorization(
  _ctx: ServerContext,
  _request: FastifyRequest,
  _reply: FastifyReply,
  _id: string,
): Promise<FastifyReply> {
  throw new Error('not implemented yet');
}
