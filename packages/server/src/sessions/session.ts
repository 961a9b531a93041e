import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { LOCAL_IDP, type SessionRecord, type UserRecord } from '../store/types.js';
import { hashToken, randomToken } from '../oauth/crypto.js';
import { readCookie, writeCookie } from './cookies.js';

/** The session cookie's base name (`__Host-tessera_session` on an https issuer). */
export const SESSION_COOKIE = 'tessera_session';

/** Idle expiry is written back at most this often, so a busy session costs no write per request. */
const TOUCH_EVERY_MS = 60_000;

export interface ActiveSession {
  session: SessionRecord;
  user: UserRecord;
}

export interface SessionAuthentication {
  /** RFC 8176 methods, e.g. `['pwd']`. */
  amr: string[];
  acr: string;
  /** The identity provider that authenticated the user (federation); default `local`, our own password. */
  idp?: string;
}

/**
 * The live session behind the request's cookie, with its user. None when there is no cookie, the session
 * is past its idle or absolute lifetime, or its user is gone or disabled (a disabled user's session stops
 * at the next request, not at its expiry). Slides the idle expiry forward.
 *
 * @example
 * const active = await readSession(ctx, request);
 */
export async function readSession(
  ctx: ServerContext,
  request: FastifyRequest,
): Promise<ActiveSession | undefined> {
  const secret = readCookie(ctx, request, SESSION_COOKIE);
  if (secret === undefined || secret.length > 128) return undefined;
  const now = ctx.clock();
  const session = await ctx.store.getSessionBySecret(hashToken(secret), now);
  if (session === undefined) return undefined;
  const user = await ctx.store.getUser(session.userId);
  if (user === undefined || user.disabled) return undefined;
  const idleExpiresAt = Math.min(now + ctx.config.sessionIdleTtl * 1000, session.absoluteExpiresAt);
  if (idleExpiresAt - session.idleExpiresAt >= TOUCH_EVERY_MS) {
    await ctx.store.touchSession(session.id, idleExpiresAt);
    session.idleExpiresAt = idleExpiresAt;
  }
  return { session, user };
}

/**
 * Start a session for a user who just authenticated. Always a new id and a new cookie secret, and the
 * session the browser came with (if any) is ended first: an attacker who planted a session cookie before
 * the sign-in gains nothing (session fixation, OWASP Session Management Cheat Sheet).
 *
 * @example
 * const session = await startSession(ctx, request, reply, user, { amr: ['pwd'], acr: '1' });
 */
export async function startSession(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  user: UserRecord,
  auth: SessionAuthentication,
): Promise<SessionRecord> {
  await endSession(ctx, request, reply, 'replaced');
  const now = ctx.clock();
  const secret = randomToken(32);
  const absoluteExpiresAt = now + ctx.config.sessionTtl * 1000;
  const session: SessionRecord = {
    id: randomToken(16),
    secretHash: hashToken(secret),
    userId: user.id,
    authTime: now,
    amr: auth.amr,
    acr: auth.acr,
    idp: auth.idp ?? LOCAL_IDP,
    createdAt: now,
    idleExpiresAt: Math.min(now + ctx.config.sessionIdleTtl * 1000, absoluteExpiresAt),
    absoluteExpiresAt,
  };
  await ctx.store.createSession(session);
  // A session cookie without Max-Age would outlive nothing useful; the store's expiry is the real limit.
  writeCookie(ctx, reply, SESSION_COOKIE, secret, ctx.config.sessionTtl);
  return session;
}

/**
 * End the request's session (if any): delete it, revoke every refresh family issued in it (OpenID Connect
 * RP-Initiated Logout: signing out ends what the session started), clear the cookie.
 *
 * @example
 * const ended = await endSession(ctx, request, reply, 'logout');
 */
export async function endSession(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  reason: string,
): Promise<SessionRecord | undefined> {
  const secret = readCookie(ctx, request, SESSION_COOKIE);
  if (secret === undefined) return undefined;
  writeCookie(ctx, reply, SESSION_COOKIE, '', 0);
  if (secret.length > 128) return undefined;
  const now = ctx.clock();
  const session = await ctx.store.getSessionBySecret(hashToken(secret), now);
  if (session === undefined) return undefined;
  await endSessionById(ctx, session, reason);
  return session;
}

/** Delete a session and revoke the refresh families issued in it. */
export async function endSessionById(
  ctx: ServerContext,
  session: SessionRecord,
  reason: string,
): Promise<void> {
  await ctx.store.deleteSession(session.id);
  if (reason === 'replaced') return;
  const families = await ctx.store.revokeFamilies({ sessionId: session.id }, reason, ctx.clock());
  await ctx.audit('session.ended', {
    userId: session.userId,
    sid: session.id,
    reason,
    refreshFamilies: families.length,
  });
}
