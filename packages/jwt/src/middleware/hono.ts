import type { Context, MiddlewareHandler, Next } from 'hono';
import {
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
    const outcome = await pending;
    if (!outcome.ok) return send(c, outcome.failure);
    c.set('auth', outcome.auth);
    await next();
    return undefined;
  };
  // Not an async function: a cache hit goes straight on to next() (its promise is what Hono awaits).
  return function tesseraAuth(c, next) {
    const outcome = step(c.req.header('authorization'));
    if (outcome instanceof Promise) return settle(c, next, outcome);
    if (!outcome.ok) return Promise.resolve(send(c, outcome.failure));
    c.set('auth', outcome.auth);
    return next().then(() => undefined);
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
