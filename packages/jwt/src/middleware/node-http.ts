import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  authorizationOf,
  bodyText,
  checkScopeList,
  checkScopes,
  answerThroughHook,
  createAuthSteps,
  nodeRequestReader,
  failureFor,
  type AdapterAuthOptions,
  type AuthFailure,
  type AuthInfo,
  type StepOutcome,
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

/** Options of the node:http adapter: AuthOptions plus `getToken(req)` and `onError(failure, req, res)`. */
export type NodeHttpAuthOptions = AdapterAuthOptions<IncomingMessage, ServerResponse>;

/** A request that went through the check with `credentialsRequired: false`: `auth` is null without credentials. */
export interface OptionallyAuthenticatedRequest extends IncomingMessage {
  auth: AuthInfo | null;
}

/**
 * Build the per-request check: read the credentials (Authorization header, or `getToken`), run the shared
 * step, and answer failures (through `onError` when given). The default path is one closure call and no
 * per-request branching on options: each choice is made here, once.
 */
function createCheck(options: NodeHttpAuthOptions): {
  read: (req: IncomingMessage) => StepOutcome | Promise<StepOutcome>;
  fail: (req: IncomingMessage, res: ServerResponse, failure: AuthFailure) => void | Promise<void>;
} {
  const { header, token } = createAuthSteps(options, nodeRequestReader);
  const { getToken, onError } = options;
  return {
    read:
      getToken === undefined
        ? (req) => header(authorizationOf(req.headers.authorization, req.rawHeaders), req)
        : (req) => token(getToken(req)),
    fail:
      onError === undefined
        ? (_req, res, failure) => sendFailure(res, failure)
        : (req, res, failure) =>
            answerThroughHook(
              () => onError(failure, req, res),
              () => res.headersSent || res.writableEnded,
              () => sendFailure(res, failure),
            ),
  };
}

/**
 * Authentication for a plain node:http server. The returned function verifies the bearer token; on
 * success it sets `req.auth` and resolves to it, on failure it answers (401/400/403/503, or through
 * `onError`) and resolves to undefined, so the handler simply returns. With `credentialsRequired: false`, a
 * request without credentials resolves to null (and `req.auth` is null): test for undefined, not falsiness.
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
  options: NodeHttpAuthOptions & { credentialsRequired?: true },
): (req: IncomingMessage, res: ServerResponse) => Promise<AuthInfo | undefined>;
export function createNodeHttpAuth(
  options: NodeHttpAuthOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<AuthInfo | null | undefined>;
export function createNodeHttpAuth(
  options: NodeHttpAuthOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<AuthInfo | null | undefined> {
  const { read, fail } = createCheck(options);
  const settle = (req: IncomingMessage, res: ServerResponse, outcome: StepOutcome) => {
    if (outcome.ok) {
      (req as OptionallyAuthenticatedRequest).auth = outcome.auth;
      return outcome.auth;
    }
    const answered = fail(req, res, outcome.failure);
    return answered === undefined ? undefined : answered.then(toUndefined);
  };
  return function tesseraAuth(req, res) {
    let outcome;
    try {
      outcome = read(req);
    } catch (err) {
      return Promise.reject(err);
    }
    // A cache hit settles here, without an async function's extra promise and microtask hops.
    if (outcome instanceof Promise) return outcome.then((o) => settle(req, res, o));
    try {
      return Promise.resolve(settle(req, res, outcome));
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

const toUndefined = (): undefined => undefined;

/**
 * The same check as a request-handler wrapper: `handler` runs with `req.auth` set, in the same tick on a
 * verified-token cache hit (no promise or microtask between the request and the answer); failures are
 * answered as createNodeHttpAuth answers them and `handler` is not called. An error thrown by the
 * verification itself (not a token failure), by `getToken` or by `onError` becomes a 500 without details.
 * With `credentialsRequired: false`, `handler` also runs for a request without credentials, `req.auth` null.
 *
 * @example
 * http.createServer(withNodeHttpAuth({ verifier }, (req, res) => res.end(`hello ${req.auth.claims.sub}`)));
 */
export function withNodeHttpAuth(
  options: NodeHttpAuthOptions & { credentialsRequired?: true },
  handler: (req: AuthenticatedRequest, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void;
export function withNodeHttpAuth(
  options: NodeHttpAuthOptions,
  handler: (req: OptionallyAuthenticatedRequest, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void;
export function withNodeHttpAuth(
  options: NodeHttpAuthOptions,
  handler: (req: AuthenticatedRequest, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { read, fail } = createCheck(options);
  const failed = (res: ServerResponse) => {
    if (!res.headersSent) sendFailure(res, failureFor(undefined));
  };
  const proceed = (req: IncomingMessage, res: ServerResponse, outcome: StepOutcome) => {
    if (outcome.ok) {
      (req as OptionallyAuthenticatedRequest).auth = outcome.auth;
      handler(req as AuthenticatedRequest, res);
      return;
    }
    let answered;
    try {
      answered = fail(req, res, outcome.failure);
    } catch {
      failed(res);
      return;
    }
    answered?.then(undefined, () => failed(res));
  };
  return function tesseraAuthHandler(req, res) {
    let outcome;
    try {
      outcome = read(req);
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
