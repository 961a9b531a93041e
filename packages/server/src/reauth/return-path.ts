/**
 * Where a sign-in asked for again goes afterwards. `POST /account/reauth` marks the need in a short-lived
 * cookie holding only a purpose name (`account`); the sign-in that follows (password, passkey or identity
 * provider, with no waiting authorization request) takes the mark and redirects to that purpose's fixed
 * path. Nothing the caller sends is ever a destination, so there is no open redirect (OWASP Unvalidated
 * Redirects and Forwards): an unknown purpose is no purpose.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { readCookie, writeCookie } from '../sessions/cookies.js';

/** The mark's cookie (`__Host-tessera_reauth` on https; HttpOnly, SameSite=Lax like every cookie of ours). */
export const REAUTH_COOKIE = 'tessera_reauth';
/** Time to sign in again, as for an upstream sign-in. */
const REAUTH_TTL_SECONDS = 10 * 60;

/** The one place a sign-in asked for again may return to, and what the sign-in page says meanwhile. */
const PURPOSES = {
  account: {
    path: '/account',
    lead: 'Sign in again to add or remove passkeys.',
    back: 'Back to your passkeys',
  },
} as const;

export type ReauthPurpose = keyof typeof PURPOSES;

/**
 * A query, form or cookie value naming a purpose, or undefined (anything else, `__proto__` included).
 *
 * @example reauthPurpose(request.query.reauth); // 'account' | undefined
 */
export function reauthPurpose(value: unknown): ReauthPurpose | undefined {
  return typeof value === 'string' && Object.hasOwn(PURPOSES, value) ? (value as ReauthPurpose) : undefined;
}

/**
 * The sign-in page's URL for a purpose: it shows the form even to a signed-in browser.
 *
 * @example reply.redirect(reauthSignInUrl('account'), 303); // /signin?reauth=account
 */
export function reauthSignInUrl(purpose: ReauthPurpose): string {
  return `/signin?reauth=${purpose}`;
}

/** What the sign-in page shows while a sign-in is asked for again: its lead and a way back. */
export interface ReauthView {
  lead: string;
  back: string;
  backTo: string;
}

/**
 * The sign-in page's parts for a purpose, or undefined for none.
 *
 * @example sendSignInPage(reply, 200, { ...choices, again: reauthView('account') });
 */
export function reauthView(purpose: ReauthPurpose | undefined): ReauthView | undefined {
  if (purpose === undefined) return undefined;
  const { lead, back, path } = PURPOSES[purpose];
  return { lead, back, backTo: path };
}

/**
 * Mark that the next sign-in in this browser returns to `purpose`'s page.
 *
 * @example markReauth(ctx, reply, 'account');
 */
export function markReauth(ctx: ServerContext, reply: FastifyReply, purpose: ReauthPurpose): void {
  writeCookie(ctx, reply, REAUTH_COOKIE, purpose, REAUTH_TTL_SECONDS);
}

/**
 * The purpose this browser marked, if any (the mark stays).
 *
 * @example const purpose = pendingReauth(ctx, request);
 */
export function pendingReauth(ctx: ServerContext, request: FastifyRequest): ReauthPurpose | undefined {
  return reauthPurpose(readCookie(ctx, request, REAUTH_COOKIE));
}

/**
 * Take the mark after a successful sign-in: clears the cookie (a mark serves one sign-in) and returns the
 * purpose's fixed path, or undefined when there was none.
 *
 * @example const back = takeReauthReturn(ctx, request, reply) ?? '/signin';
 */
export function takeReauthReturn(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): string | undefined {
  if (readCookie(ctx, request, REAUTH_COOKIE) === undefined) return undefined;
  const purpose = pendingReauth(ctx, request);
  writeCookie(ctx, reply, REAUTH_COOKIE, '', 0);
  return purpose === undefined ? undefined : PURPOSES[purpose].path;
}

/**
 * The answer to a sign-in that had no waiting authorization request: 303 to the marked purpose's page, or
 * to `/signin` (which shows who is signed in).
 *
 * @example return redirectAfterSignIn(ctx, request, reply);
 */
export function redirectAfterSignIn(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const back = takeReauthReturn(ctx, request, reply) ?? '/signin';
  return reply.header('cache-control', 'no-store').redirect(back, 303);
}
