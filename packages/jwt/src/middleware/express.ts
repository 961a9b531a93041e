import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  authorizationOf,
  bodyText,
  checkScopeList,
  checkScopes,
  answerThroughHook,
  createAuthSteps,
  nodeRequestReader,
  type AdapterAuthOptions,
  type AuthFailure,
  type AuthInfo,
  type StepOutcome,
} from './shared.js';

/** A request that passed authentication: the verified claims are on `req.auth`. */
export type AuthenticatedRequest = Request & { auth: AuthInfo };

function send(res: Response, failure: AuthFailure): void {
  res.status(failure.status).set(failure.headers);
  if (failure.body === undefined) res.end();
  else res.type('application/json').send(bodyText(failure));
}

/** Options of the Express adapter: AuthOptions plus `getToken(req)` and `onError(failure, req, res)`. */
export type ExpressAuthOptions = AdapterAuthOptions<Request, Response>;

/**
 * Express middleware: verifies the bearer token and puts the claims on `req.auth`, or answers
 * 401/400/403/503 per RFC 6750 (through `onError` first when given). Unexpected errors, and errors thrown by
 * `getToken` or `onError`, go to `next(err)`. With `credentialsRequired: false`, a request without
 * credentials goes on with `req.auth` undefined.
 *
 * @example
 * app.use('/api', createExpressAuth({ verifier }));
 * app.get('/api/orders', requireScopes('orders:read'), (req, res) => res.json((req as AuthenticatedRequest).auth.claims));
 */
export function createExpressAuth(options: ExpressAuthOptions): RequestHandler {
  const { header, token } = createAuthSteps(options, nodeRequestReader);
  const { getToken, onError } = options;
  const fail =
    onError === undefined
      ? (_req: Request, res: Response, _next: NextFunction, failure: AuthFailure) => send(res, failure)
      : (req: Request, res: Response, next: NextFunction, failure: AuthFailure) => {
          try {
            answerThroughHook(
              () => onError(failure, req, res),
              () => res.headersSent,
              () => send(res, failure),
            )?.then(undefined, next);
          } catch (err) {
            next(err);
          }
        };
  const settle = (req: Request, res: Response, next: NextFunction, outcome: StepOutcome): void => {
    if (!outcome.ok) return fail(req, res, next, outcome.failure);
    if (outcome.auth !== null) (req as AuthenticatedRequest).auth = outcome.auth;
    next();
  };
  return function tesseraAuth(req: Request, res: Response, next: NextFunction): void {
    let outcome: StepOutcome | Promise<StepOutcome>;
    try {
      outcome =
        getToken === undefined
          ? header(authorizationOf(req.headers.authorization, req.rawHeaders), req)
          : token(getToken(req));
    } catch (err) {
      next(err);
      return;
    }
    // A cache hit continues in the same tick: no promise, no closure.
    if (outcome instanceof Promise) {
      outcome.then((o) => settle(req, res, next, o), next);
      return;
    }
    settle(req, res, next, outcome);
  };
}

/**
 * Express middleware that answers 403 insufficient_scope unless `req.auth` carries every scope.
 *
 * @example app.post('/api/orders', requireScopes('orders:write'), handler);
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  const required = checkScopeList(scopes);
  return function checkRequiredScopes(req: Request, res: Response, next: NextFunction): void {
    const failure = checkScopes((req as Partial<AuthenticatedRequest>).auth, required);
    if (failure) send(res, failure);
    else next();
  };
}
