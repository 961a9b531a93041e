import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { invalidDpopProof, invalidRequest, invalidRequestUri, unauthorizedClient } from '../server/errors.js';
import type { ClientRecord } from '../store/types.js';
import type { FormParams } from '../oauth/form.js';
import { authenticateClient } from '../oauth/client-auth.js';
import { hashToken, randomToken } from '../oauth/crypto.js';
import { checkProof, readDpopHeader } from '../dpop/proof.js';
import { dpopEndpoints } from '../dpop/settings.js';
import {
  PAR_URN_PREFIX,
  parseStoredRequest,
  resolveRedirectUri,
  validateAuthorizationParams,
  type AuthorizationRequest,
} from './authorize-request.js';

/** RFC 9126 §2.2: short-lived; 60 s is enough to redirect the browser. */
export const PAR_TTL_SECONDS = 60;

export interface PushedRequestResponse {
  request_uri: string;
  expires_in: number;
}

/**
 * RFC 9126 §2: a confidential client pushes its authorization request. Authenticated as at the token
 * endpoint; validated like /oauth/authorize (every error as JSON); stored as a `par` pending record keyed by
 * the hash of 256 random bits. A DPoP proof with the push binds the code to its key (RFC 9449 §10.1).
 * Public clients are refused: PAR here is for confidential clients (a public
 * client gains nothing from it, and the issue scopes it so).
 *
 * @example
 * const body = await pushAuthorizationRequest(ctx, request, form); // 201
 */
export async function pushAuthorizationRequest(
  ctx: ServerContext,
  request: FastifyRequest,
  form: FormParams,
): Promise<PushedRequestResponse> {
  const client = await authenticateClient(ctx, request, form);
  if (client.authMethod === 'none')
    throw unauthorizedClient('pushed authorization requests are for confidential clients');
  if (!client.grants.includes('authorization_code'))
    throw unauthorizedClient('the client is not registered for the authorization code flow');
  // RFC 9126 §2.1: request_uri must not be pushed.
  if (form.has('request_uri')) throw invalidRequest('request_uri cannot be pushed');
  const redirectUri = resolveRedirectUri(client, form.get('redirect_uri'));
  const validated = validateAuthorizationParams(client, redirectUri, form);
  // RFC 9449 §10.1: a DPoP proof sent with the push binds the code to its key, as `dpop_jkt` does; an
  // authorization server with PAR and DPoP must take both, and refuse them when they name different keys.
  const proof = readDpopHeader(request);
  if (proof !== undefined) {
    const { jkt } = await checkProof(ctx, proof, { method: 'POST', url: dpopEndpoints(ctx).par });
    if (validated.dpopJkt !== undefined && validated.dpopJkt !== jkt)
      throw invalidDpopProof('the DPoP proof key does not match dpop_jkt');
    validated.dpopJkt = jkt;
  }

  const handle = randomToken(32);
  const now = ctx.clock();
  await ctx.store.insertPending({
    hash: hashToken(handle),
    kind: 'par',
    owner: client.id,
    data: JSON.stringify(validated),
    createdAt: now,
    expiresAt: now + PAR_TTL_SECONDS * 1000,
  });
  return { request_uri: `${PAR_URN_PREFIX}${handle}`, expires_in: PAR_TTL_SECONDS };
}

/**
 * The pushed request behind `request_uri`, for `client` (RFC 9126 §4): it must be ours, unexpired, unused
 * and pushed by the same client; it is consumed here (single use). Errors are invalid_request_uri; the
 * caller shows them on the error page (no redirect URI has been validated for this request yet).
 */
export async function takePushedRequest(
  ctx: ServerContext,
  client: ClientRecord,
  requestUri: string,
): Promise<AuthorizationRequest> {
  if (!requestUri.startsWith(PAR_URN_PREFIX) || requestUri.length > PAR_URN_PREFIX.length + 64)
    throw invalidRequestUri('unknown request_uri');
  const hash = hashToken(requestUri.slice(PAR_URN_PREFIX.length));
  const now = ctx.clock();
  // Checked before taking: another client presenting a stolen request_uri must not burn it.
  const found = await ctx.store.getPending('par', hash, now);
  if (found === undefined || found.owner !== client.id)
    throw invalidRequestUri('the request_uri is unknown, expired or already used');
  const record = await ctx.store.takePending('par', hash, now);
  let stored: AuthorizationRequest | undefined;
  try {
    stored = record && parseStoredRequest(JSON.parse(record.data));
  } catch {
    stored = undefined;
  }
  if (stored === undefined || stored.clientId !== client.id)
    throw invalidRequestUri('the request_uri is unknown, expired or already used');
  return stored;
}
