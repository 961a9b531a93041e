import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { ServerContext } from '../server/context.js';

/**
 * Cookie plumbing for Tessera's own pages. On an https issuer every cookie is `Secure` and carries the
 * `__Host-` prefix (RFC 6265bis §4.1.3.2: host-only, path `/`, secure), so a sibling subdomain cannot
 * plant or overwrite it (session fixation through cookie tossing). Always HttpOnly and `SameSite=Lax`.
 */
export function cookieName(ctx: ServerContext, base: string): string {
  return isSecure(ctx) ? `__Host-${base}` : base;
}

function isSecure(ctx: ServerContext): boolean {
  return ctx.config.issuer.startsWith('https:');
}

/** The value of one of our cookies on the request, or undefined. */
export function readCookie(ctx: ServerContext, request: FastifyRequest, base: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return undefined;
  const value = parseCookie(header)[cookieName(ctx, base)];
  return value === undefined || value === '' ? undefined : value;
}

/** Append a Set-Cookie for one of our cookies; `maxAge` in seconds, 0 deletes it. */
export function writeCookie(
  ctx: ServerContext,
  reply: FastifyReply,
  base: string,
  value: string,
  maxAge: number | undefined,
): void {
  const header = stringifySetCookie(cookieName(ctx, base), value, {
    httpOnly: true,
    sameSite: 'lax',
    secure: isSecure(ctx),
    path: '/',
    ...(maxAge !== undefined && { maxAge: Math.max(0, Math.floor(maxAge)) }),
  });
  const existing = reply.getHeader('set-cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  reply.header('set-cookie', [...list, header]);
}
