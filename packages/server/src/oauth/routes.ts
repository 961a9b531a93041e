import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { OAuthError, invalidRequest, unavailable } from '../server/errors.js';
import { StoreUnavailableError } from '../store/types.js';
import { EMPTY_FORM, FormParams, acceptForms } from './form.js';
import { authenticateClient } from './client-auth.js';
import { limitByClient, limitByIp } from './rate-limit.js';
import { checkGrantAllowed, runGrant, supportedGrantType } from './grants/index.js';
import { introspectToken } from './introspect.js';
import { revokeToken } from './revoke.js';
import { serveRevocationFeed } from './revocation-feed.js';
import { recordTokenResult } from './observe.js';
import { answerWrongMethods } from '../server/routes/method-not-allowed.js';
import { checkTokenRequestProof } from '../dpop/token-request.js';
import { dpopSettings } from '../dpop/settings.js';

/** Form bodies larger than this are refused before parsing (a token request is a few hundred bytes). */
const FORM_BODY_LIMIT = 64 * 1024;

/** RFC 6749 §5.1: token responses must not be cached. */
function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

/** The parsed form of a request; anything but `application/x-www-form-urlencoded` is invalid_request. */
function readForm(request: FastifyRequest): FormParams {
  if (request.body === undefined || request.body === null) return EMPTY_FORM;
  if (request.body instanceof FormParams) return request.body;
  throw invalidRequest('the request body must be application/x-www-form-urlencoded');
}

/**
 * Map any failure to the RFC 6749 §5.2 wire shape. OAuth errors keep their status; Fastify's own 4xx
 * (bad content type, body too large, malformed header) become invalid_request with the same status; a store
 * outage is 503; anything else is a logged 500 whose description says nothing about the cause.
 */
function toOAuthError(ctx: ServerContext, err: unknown, request: FastifyRequest): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof StoreUnavailableError) return unavailable();
  const status = (err as FastifyError | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Content type, body parse errors, bad headers: all invalid_request (400), except 413 for a huge body.
    return status === 413
      ? new OAuthError(413, 'invalid_request', 'request body too large')
      : new OAuthError(400, 'invalid_request', 'malformed request');
  }
  ctx.log.error({ err, url: request.url, method: request.method }, 'oauth endpoint failed');
  return new OAuthError(500, 'server_error', 'internal error');
}

/**
 * The OAuth endpoints: token, introspection, revocation and the revocation feed. Each handler is a short
 * list of named steps, so a request's path reads like a checklist (node-oidc-provider `actions/token.js`).
 *
 * @example
 * await app.register(oauthRoutes, { ctx });
 */
export const oauthRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  // Scoped to this plugin: form bodies are parsed here, with RFC 6749 §3.2 duplicate detection.
  acceptForms(app, FORM_BODY_LIMIT);

  app.setErrorHandler((err, request, reply) => {
    const oauthError = toOAuthError(ctx, err, request);
    const route = request.routeOptions.url ?? '';
    if (route === '/oauth/token') {
      recordTokenResult(ctx, request, oauthError.error);
    }
    noStore(reply).code(oauthError.status).headers(oauthError.headers).send(oauthError.toJSON());
  });

  app.post('/oauth/token', async (request, reply) => {
    const form = readForm(request);
    const ipLimit = limitByIp(ctx, request, 'token');
    if (ipLimit !== undefined) await ipLimit;
    const grantType = supportedGrantType(form);
    const client = await authenticateClient(ctx, request, form);
    const clientLimit = limitByClient(ctx, client.id, 'token');
    if (clientLimit !== undefined) await clientLimit;
    checkGrantAllowed(client, grantType);
    const grantRequest = await checkTokenRequestProof(ctx, request, client);
    const body = await runGrant(ctx, grantType, client, form, grantRequest);
    recordTokenResult(ctx, request, 'success', grantType);
    // RFC 9449 §8.2: the next nonce may come with any response; clients keep the latest one.
    const nonces = dpopSettings(ctx).nonces;
    if (nonces !== undefined) reply.header('dpop-nonce', nonces.current());
    return noStore(reply).send(body);
  });

  app.post('/oauth/introspect', async (request, reply) => {
    const form = readForm(request);
    const ipLimit = limitByIp(ctx, request, 'introspect');
    if (ipLimit !== undefined) await ipLimit;
    const client = await authenticateClient(ctx, request, form);
    const clientLimit = limitByClient(ctx, client.id, 'introspect');
    if (clientLimit !== undefined) await clientLimit;
    const body = await introspectToken(ctx, client, form);
    return noStore(reply).send(body);
  });

  app.post('/oauth/revoke', async (request, reply) => {
    const form = readForm(request);
    const ipLimit = limitByIp(ctx, request, 'revoke');
    if (ipLimit !== undefined) await ipLimit;
    const client = await authenticateClient(ctx, request, form);
    await revokeToken(ctx, client, form);
    // RFC 7009 §2.2: 200 whether or not the token was found, so the answer reveals nothing.
    return noStore(reply).code(200).send();
  });

  app.get('/oauth/revocations', async (request, reply) => {
    const body = await serveRevocationFeed(ctx, request);
    return noStore(reply).type('application/json').send(body);
  });

  // Issue 13: a wrong method on an endpoint that exists is 405 with Allow, not 404.
  for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke'])
    answerWrongMethods(app, path, ['POST']);
  answerWrongMethods(app, '/oauth/revocations', ['GET']);
};
