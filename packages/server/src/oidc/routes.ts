import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { toHttpError } from '../server/app.js';
import { OAuthError, invalidRequest } from '../server/errors.js';
import { answerWrongMethods } from '../server/routes/method-not-allowed.js';
import { EMPTY_FORM, FormParams, acceptForms, parseForm } from '../oauth/form.js';
import { sendErrorPage, sendLogoutPage, sendSignedOutPage } from '../pages/index.js';
import { csrfToken, verifyCsrf } from '../sessions/csrf.js';
import { endSession } from '../sessions/session.js';
import { handleAuthorize } from './authorize.js';
import { pushAuthorizationRequest } from './par.js';
import { answerUserinfo, BearerError } from './userinfo.js';
import { validateLogoutRequest } from './logout.js';
import { withQuery } from './redirect-uri.js';

/** An authorization request with a PKCE challenge and a long state is well under this. */
const FORM_BODY_LIMIT = 64 * 1024;
/** Longest query string read; beyond it the request is refused (the URL is also capped by node). */
const MAX_QUERY = 16 * 1024;

/** Routes whose errors are shown to a person (HTML error page), not to a client (JSON). */
const PAGE_ROUTES: ReadonlySet<string> = new Set(['/oauth/authorize', '/oauth/logout']);

/** The query string's parameters, with the same RFC 6749 §3.1 duplicate refusal as form bodies. */
function queryParams(request: FastifyRequest): FormParams {
  const at = request.url.indexOf('?');
  if (at === -1) return EMPTY_FORM;
  const query = request.url.slice(at + 1);
  if (query.length > MAX_QUERY) throw invalidRequest('query string too long');
  return parseForm(query);
}

/** True when the URL query names an access token (refused at userinfo, RFC 6750 §5.3). */
function queryHasAccessToken(request: FastifyRequest): boolean {
  const at = request.url.indexOf('?');
  return at !== -1 && new URLSearchParams(request.url.slice(at + 1)).has('access_token');
}

function readForm(request: FastifyRequest): FormParams {
  if (request.body === undefined || request.body === null) return EMPTY_FORM;
  if (request.body instanceof FormParams) return request.body;
  throw invalidRequest('the request body must be application/x-www-form-urlencoded');
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

/**
 * The OpenID Connect endpoints: authorization (with PAR), userinfo and RP-initiated logout. Form bodies are
 * parsed in this plugin's scope (duplicate parameters refused, RFC 6749 §3.1); errors at the authorization
 * and logout endpoints are shown on Tessera's error page (a person is looking, and nothing may be redirected
 * before the redirect URI is validated), at PAR and userinfo as JSON.
 *
 * @example
 * await app.register(oidcRoutes, { ctx });
 */
export const oidcRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  acceptForms(app, FORM_BODY_LIMIT);

  app.setErrorHandler((err, request, reply) => {
    const error = toHttpError(err);
    if (error.status >= 500 && !(err instanceof OAuthError))
      request.log.error({ err, route: request.routeOptions.url }, 'oidc endpoint failed');
    const route = request.routeOptions.url ?? '';
    if (PAGE_ROUTES.has(route)) {
      if (route === '/oauth/authorize') ctx.metrics.authorizations.inc({ result: error.error });
      const status = error.status >= 500 ? error.status : error.status === 403 ? 403 : 400;
      return sendErrorPage(reply, status, {
        title: status >= 500 ? 'Something went wrong' : 'This request cannot be completed',
        message: status >= 500 ? 'Please try again in a moment.' : error.message,
      });
    }
    noStore(reply).code(error.status).headers(error.headers);
    if (err instanceof BearerError && err.bare) return reply.send();
    return reply.send(error.toJSON());
  });

  app.get('/oauth/authorize', async (request, reply) =>
    handleAuthorize(ctx, request, reply, queryParams(request)),
  );
  app.post('/oauth/authorize', async (request, reply) =>
    handleAuthorize(ctx, request, reply, readForm(request)),
  );

  app.post('/oauth/par', async (request, reply) => {
    const body = await pushAuthorizationRequest(ctx, request, readForm(request));
    return noStore(reply).code(201).send(body);
  });

  app.get('/oauth/userinfo', async (request, reply) =>
    noStore(reply).send(await answerUserinfo(ctx, request, undefined, queryHasAccessToken(request))),
  );
  app.post('/oauth/userinfo', async (request, reply) =>
    noStore(reply).send(await answerUserinfo(ctx, request, readForm(request), queryHasAccessToken(request))),
  );

  app.get('/oauth/logout', async (request, reply) => {
    const logout = await validateLogoutRequest(ctx, queryParams(request));
    const page: Parameters<typeof sendLogoutPage>[1] = {
      csrf: csrfToken(ctx, request, reply, 'logout'),
      fields: logout.fields,
    };
    if (logout.client !== undefined) page.clientId = logout.client.id;
    if (logout.postLogoutRedirectUri !== undefined) page.returnTo = logout.postLogoutRedirectUri;
    return sendLogoutPage(reply, page);
  });
  app.post('/oauth/logout', async (request, reply) => {
    const form = readForm(request);
    const logout = await validateLogoutRequest(ctx, form);
    // A relying party may POST its logout request (RP-Initiated Logout §2): without our CSRF field it
    // is a request, so it gets the confirmation page; only the confirmation ends the session.
    if (!form.has('csrf')) {
      const page: Parameters<typeof sendLogoutPage>[1] = {
        csrf: csrfToken(ctx, request, reply, 'logout'),
        fields: logout.fields,
      };
      if (logout.client !== undefined) page.clientId = logout.client.id;
      if (logout.postLogoutRedirectUri !== undefined) page.returnTo = logout.postLogoutRedirectUri;
      return sendLogoutPage(reply, page);
    }
    verifyCsrf(ctx, request, form.get('csrf'), 'logout');
    const ended = await endSession(ctx, request, reply, 'logout');
    if (ended !== undefined) ctx.metrics.sessionsEnded.inc({ reason: 'logout' });
    if (logout.postLogoutRedirectUri !== undefined) {
      const location = withQuery(logout.postLogoutRedirectUri, { state: logout.state });
      return noStore(reply).code(303).header('location', location).send();
    }
    return sendSignedOutPage(reply);
  });

  answerWrongMethods(app, '/oauth/authorize', ['GET', 'POST']);
  answerWrongMethods(app, '/oauth/par', ['POST']);
  answerWrongMethods(app, '/oauth/userinfo', ['GET', 'POST']);
  answerWrongMethods(app, '/oauth/logout', ['GET', 'POST']);
};
