import type { Context, Handler, MiddlewareHandler, Next } from 'hono';
import {
  authorizationOf,
  bodyText,
  checkScopeList,
  checkScopes,
  createAuthStep,
  type AuthOutcome,
  type AuthFailure,
  type AuthInfo,
  type AuthOptions,
} from './shared.js';

/** The Hono environment the middleware provides: `c.get('auth')` is typed. */
export type AuthEnv = { Variables: { auth: AuthInfo } };

function send(c: Context, failure: AuthFailure): Response {
  const headers: Record<string, string> = { ...failure.headers };
  const body = bodyText(failure);
  if (body !== '') headers['content-type'] = 'application/json';
  return body === '' ? c.body(null, failure.status, headers) : c.body(body, failure.status, headers);
}

const toUndefined = (): undefined => undefined;

/** The failure answer, or undefined once `c.get('auth')` is set. Shared by the middleware and the wrapper. */
function admit(c: Context<AuthEnv>, outcome: AuthOutcome): Response | undefined {
  if (!outcome.ok) return send(c, outcome.failure);
  c.set('auth', outcome.auth);
  return undefined;
}

/**
 * The Authorization header. On @hono/node-server, `c.env.incoming` is the node IncomingMessage
 * (HttpBindings): reading it there skips building a web Headers object for the request, and several
 * Authorization lines are seen (and refused) instead of joined with ", ". Other runtimes: `c.req.header`.
 */
function authorizationFrom(c: Context): string | readonly string[] | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming as
    { headers?: { authorization?: unknown }; rawHeaders?: unknown } | undefined;
  if (typeof incoming === 'object' && incoming !== null && Array.isArray(incoming.rawHeaders)) {
    const value = incoming.headers?.authorization;
    return authorizationOf(typeof value === 'string' ? value : undefined, incoming.rawHeaders as string[]);
  }
  return c.req.header('authorization');
}

/**
 * Hono middleware: verifies the bearer token and sets `c.get('auth')`, or answers 401/400/403/503 per
 * RFC 6750.
 *
 * @example
 * const app = new Hono<AuthEnv>();
 * app.use('/api/*', createHonoAuth({ verifier }));
 * app.get('/api/me', (c) => c.json(c.get('auth').claims));
 */
export function createHonoAuth(options: AuthOptions): MiddlewareHandler<AuthEnv> {
  const step = createAuthStep(options);
  const settle = async (c: Context<AuthEnv>, next: Next, pending: Promise<AuthOutcome>) => {
    const failure = admit(c, await pending);
    if (failure !== undefined) return failure;
    await next();
    return undefined;
  };
  // Not an async function: a cache hit goes straight on to next() (its promise is what Hono awaits; the
  // middleware itself resolves to undefined so Hono keeps the response the handler set).
  return function tesseraAuth(c, next) {
    const outcome = step(authorizationFrom(c));
    if (outcome instanceof Promise) return settle(c, next, outcome);
    const failure = admit(c, outcome);
    return failure !== undefined ? Promise.resolve(failure) : next().then(toUndefined);
  };
}

/**
 * The same check as a handler wrapper, for routes where every microsecond counts: a route with a single
 * handler stays on Hono's fast path (no middleware composition), which no `app.use` middleware can. On
 * @hono/node-server an empty middleware alone costs about a tenth of a trivial route's requests/s; the
 * wrapper adds only the token check. Same answers as createHonoAuth; `c.get('auth')` is set before `handler`.
 *
 * @example
 * app.get('/api/me', withHonoAuth({ verifier }, (c) => c.json(c.get('auth').claims)));
 */
export function withHonoAuth(options: AuthOptions, handler: Handler<AuthEnv>): Handler<AuthEnv> {
  const step = createAuthStep(options);
  const proceed = (c: Context<AuthEnv>, next: Next, outcome: AuthOutcome) =>
    admit(c, outcome) ?? handler(c, next);
  return function tesseraAuthHandler(c, next) {
    const outcome = step(authorizationFrom(c));
    if (outcome instanceof Promise) return outcome.then((o) => proceed(c, next, o));
    return proceed(c, next, outcome);
  };
}

/**
 * Hono middleware answering 403 insufficient_scope unless `c.get('auth')` carries every scope.
 *
 * @example app.post('/api/orders', requireScopes('orders:write'), handler);
 */
export function requireScopes(...scopes: string[]): MiddlewareHandler<AuthEnv> {
  const required = checkScopeList(scopes);
  return async function checkRequiredScopes(c, next) {
    const failure = checkScopes(c.get('auth'), required);
    if (failure) return send(c, failure);
    await next();
    return undefined;
  };
}
