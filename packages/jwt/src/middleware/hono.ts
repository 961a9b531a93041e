import type { Context, Handler, MiddlewareHandler, Next } from 'hono';
import {
  authorizationOf,
  bodyText,
  checkScopeList,
  checkScopes,
  createAuthSteps,
  type AuthFailure,
  type AuthInfo,
  type AuthOptions,
  type RequestReader,
  type StepOutcome,
} from './shared.js';

/** The Hono environment the middleware provides: `c.get('auth')` is typed. */
export type AuthEnv = { Variables: { auth: AuthInfo } };

/** The environment with `credentialsRequired: false`: `c.get('auth')` is undefined without credentials. */
export type OptionalAuthEnv = { Variables: { auth: AuthInfo | undefined } };

/**
 * Options of the Hono adapter: AuthOptions plus `getToken(c)` and `onError(failure, c)`. Both take the
 * Context (Hono's helpers, e.g. `getCookie(c, name)`, do); `onError` answers by returning a Response,
 * otherwise the default answer is sent.
 */
export interface HonoAuthOptions extends AuthOptions {
  /** Where the token is instead of the Authorization header; verified exactly like a Bearer token. */
  getToken?: (c: Context) => string | undefined | null;
  /** Called with every failure first; a Response it returns (or resolves to) is sent instead of the default. */
  onError?: (failure: AuthFailure, c: Context) => Response | void | Promise<Response | void>;
}

function send(c: Context, failure: AuthFailure): Response {
  const headers: Record<string, string> = { ...failure.headers };
  const body = bodyText(failure);
  if (body !== '') headers['content-type'] = 'application/json';
  return body === '' ? c.body(null, failure.status, headers) : c.body(body, failure.status, headers);
}

const toUndefined = (): undefined => undefined;

// What DPoP checks: Hono's URL is absolute (on @hono/node-server built from Host), so TLS needs no flag.
const honoRequestReader: RequestReader<Context> = {
  method: (c) => c.req.method,
  url: (c) => c.req.url,
  header: (c, name) => c.req.header(name),
  encrypted: () => false,
};

/**
 * Build the per-request check shared by the middleware and the wrapper: `read` the credentials (Authorization
 * header or `getToken`) through the shared step; `admit` sets `c.get('auth')` and returns undefined, or
 * returns the failure answer (a promise of it when `onError` is async). Options are resolved here, once.
 */
function createCheck(options: HonoAuthOptions): {
  read: (c: Context) => StepOutcome | Promise<StepOutcome>;
  admit: (c: Context<AuthEnv>, outcome: StepOutcome) => Response | Promise<Response> | undefined;
} {
  const { header, token } = createAuthSteps(options, honoRequestReader);
  const { getToken, onError } = options;
  const answer =
    onError === undefined
      ? send
      : (c: Context, failure: AuthFailure): Response | Promise<Response> => {
          const r = onError(failure, c);
          if (r instanceof Promise) return r.then((res) => res ?? send(c, failure));
          return r ?? send(c, failure);
        };
  return {
    read: getToken === undefined ? (c) => header(authorizationFrom(c), c) : (c) => token(getToken(c)),
    admit(c, outcome) {
      if (!outcome.ok) return answer(c, outcome.failure);
      if (outcome.auth !== null) c.set('auth', outcome.auth);
      return undefined;
    },
  };
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
 * RFC 6750 (or `onError`'s Response). With `credentialsRequired: false`, a request without credentials goes
 * on with `c.get('auth')` undefined (type the app with OptionalAuthEnv).
 *
 * @example
 * const app = new Hono<AuthEnv>();
 * app.use('/api/*', createHonoAuth({ verifier }));
 * app.get('/api/me', (c) => c.json(c.get('auth').claims));
 */
export function createHonoAuth(
  options: HonoAuthOptions & { credentialsRequired?: true },
): MiddlewareHandler<AuthEnv>;
export function createHonoAuth(options: HonoAuthOptions): MiddlewareHandler<OptionalAuthEnv>;
export function createHonoAuth(
  options: HonoAuthOptions,
): MiddlewareHandler<AuthEnv> | MiddlewareHandler<OptionalAuthEnv> {
  const { read, admit } = createCheck(options);
  const settle = async (c: Context<AuthEnv>, next: Next, pending: Promise<StepOutcome>) => {
    const failure = await admit(c, await pending);
    if (failure !== undefined) return failure;
    await next();
    return undefined;
  };
  // Not an async function: a cache hit goes straight on to next() (its promise is what Hono awaits; the
  // middleware itself resolves to undefined so Hono keeps the response the handler set).
  return function tesseraAuth(c: Context<AuthEnv>, next: Next) {
    const outcome = read(c);
    if (outcome instanceof Promise) return settle(c, next, outcome);
    const failure = admit(c, outcome);
    return failure !== undefined ? Promise.resolve(failure) : next().then(toUndefined);
  };
}

/**
 * The same check as a handler wrapper, for routes where every microsecond counts: a route with a single
 * handler stays on Hono's fast path (no middleware composition), which no `app.use` middleware can. On
 * @hono/node-server an empty middleware alone costs about a tenth of a trivial route's requests/s; the
 * wrapper adds only the token check. Same answers and options as createHonoAuth; `c.get('auth')` is set
 * before `handler`.
 *
 * @example
 * app.get('/api/me', withHonoAuth({ verifier }, (c) => c.json(c.get('auth').claims)));
 */
export function withHonoAuth(
  options: HonoAuthOptions & { credentialsRequired?: true },
  handler: Handler<AuthEnv>,
): Handler<AuthEnv>;
export function withHonoAuth(
  options: HonoAuthOptions,
  handler: Handler<OptionalAuthEnv>,
): Handler<OptionalAuthEnv>;
export function withHonoAuth(
  options: HonoAuthOptions,
  handler: Handler<AuthEnv> | Handler<OptionalAuthEnv>,
): Handler<AuthEnv> | Handler<OptionalAuthEnv> {
  const { read, admit } = createCheck(options);
  const proceed = (c: Context<AuthEnv>, next: Next, outcome: StepOutcome) => {
    const failure = admit(c, outcome);
    return failure !== undefined ? failure : (handler as Handler<AuthEnv>)(c, next);
  };
  return function tesseraAuthHandler(c: Context<AuthEnv>, next: Next) {
    const outcome = read(c);
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
