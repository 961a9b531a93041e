import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { OAuthError, invalidRequest } from '../server/errors.js';
import type { FormParams } from '../oauth/form.js';
import {
  PAR_URN_PREFIX,
  UnredirectableError,
  echoableState,
  resolveAuthorizeClient,
  resolveRedirectUri,
  validateAuthorizationParams,
  type AuthorizationRequest,
} from './authorize-request.js';
import { takePushedRequest } from './par.js';
import { authorizeWithBrowserSession, redirectError } from './interaction.js';

/**
 * `GET`/`POST /oauth/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2), as a checklist:
 * 1. the client (UnredirectableError: Tessera's error page);
 * 2. a pushed request (RFC 9126 §4: its parameters only; the URL's others are ignored), or
 * 3. the redirect URI (UnredirectableError), then every other parameter (errors back to the client);
 * 4. the decision with the browser's session (sign-in, consent, or a code).
 *
 * @example
 * return handleAuthorize(ctx, request, reply, params);
 */
export async function handleAuthorize(
  ctx: ServerContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  params: FormParams,
): Promise<FastifyReply> {
  const client = await resolveAuthorizeClient(ctx, params.get('client_id'));
  const requestUri = params.get('request_uri');
  let request: AuthorizationRequest;
  if (requestUri !== undefined && requestUri.startsWith(PAR_URN_PREFIX)) {
    try {
      request = await takePushedRequest(ctx, client, requestUri);
    } catch (err) {
      // No redirect URI of this request has been checked yet: the error page, never a redirect.
      if (err instanceof OAuthError) throw new UnredirectableError(err.status, err.error, err.message);
      throw err;
    }
    // The registration may have changed in the seconds since the push.
    resolveRedirectUri(client, request.redirectUri);
  } else {
    const redirectUri = resolveRedirectUri(client, params.get('redirect_uri'));
    try {
      // RFC 9126 §5: a client registered with require_pushed_authorization_requests must use PAR.
      if (client.requirePar === true)
        throw invalidRequest('this client must use pushed authorization requests (PAR)');
      request = validateAuthorizationParams(client, redirectUri, params);
    } catch (err) {
      if (err instanceof OAuthError && !(err instanceof UnredirectableError))
        return redirectError(ctx, reply, { redirectUri, state: echoableState(params) }, err);
      throw err;
    }
  }
  return authorizeWithBrowserSession(ctx, httpRequest, reply, client, request);
}
