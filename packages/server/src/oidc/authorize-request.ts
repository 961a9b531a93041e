import type { ServerContext } from '../server/context.js';
import {
  OAuthError,
  invalidRequest,
  invalidScope,
  requestNotSupported,
  requestUriNotSupported,
  unsupportedResponseType,
} from '../server/errors.js';
import type { ClientRecord } from '../store/types.js';
import type { FormParams } from '../oauth/form.js';
import { parseScope } from '../oauth/scope.js';
import { matchRedirectUri } from './redirect-uri.js';

/** A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), as stored while it waits. */
export interface AuthorizationRequest {
  clientId: string;
  /** The redirect_uri as sent (it matched a registered one); the token request must repeat it. */
  redirectUri: string;
  scope: string[];
  state?: string;
  nonce?: string;
  /** RFC 7636 S256 code challenge. */
  codeChallenge: string;
  /** Distinct `prompt` values: `none` alone, or `login` and/or `consent`. */
  prompt: string[];
  /** Seconds (OIDC Core §3.1.2.1). */
  maxAge?: number;
  loginHint?: string;
  /** RFC 9449 §10: the thumbprint of the DPoP key the code is bound to. */
  dpopJkt?: string;
}

/**
 * An error found before the client and its redirect URI are known to be good: shown on Tessera's own error
 * page and never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11: no open redirector).
 */
export class UnredirectableError extends OAuthError {
  override readonly name = 'UnredirectableError';
}

/** Scopes every authorization_code client may ask for (OIDC Core §5.4, §11); others must be registered. */
export const OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'offline_access'];

/** Our pushed request_uri prefix (RFC 9126 §2.2). */
export const PAR_URN_PREFIX = 'urn:ietf:params:oauth:request_uri:';

/** `state` and `nonce` longer than this are refused (they travel in URLs and tokens). */
const MAX_OPAQUE_VALUE = 512;
const MAX_LOGIN_HINT = 320;
const MAX_REDIRECT_URI = 2048;
const PROMPTS: ReadonlySet<string> = new Set(['none', 'login', 'consent']);
/** RFC 7636 §4.2: BASE64URL(SHA-256(verifier)) is exactly 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 9449 §10: `dpop_jkt` is an RFC 7638 SHA-256 thumbprint, base64url: 43 characters. */
const JKT = /^[A-Za-z0-9_-]{43}$/;

const unredirectable = (description: string) => new UnredirectableError(400, 'invalid_request', description);

/**
 * The client named by `client_id`; it must exist and be registered for the authorization_code grant.
 * Errors are UnredirectableError.
 */
export async function resolveAuthorizeClient(
  ctx: ServerContext,
  clientId: string | undefined,
): Promise<ClientRecord> {
  if (clientId === undefined) throw unredirectable('missing required parameter "client_id"');
  if (clientId.length > 256) throw unredirectable('unknown client');
  const client = await ctx.store.getClient(clientId);
  if (client === undefined) throw unredirectable('unknown client');
  if (!client.grants.includes('authorization_code'))
    throw new UnredirectableError(
      400,
      'unauthorized_client',
      'the client is not registered for the authorization code flow',
    );
  return client;
}

/**
 * The request's redirect_uri, REQUIRED (OIDC Core §3.1.2.1) and matched exactly against the registered ones
 * (see matchRedirectUri). Errors are UnredirectableError.
 */
export function resolveRedirectUri(client: ClientRecord, given: string | undefined): string {
  if (given === undefined) throw unredirectable('missing required parameter "redirect_uri"');
  if (given.length > MAX_REDIRECT_URI || matchRedirectUri(client.redirectUris ?? [], given) === undefined)
    throw unredirectable('the redirect_uri is not registered for this client');
  return given;
}

/** `state` when it may be echoed back: present and not oversized. */
export function echoableState(params: FormParams): string | undefined {
  const state = params.get('state');
  return state !== undefined && state.length <= MAX_OPAQUE_VALUE ? state : undefined;
}

function parsePrompt(value: string | undefined): string[] {
  if (value === undefined) return [];
  const values = [...new Set(value.split(' ').filter((v) => v !== ''))];
  for (const v of values) if (!PROMPTS.has(v)) throw invalidRequest('unsupported prompt value');
  // OIDC Core §3.1.2.1: "none" with any other value is an error.
  if (values.includes('none') && values.length > 1)
    throw invalidRequest('prompt=none cannot be combined with other values');
  return values;
}

function parseMaxAge(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw invalidRequest('max_age must be a non-negative integer');
  return Number(value);
}

function bounded(params: FormParams, name: string, max: number): string | undefined {
  const value = params.get(name);
  if (value !== undefined && value.length > max) throw invalidRequest(`${name} is too long`);
  return value;
}

/** Scopes: openid/profile/email/offline_access always, anything else only when registered (invalid_scope). */
function resolveRequestedScope(client: ClientRecord, value: string | undefined): string[] {
  // A missing scope is refused rather than defaulted: the client should say what it wants (RFC 6749 §3.3
  // leaves the choice; a default would grant more than an OIDC client that forgot `openid` expects).
  if (value === undefined) throw invalidScope('missing required parameter "scope"');
  const scope = parseScope(value);
  if (scope.length === 0) throw invalidScope('scope must name at least one scope token');
  const outside = scope.filter((s) => !OIDC_SCOPES.includes(s) && !client.scope.includes(s));
  if (outside.length > 0) throw invalidScope('requested scope exceeds the scope granted to the client');
  return scope;
}

/**
 * Validate everything but the client and redirect URI (already checked): response_type, request objects,
 * PKCE, scope, state, nonce, prompt, max_age, login_hint, response_mode, dpop_jkt. Errors are plain OAuthErrors the
 * caller sends back to the client (or, at the PAR endpoint, answers as JSON).
 *
 * @example
 * const request = validateAuthorizationParams(client, redirectUri, params);
 */
export function validateAuthorizationParams(
  client: ClientRecord,
  redirectUri: string,
  params: FormParams,
): AuthorizationRequest {
  // OIDC Core §6: request objects are not supported (only PAR's request_uri, handled before this).
  if (params.has('request')) throw requestNotSupported('request objects are not supported; use PAR');
  if (params.has('request_uri')) throw requestUriNotSupported('request_uri is only accepted from PAR');
  const responseType = params.get('response_type');
  if (responseType === undefined) throw invalidRequest('missing required parameter "response_type"');
  if (responseType !== 'code') throw unsupportedResponseType('only response_type=code is supported');
  const responseMode = params.get('response_mode');
  if (responseMode !== undefined && responseMode !== 'query')
    throw invalidRequest('only response_mode=query is supported');

  // RFC 9700 §2.1.1 and RFC 7636: PKCE for every client, S256 only (plain exposes the verifier).
  const challenge = params.get('code_challenge');
  if (challenge === undefined) throw invalidRequest('code_challenge is required (PKCE, RFC 7636)');
  const method = params.get('code_challenge_method');
  if (method === 'plain') throw invalidRequest('code_challenge_method must be S256; only S256 is supported');
  if (method !== 'S256') throw invalidRequest('code_challenge_method must be S256');
  if (!S256_CHALLENGE.test(challenge)) throw invalidRequest('code_challenge must be 43 base64url characters');

  const state = bounded(params, 'state', MAX_OPAQUE_VALUE);
  const nonce = bounded(params, 'nonce', MAX_OPAQUE_VALUE);
  const loginHint = bounded(params, 'login_hint', MAX_LOGIN_HINT);
  const prompt = parsePrompt(params.get('prompt'));
  const maxAge = parseMaxAge(params.get('max_age'));
  const scope = resolveRequestedScope(client, params.get('scope'));
  const dpopJkt = params.get('dpop_jkt');
  if (dpopJkt !== undefined && !JKT.test(dpopJkt))
    throw invalidRequest('dpop_jkt must be a base64url SHA-256 JWK thumbprint (RFC 9449 §10)');

  const request: AuthorizationRequest = {
    clientId: client.id,
    redirectUri,
    scope,
    codeChallenge: challenge,
    prompt,
  };
  if (state !== undefined) request.state = state;
  if (nonce !== undefined) request.nonce = nonce;
  if (maxAge !== undefined) request.maxAge = maxAge;
  if (loginHint !== undefined) request.loginHint = loginHint;
  if (dpopJkt !== undefined) request.dpopJkt = dpopJkt;
  return request;
}

/** Read back a stored request (PAR or interaction record); undefined when it does not look like one. */
export function parseStoredRequest(data: unknown): AuthorizationRequest | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const r = data as Partial<AuthorizationRequest>;
  if (
    typeof r.clientId !== 'string' ||
    typeof r.redirectUri !== 'string' ||
    !Array.isArray(r.scope) ||
    typeof r.codeChallenge !== 'string' ||
    !Array.isArray(r.prompt)
  )
    return undefined;
  return r as AuthorizationRequest;
}
