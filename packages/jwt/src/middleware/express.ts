import type { NextFunction, Request, RequestHandler, Response } from 'express';
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

/** A request that passed authentication: the verified claims are on `req.auth`. */
export type AuthenticatedRequest = Request & { auth: AuthInfo };

function send(res: Response, failure: AuthFailure): void {
  res.status(failure.status).set(failure.headers);
  if (failure.body === undefined) res.end();
  else res.type('application/json').send(bodyText(failure));
}

/**
 * Express middleware: verifies the bearer token and puts the claims on `req.auth`, or answers
 * 401/400/403/503 per RFC 6750. Unexpected errors go to `next(err)`.
 *
 * @example
 * app.use('/api', createExpressAuth({ verifier }));
 * app.get('/api/orders', requireScopes('orders:read'), (req, res) => res.json((req as AuthenticatedRequest).auth.claims));
 */
export function createExpressAuth(options: AuthOptions): RequestHandler {
  const step = createAuthStep(options);
  return function tesseraAuth(req: Request, res: Response, next: NextFunction): void {
    let outcome: AuthOutcome | Promise<AuthOutcome>;
    try {
      outcome = step(authorizationOf(req.headers.authorization, req.rawHeaders));
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

function settle(req: Request, res: Response, next: NextFunction, outcome: AuthOutcome): void {
  if (!outcome.ok) return send(res, outcome.failure);
  (req as AuthenticatedRequest).auth = outcome.auth;
  next();
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
