/**
 * The proxy's own routes under `/.tessera/`: the sign-in callback, logout, the signed-out page and the
 * stylesheet. Everything else under `/.tessera/` is a 404 here, never forwarded to the app.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseCookie } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Verifier } from '@tessera/jwt';
import { pageStylesheet } from '../pages/index.js';
import { RelyingPartyError } from '../relying-party/errors.js';
import type { RelyingParty } from '../relying-party/types.js';
import type { ProxyOptions } from './options.js';
import type { CookieJar } from './session.js';
import { safeReturnPath } from './return-path.js';
import { audienceParameter, verifiedClaims } from './tokens.js';
import {
  proxyStylesheetPath,
  sendProxyErrorPage,
  sendProxyLogoutPage,
  sendProxySignedOutPage,
} from './pages.js';

export interface RouteDeps {
  options: ProxyOptions;
  jar: CookieJar;
  verifier: Verifier;
  rp: () => RelyingParty;
  publicUrl: () => URL;
  clock: () => number;
  log: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * `{public-url}/.tessera/callback`: the redirect URI to register at the issuer.
 *
 * @example callbackUrl(new URL('https://app.example')); // 'https://app.example/.tessera/callback'
 */
export const callbackUrl = (publicUrl: URL) => new URL('/.tessera/callback', publicUrl).href;
/**
 * `{public-url}/.tessera/signed-out`: the post-logout redirect URI to register at the issuer.
 *
 * @example signedOutUrl(new URL('https://app.example')); // 'https://app.example/.tessera/signed-out'
 */
export const signedOutUrl = (publicUrl: URL) => new URL('/.tessera/signed-out', publicUrl).href;

/**
 * The logout form's CSRF token: an HMAC of the session cookie (which only this browser holds; HttpOnly, so
 * not even script on the app's pages can read it) under a key derived from the secret. Another site can
 * neither read nor compute it (OWASP CSRF Prevention, synchronizer token).
 */
function logoutCsrf(secret: string, sessionCookie: string): string {
  return createHmac('sha256', secret).update(`tessera proxy logout\0${sessionCookie}`).digest('base64url');
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function rawSessionCookie(jar: CookieJar, request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined || header.length > 16384) return undefined;
  return parseCookie(header)[jar.sessionName] || undefined;
}

async function callback(
  deps: RouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { jar, options } = deps;
  const now = deps.clock();
  const pending = jar.readPending(request.headers.cookie, now);
  // Single use: the pending cookie goes whatever the outcome.
  reply.header('set-cookie', jar.clear(jar.pendingName)).header('cache-control', 'no-store');
  if (pending === undefined)
    return sendProxyErrorPage(reply, 400, {
      title: 'Sign-in expired',
      message: 'This sign-in link has expired or was already used. Start again from the application.',
      retry: true,
    });
  const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
  let result;
  try {
    result = await deps.rp().finish(new URLSearchParams(query), pending, audienceParameter(options.audience));
  } catch (err) {
    const code = err instanceof RelyingPartyError ? err.code : 'unexpected';
    deps.log('proxy.signin_failed', { code });
    const cancelled = code === 'ERR_UPSTREAM_DENIED';
    return sendProxyErrorPage(reply, cancelled ? 403 : 400, {
      title: cancelled ? 'Sign-in cancelled' : 'Sign-in failed',
      message: cancelled
        ? 'The sign-in was cancelled or refused.'
        : 'The sign-in could not be completed. Start again from the application.',
      retry: true,
    });
  }
  // The provider must have issued a token for the app (audience, issuer, at+jwt): else nothing we could forward.
  if ((await verifiedClaims(deps.verifier, result.tokens.accessToken)) === undefined) {
    deps.log('proxy.signin_failed', { code: 'access_token_refused' });
    return sendProxyErrorPage(reply, 502, {
      title: 'Sign-in failed',
      message: 'The identity provider did not issue a usable token for this application.',
    });
  }
  const session = {
    accessToken: result.tokens.accessToken,
    expiresAt: result.tokens.expiresAt ?? now + 300_000,
    createdAt: now,
    ...(result.tokens.refreshToken !== undefined && { refreshToken: result.tokens.refreshToken }),
    ...(result.tokens.idToken !== undefined && { idToken: result.tokens.idToken }),
  };
  deps.log('proxy.signed_in', { sub: result.claims.sub });
  return reply
    .header('set-cookie', jar.sessionCookie(session, now))
    .redirect(safeReturnPath(pending.returnTo) ?? '/', 302);
}

async function logout(deps: RouteDeps, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { jar, options } = deps;
  reply.header('cache-control', 'no-store');
  const raw = rawSessionCookie(jar, request);
  const session = jar.readSession(request.headers.cookie, deps.clock());
  if (raw === undefined || session === undefined) {
    if (raw !== undefined) reply.header('set-cookie', jar.clear(jar.sessionName));
    return sendProxySignedOutPage(reply);
  }
  const csrf = logoutCsrf(options.clientSecret, raw);
  if (request.method === 'GET') return sendProxyLogoutPage(reply, csrf);
  const sent = new URLSearchParams(typeof request.body === 'string' ? request.body : '').get('csrf') ?? '';
  if (!sameToken(sent, csrf))
    return sendProxyErrorPage(reply, 403, {
      title: 'Sign-out refused',
      message: 'The form expired or did not come from this site. Go back and try again.',
    });
  reply.header('set-cookie', jar.clear(jar.sessionName));
  deps.log('proxy.signed_out', {});
  // OIDC RP-Initiated Logout 1.0 §2: end the session at the issuer too, when it offers an endpoint.
  const end = deps.rp().endSessionUrl({
    ...(session.idToken !== undefined && { idTokenHint: session.idToken }),
    postLogoutRedirectUri: signedOutUrl(deps.publicUrl()),
  });
  return end === undefined ? sendProxySignedOutPage(reply) : reply.redirect(end.href, 303);
}

/**
 * Register the `/.tessera/` routes on their own encapsulated context (its form parser stays here).
 *
 * @example await app.register(proxyRoutes(deps));
 */
export function proxyRoutes(deps: RouteDeps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_r, body, done) => done(null, body),
    );
    const sheet = pageStylesheet();
    app.get(proxyStylesheetPath(), (_request, reply) =>
      reply
        .type('text/css; charset=utf-8')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .send(sheet.body),
    );
    app.get('/.tessera/callback', (request, reply) => callback(deps, request, reply));
    app.get('/.tessera/logout', (request, reply) => logout(deps, request, reply));
    app.post('/.tessera/logout', (request, reply) => logout(deps, request, reply));
    app.get('/.tessera/signed-out', (_request, reply) => sendProxySignedOutPage(reply));
    app.all('/.tessera/*', (_request, reply) =>
      sendProxyErrorPage(reply, 404, { title: 'Not found', message: 'There is nothing here.' }),
    );
  };
}
