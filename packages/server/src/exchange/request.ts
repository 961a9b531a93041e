import { invalidRequest } from '../server/errors.js';
import type { ClientRecord } from '../store/types.js';
import type { FormParams } from '../oauth/form.js';

/** RFC 8693 §3: an OAuth 2.0 access token (either of Tessera's formats). */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** RFC 8693 §3: a JWT (RFC 7519), e.g. another issuer's access token or an ID-token-like assertion. */
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** The token types Tessera accepts and issues; refresh, ID, SAML tokens are not exchanged. */
const TOKEN_TYPES: readonly string[] = [ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE];

/** The parameters of a token exchange request (RFC 8693 §2.1), checked for presence and type. */
export interface ExchangeRequest {
  subjectToken: string;
  subjectTokenType: string;
  actorToken: string | undefined;
  actorTokenType: string | undefined;
  /** The type of token to issue, and the `issued_token_type` of the answer. */
  issuedTokenType: string;
}

/**
 * Read the RFC 8693 §2.1 parameters. `subject_token` and `subject_token_type` are required;
 * `actor_token_type` must come with `actor_token` and only with it; both token types, and
 * `requested_token_type`, must be an access token or a JWT. A JWT is only issued to a client whose tokens
 * are JWTs: an opaque client asking for one is refused rather than silently given another format.
 * Anything else is `invalid_request`.
 *
 * @example
 * const request = readExchangeRequest(form, client);
 */
export function readExchangeRequest(form: FormParams, client: ClientRecord): ExchangeRequest {
  const subjectToken = form.require('subject_token');
  const subjectTokenType = form.require('subject_token_type');
  if (!TOKEN_TYPES.includes(subjectTokenType))
    throw invalidRequest('subject_token_type must be an access_token or jwt token type');
  const actorToken = form.get('actor_token');
  const actorTokenType = form.get('actor_token_type');
  if ((actorToken === undefined) !== (actorTokenType === undefined))
    throw invalidRequest('actor_token and actor_token_type go together (RFC 8693 §2.1)');
  if (actorTokenType !== undefined && !TOKEN_TYPES.includes(actorTokenType))
    throw invalidRequest('actor_token_type must be an access_token or jwt token type');
  const requested = form.get('requested_token_type') ?? ACCESS_TOKEN_TYPE;
  if (!TOKEN_TYPES.includes(requested))
    throw invalidRequest('requested_token_type must be an access_token or jwt token type');
  if (requested === JWT_TOKEN_TYPE && client.tokenFormat !== 'jwt')
    throw invalidRequest('this client is issued opaque tokens: request an access_token');
  return { subjectToken, subjectTokenType, actorToken, actorTokenType, issuedTokenType: requested };
}
