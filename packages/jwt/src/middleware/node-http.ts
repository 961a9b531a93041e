import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  authorizationOf,
  bodyText,
  checkScopeList,
  checkScopes,
  createAuthStep,
  failureFor,
  type AuthOutcome,
  type AuthFailure,
  type AuthInfo,
  type AuthOptions,
} from './shared.js';

/** A request that passed authentication: the verified claims are on `auth`. */
export interface AuthenticatedRequest extends IncomingMessage {
  auth: AuthInfo;
}

/** Write an authentication failure. */
export function sendFailure(res: ServerResponse, failure: AuthFailure): void {
  const body = bodyText(failure);
  const headers: Record<string, string> = { ...failure.headers };
  if (body !== '') headers['content-type'] = 'application/json';
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(failure.status, headers).end(body);
}

/**
 * Authentication for a plain node:http server. The returned function verifies the bearer token; on
 * success it sets `req.auth` and resolves to it, on failure it answers (401/400/403/503) and resolves to
 * undefined, so the handler simply returns.
 *
 * @example
 * const authenticate = createNodeHttpAuth({ verifier });
 * http.createServer(async (req, res) => {
 *   const auth = await authenticate(req, res);
 *   if (!auth) return;
 *   res.end(`hello ${auth.claims.sub}`);
 * });
 */
export function createNodeHttpAuth(
  options: AuthOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<AuthInfo | undefined> {
  const step = createAuthStep(options);
  return function tesseraAuth(req, res) {
    let outcome;
    try {
      outcome = step(authorizationOf(req.headers.authorization, req.rawHeaders));
    } catch (err) {
      return Promise.reject(err);
    }
    // A cache hit settles here, without an async function's extra promise and microtask hops.
    if (outcome instanceof Promise) return outcome.then((o) => settle(req, res, o));
    return Promise.resolve(settle(req, res, outcome));
  };
}

/**
 * The same check as a request-handler wrapper: `handler` runs with `req.auth` set, in the same tick on a
 * verified-token cache hit (no promise or microtask between the request and the answer); failures are
 * answered as createNodeHttpAuth answers them and `handler` is not called. An error thrown by the
 * verification itself (not a token failure) becomes a 500 without details.
 *
 * @example
 * http.createServer(withNodeHttpAuth({ verifier }, (req, res) => res.end(`hello ${req.auth.claims.sub}`)));
 */
export function withNodeHttpAuth(
  options: AuthOptions,
  handler: (req: AuthenticatedRequest, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const step = createAuthStep(options);
  const proceed = (req: IncomingMessage, res: ServerResponse, outcome: AuthOutcome) => {
    if (settle(req, res, outcome) !== undefined) handler(req as AuthenticatedRequest, res);
  };
  const failed = (res: ServerResponse) => sendFailure(res, failureFor(undefined));
  return function tesseraAuthHandler(req, res) {
    let outcome;
    try {
      outcome = step(authorizationOf(req.headers.authorization, req.rawHeaders));
    } catch {
      failed(res);
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (o) => proceed(req, res, o),
        () => failed(res),
      );
      return;
    }
    proceed(req, res, outcome);
  };
}

function settle(req: IncomingMessage, res: ServerResponse, outcome: AuthOutcome): AuthInfo | undefined {
  if (!outcome.ok) {
    sendFailure(res, outcome.failure);
    return undefined;
  }
  (req as AuthenticatedRequest).auth = outcome.auth;
  return outcome.auth;
}

/**
 * A scope check for a request that passed createNodeHttpAuth: answers 403 insufficient_scope and returns
 * false when a scope is missing.
 *
 * @example const canWrite = requireScopes('orders:write'); if (!canWrite(req, res)) return;
 */
export function requireScopes(...scopes: string[]): (req: IncomingMessage, res: ServerResponse) => boolean {
  const required = checkScopeList(scopes);
  return function checkRequiredScopes(req, res) {
    const failure = checkScopes((req as Partial<AuthenticatedRequest>).auth, required);
    if (failure) {
      sendFailure(res, failure);
      return false;
    }
    return true;
  };
}
