/**
 * The gate in front of every proxied request (the `onRequest` hook): public path, session, API token, or
 * neither. It decides what token, if any, the request carries upstream; it never forwards without deciding.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JWTPayload, Verifier } from '@tessera/jwt';
import { OAuthError } from '../server/errors.js';
import { isPublicPath, type ProxyOptions } from './options.js';
import { evaluatePolicy } from './policy.js';
import type { CookieJar, ProxySession } from './session.js';
import { safeReturnPath } from './return-path.js';
import { REFRESH_MARGIN_MS, verifiedClaims } from './tokens.js';
import { sendDeniedPage } from './pages.js';
import type { RelyingParty } from '../relying-party/types.js';

export interface GateDeps {
  options: ProxyOptions;
  jar: CookieJar;
  verifier: Verifier;
  rp: () => RelyingParty;
  refresh: (session: ProxySession) => Promise<ProxySession | undefined>;
  clock: () => number;
}

/** The token each admitted request forwards (undefined: a public path, forwarded without identity). */
const admitted = new WeakMap<object, string | undefined>();

/**
 * The token decided for this request; throws if the gate never admitted it (a bug must not forward).
 *
 * @example const token = admittedToken(request); // undefined on a public path
 */
export function admittedToken(request: FastifyRequest): string | undefined {
  if (!admitted.has(request.raw)) throw new Error('request reached the upstream without passing the gate');
  return admitted.get(request.raw);
}

/** A browser navigation (sent to sign-in) rather than an API call or a subresource (answered 401). */
function isBrowserNavigation(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return (
    (request.method === 'GET' || request.method === 'HEAD') &&
    request.headers.upgrade === undefined &&
    typeof accept === 'string' &&
    accept.includes('text/html')
  );
}

function bearerToken(request: FastifyRequest): string | undefined {
  const value = request.headers.authorization;
  if (typeof value !== 'string') return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(value);
  return m ? m[1] : value.toLowerCase().startsWith('bearer') ? '' : undefined;
}

const REALM = 'Bearer realm="tessera-proxy"';

/** RFC 6750 §3: 401 with a challenge; no error code when no credentials were sent (§3.1). */
function unauthorized(reply: FastifyReply, invalid: boolean): FastifyReply {
  const err = invalid
    ? new OAuthError(401, 'invalid_token', 'the access token is invalid, expired or not for this application')
    : new OAuthError(401, 'login_required', 'sign in, or send an access token for this application');
  return reply
    .code(401)
    .header(
      'www-authenticate',
      invalid ? `${REALM}, error="invalid_token", error_description="${err.message}"` : REALM,
    )
    .header('cache-control', 'no-store')
    .send(err.toJSON());
}

async function startSignIn(
  deps: GateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { url, pending } = deps.rp().start();
  const returnTo = safeReturnPath(request.url) ?? '/';
  return reply
    .header('set-cookie', deps.jar.pendingCookie({ ...pending, returnTo }))
    .header('cache-control', 'no-store')
    .redirect(url.href, 302);
}

function deny(reply: FastifyReply, browser: boolean, claims: JWTPayload): FastifyReply {
  if (browser)
    return sendDeniedPage(reply, {
      email: typeof claims['email'] === 'string' ? claims['email'] : undefined,
    });
  const err = new OAuthError(403, 'access_denied', 'this account is not allowed to use this application');
  return reply.code(403).header('cache-control', 'no-store').send(err.toJSON());
}

/** After the session's token was checked: admitted (then the policy), or the session ended. */
function afterSession(
  deps: GateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  claims: JWTPayload | undefined,
): unknown {
  if (claims !== undefined) return admit(deps, request, reply, token, claims, isBrowserNavigation(request));
  reply.header('set-cookie', deps.jar.clear(deps.jar.sessionName));
  return withoutSession(deps, request, reply);
}

/** A session near expiry: refreshed (a new cookie is set) and checked, or ended; or no session at all. */
async function refreshOrNone(
  deps: GateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  session: ProxySession | undefined,
  now: number,
): Promise<unknown> {
  if (session !== undefined) {
    const renewed = await deps.refresh(session);
    // A refused refresh (revoked, expired, user disabled) ends the session: the browser signs in again.
    if (renewed === undefined) reply.header('set-cookie', deps.jar.clear(deps.jar.sessionName));
    else {
      reply.header('set-cookie', deps.jar.sessionCookie(renewed, now));
      const claims = await verifiedClaims(deps.verifier, renewed.accessToken);
      return afterSession(deps, request, reply, renewed.accessToken, claims);
    }
  }
  return withoutSession(deps, request, reply);
}

/** Without a live session: a bearer token (then the policy), else sign-in or 401. */
async function withoutSession(
  deps: GateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const browser = isBrowserNavigation(request);
  const bearer = bearerToken(request);
  if (bearer === undefined) return browser ? startSignIn(deps, request, reply) : unauthorized(reply, false);
  const claims = bearer === '' ? undefined : await verifiedClaims(deps.verifier, bearer);
  if (claims === undefined) return unauthorized(reply, true);
  return admit(deps, request, reply, bearer, claims, browser);
}

/** Policies are checked on every admitted request, session or token. */
function admit(
  deps: GateDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  claims: JWTPayload,
  browser: boolean,
): FastifyReply | undefined {
  const decision = evaluatePolicy(deps.options.policy, claims);
  if (!decision.allowed)
    return deny(reply, browser || request.headers.accept?.includes('text/html') === true, claims);
  admitted.set(request.raw, token);
  return undefined;
}

const PASS: Promise<undefined> = Promise.resolve(undefined);

/**
 * The hook. Order: the proxy's own routes are not gated; a public path passes without identity; a live
 * session (the cookie) passes with its token; else an `Authorization: Bearer` token valid for the audience
 * passes as is (an invalid one is 401 JSON, never a redirect); else a browser navigation goes to sign-in
 * and anything else gets 401 JSON. Policies are checked on every admitted request, session or token.
 * Not an async function: the common case (a session far from expiry) is one promise, the verifier's, with
 * one continuation, instead of a chain of nested async functions on every proxied request.
 *
 * @example app.addHook('onRequest', createGate(deps));
 */
export function createGate(deps: GateDeps) {
  return function gate(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const url = request.url;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path.startsWith('/.tessera/')) return PASS;
    if (isPublicPath(path, deps.options.publicPaths)) {
      admitted.set(request.raw, undefined);
      return PASS;
    }
    const now = deps.clock();
    const session = deps.jar.readSession(request.headers.cookie, now);
    if (session === undefined || session.expiresAt - now < REFRESH_MARGIN_MS)
      return refreshOrNone(deps, request, reply, session, now);
    const token = session.accessToken;
    return verifiedClaims(deps.verifier, token).then((claims) =>
      afterSession(deps, request, reply, token, claims),
    );
  };
}
