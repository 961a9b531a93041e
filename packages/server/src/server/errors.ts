/**
 * HTTP-facing errors: the JOSE core never knows a status code; the server maps its failures to these.
 * The wire shape is RFC 6749 §5.2: `{ "error": …, "error_description": … }`. Descriptions are fixed text,
 * never a token, secret or key.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_token'
  | 'unsupported_token_type'
  | 'slow_down'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'login_required'
  | 'consent_required'
  | 'invalid_request_uri'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'temporarily_unavailable'
  | 'server_error'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

export class OAuthError extends Error {
  override readonly name: string = 'OAuthError';
  readonly status: number;
  readonly error: OAuthErrorCode;
  /** Extra response headers, e.g. WWW-Authenticate for invalid_client, Retry-After for rate limits. */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    error: OAuthErrorCode,
    description: string,
    headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(description, options);
    this.status = status;
    this.error = error;
    this.headers = headers;
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.message };
  }
}

export const invalidRequest = (d: string) => new OAuthError(400, 'invalid_request', d);
export const invalidGrant = (d: string) => new OAuthError(400, 'invalid_grant', d);
export const invalidScope = (d: string) => new OAuthError(400, 'invalid_scope', d);
/** RFC 8707 §2: the requested resource or audience is invalid, missing, unknown or malformed. */
export const invalidTarget = (d: string) => new OAuthError(400, 'invalid_target', d);
export const unauthorizedClient = (d: string) => new OAuthError(400, 'unauthorized_client', d);
export const unsupportedGrantType = (d: string) => new OAuthError(400, 'unsupported_grant_type', d);
/** RFC 6749 §5.2: 401 with a WWW-Authenticate challenge for the scheme the client tried. */
export const invalidClient = (d: string, scheme = 'Basic') =>
  new OAuthError(401, 'invalid_client', d, { 'www-authenticate': `${scheme} realm="tessera"` });
export const rateLimited = (retryAfterSeconds: number) =>
  new OAuthError(429, 'slow_down', 'too many requests', {
    'retry-after': String(Math.ceil(retryAfterSeconds)),
  });
export const unavailable = (d = 'the token service is temporarily unavailable') =>
  new OAuthError(503, 'temporarily_unavailable', d, { 'retry-after': '1' });
/** RFC 6749 §4.1.2.1: the resource owner or the server denied the request. */
export const accessDenied = (d: string) => new OAuthError(400, 'access_denied', d);
/** RFC 6749 §4.1.2.1: only `response_type=code` is served. */
export const unsupportedResponseType = (d: string) => new OAuthError(400, 'unsupported_response_type', d);
/** OIDC Core §3.1.2.6: `prompt=none` and no usable session. */
export const loginRequired = (d: string) => new OAuthError(400, 'login_required', d);
/** OIDC Core §3.1.2.6: `prompt=none` and the user has not consented. */
export const consentRequired = (d: string) => new OAuthError(400, 'consent_required', d);
/** RFC 9126 §4: the `request_uri` is unknown, expired, used or belongs to another client. */
export const invalidRequestUri = (d: string) => new OAuthError(400, 'invalid_request_uri', d);
/** OIDC Core §6: request objects (`request`) are not supported. */
export const requestNotSupported = (d: string) => new OAuthError(400, 'request_not_supported', d);
/** OIDC Core §6: `request_uri` other than a pushed request's is not supported. */
export const requestUriNotSupported = (d: string) => new OAuthError(400, 'request_uri_not_supported', d);
/**
 * RFC 9449 §5 (token endpoint), §7.1 (resources): the DPoP proof is missing where one is required, malformed,
 * replayed, or does not match the request or the key the grant is bound to.
 */
export const invalidDpopProof = (d: string) => new OAuthError(400, 'invalid_dpop_proof', d);
/**
 * RFC 9449 §8: the proof must carry the server's current nonce, sent back in `DPoP-Nonce`; the client
 * retries with a new proof that includes it.
 */
export const useDpopNonce = (nonce: string, d = 'a DPoP nonce is required: retry with the nonce given') =>
  new OAuthError(400, 'use_dpop_nonce', d, { 'dpop-nonce': nonce });
