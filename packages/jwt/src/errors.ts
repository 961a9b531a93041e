/**
 * One error family for everything @tessera/jwt rejects. Each class carries a stable `code` that callers
 * can `switch` on; messages are fixed or name a claim, and never echo a token, a key or a secret.
 * Parse and signature failures say nothing about the token's content (STYLE: jose `JWTClaimValidationFailed`).
 *
 * @example
 * try { await verifier.verify(token) } catch (err) {
 *   if (err instanceof TesseraError && err.code === 'ERR_JWT_EXPIRED') refresh();
 * }
 */
export class TesseraError extends Error {
  readonly code: TesseraErrorCode = 'ERR_TESSERA';
  static readonly code: TesseraErrorCode = 'ERR_TESSERA';

  constructor(message?: string, options?: { cause?: unknown }) {
    super(message ?? 'token rejected', options);
    this.name = new.target.name;
    this.code = (new.target as typeof TesseraError).code;
  }
}

/** The token is not a well-formed compact JWS (segments, base64url, JSON, header members). */
export class JWSInvalid extends TesseraError {
  static override readonly code = 'ERR_JWS_INVALID';
  constructor(message = 'malformed JWS', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The signature does not verify under the selected key. */
export class JWSSignatureVerificationFailed extends TesseraError {
  static override readonly code = 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED';
  constructor(message = 'signature verification failed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The token's `alg` is not in the verifier's allow-list, or not one the selected key may serve. */
export class JOSEAlgNotAllowed extends TesseraError {
  static override readonly code = 'ERR_JOSE_ALG_NOT_ALLOWED';
  constructor(message = 'algorithm not allowed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A header parameter or extension Tessera refuses to process (`crit`, `b64: false`, `zip`). */
export class JOSENotSupported extends TesseraError {
  static override readonly code = 'ERR_JOSE_NOT_SUPPORTED';
  constructor(message = 'unsupported JOSE feature', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** No trusted key matches the token's `kid` and `alg`. */
export class JWKSNoMatchingKey extends TesseraError {
  static override readonly code = 'ERR_JWKS_NO_MATCHING_KEY';
  constructor(message = 'no trusted key matches the token', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** More than one trusted key fits a token that names no `kid`. */
export class JWKSMultipleMatchingKeys extends TesseraError {
  static override readonly code = 'ERR_JWKS_MULTIPLE_MATCHING_KEYS';
  constructor(message = 'token has no kid and several trusted keys fit', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A JWK Set is malformed (not an object with a `keys` array, too many keys, duplicate kids, mixed kinds). */
export class JWKSInvalid extends TesseraError {
  static override readonly code = 'ERR_JWKS_INVALID';
  constructor(message = 'invalid JWK Set', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The key set could not be fetched (network, status, size, timeout). */
export class JWKSFetchFailed extends TesseraError {
  static override readonly code = 'ERR_JWKS_FETCH_FAILED';
  constructor(message = 'JWKS fetch failed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An unknown `kid` arrived during the refetch cooldown; no network request was made. */
export class JWKSCooldown extends TesseraError {
  static override readonly code = 'ERR_JWKS_COOLDOWN';
  constructor(message = 'unknown kid during JWKS refetch cooldown', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The cached key set is older than the stale-if-error window allows and the issuer is unreachable. */
export class JWKSStale extends TesseraError {
  static override readonly code = 'ERR_JWKS_STALE';
  constructor(message = 'key set is stale beyond the allowed window', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A key is unusable: wrong type, too small, malformed, or its JWK metadata forbids the operation. */
export class JWKInvalid extends TesseraError {
  static override readonly code = 'ERR_JWK_INVALID';
  constructor(message = 'invalid key', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The token's `exp` has passed (with clock tolerance). */
export class JWTExpired extends TesseraError {
  static override readonly code = 'ERR_JWT_EXPIRED';
  readonly claim = 'exp';
  constructor(message = '"exp" claim timestamp check failed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The token's `nbf` (or `iat`) lies in the future (with clock tolerance). */
export class JWTNotYetValid extends TesseraError {
  static override readonly code = 'ERR_JWT_NOT_YET_VALID';
  readonly claim: string;
  constructor(claim = 'nbf', message?: string, options?: { cause?: unknown }) {
    super(message ?? `"${claim}" claim timestamp check failed`, options);
    this.claim = claim;
  }
}

/** A claim is missing, of the wrong type, or does not match the verifier's expectation. */
export class JWTClaimInvalid extends TesseraError {
  static override readonly code = 'ERR_JWT_CLAIM_INVALID';
  readonly claim: string;
  readonly reason: string;
  constructor(claim: string, reason: string, options?: { cause?: unknown }) {
    super(`"${claim}" claim ${reason}`, options);
    this.claim = claim;
    this.reason = reason;
  }
}

/** The token's delegation chain (`act`, RFC 8693 §4.1) has more actors than the verifier accepts. */
export class ActorChainTooDeep extends TesseraError {
  static override readonly code = 'ERR_JWT_ACTOR_CHAIN_TOO_DEEP';
  readonly claim = 'act';
  constructor(message = 'the "act" delegation chain is too deep', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The token is longer than the configured limit; checked before anything else. */
export class TokenTooLarge extends TesseraError {
  static override readonly code = 'ERR_TOKEN_TOO_LARGE';
  constructor(message = 'token exceeds the size limit', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The token's `jti`, subject or key was revoked. */
export class TokenRevoked extends TesseraError {
  static override readonly code = 'ERR_TOKEN_REVOKED';
  constructor(message = 'token revoked', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The revocation feed is stale beyond its bound and the policy is fail-closed. */
export class RevocationStale extends TesseraError {
  static override readonly code = 'ERR_REVOCATION_STALE';
  constructor(
    message = 'revocation data is stale and the policy is fail-closed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An opaque token was inactive at introspection, or introspection failed. */
export class TokenInactive extends TesseraError {
  static override readonly code = 'ERR_TOKEN_INACTIVE';
  constructor(message = 'token is not active', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Introspection could not be performed (network, status, malformed answer). `retryAfter` (seconds) is set
 * when the call was not made because the introspection budget is spent or the token service answered 429;
 * the middleware answers those with 503 and `Retry-After`.
 */
export class IntrospectionFailed extends TesseraError {
  static override readonly code = 'ERR_INTROSPECTION_FAILED';
  readonly retryAfter?: number;
  constructor(message = 'introspection failed', options?: { cause?: unknown; retryAfter?: number }) {
    super(message, options);
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** The caller passed invalid options to a factory or function (a programming error, not a bad token). */
export class InvalidOptions extends TesseraError {
  static override readonly code = 'ERR_INVALID_OPTIONS';
  constructor(message = 'invalid options', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What the OAuth layer answers for a DPoP failure (RFC 9449 §7.1, §8, §12.2). */
export type DpopWireError = 'invalid_dpop_proof' | 'use_dpop_nonce';

/**
 * The base of every DPoP error, and what a malformed proof throws (not a compact JWS of three segments,
 * non-canonical base64url, invalid UTF-8 or JSON, a member of the wrong type). Every `ERR_DPOP_*` class extends
 * it, so `err instanceof DpopProofInvalid` catches them all and `err.wireError` is the OAuth error to answer
 * with: `use_dpop_nonce` for DpopUseNonce, `invalid_dpop_proof` for everything else.
 *
 * @example if (err instanceof DpopProofInvalid) reply.code(401).header('WWW-Authenticate', `DPoP error="${err.wireError}"`);
 */
export class DpopProofInvalid extends TesseraError {
  static override readonly code: TesseraErrorCode = 'ERR_DPOP_PROOF_INVALID';
  readonly wireError: DpopWireError = 'invalid_dpop_proof';
  constructor(message = 'malformed DPoP proof', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The DPoP proof is longer than the limit (8 KiB); checked before it is parsed. */
export class DpopProofTooLarge extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_PROOF_TOO_LARGE';
  constructor(message = 'DPoP proof exceeds the size limit', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `typ` header is not exactly `dpop+jwt` (RFC 9449 §4.2), so it may be another kind of JWT. */
export class DpopTypInvalid extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_TYP_INVALID';
  constructor(message = 'DPoP proof "typ" is not "dpop+jwt"', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `alg` is not on the accepted list, or is symmetric (`HS*`) or `none` (RFC 9449 §4.3). */
export class DpopAlgNotAllowed extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_ALG_NOT_ALLOWED';
  constructor(message = 'DPoP proof algorithm not allowed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `jwk` header is missing, malformed, unsupported, or its key type or curve does not fit `alg`. */
export class DpopJwkInvalid extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_JWK_INVALID';
  constructor(message = 'DPoP proof "jwk" is not a usable public key', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `jwk` carries private key members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`, …): RFC 9449 §4.3. */
export class DpopJwkPrivate extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_JWK_PRIVATE';
  constructor(message = 'DPoP proof "jwk" contains private key members', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's signature does not verify under its own `jwk`. */
export class DpopSignatureInvalid extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_SIGNATURE_INVALID';
  constructor(message = 'DPoP proof signature verification failed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `jti` is missing, not a string, empty or too long. */
export class DpopJtiInvalid extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_JTI_INVALID';
  constructor(message = 'DPoP proof "jti" is missing or invalid', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `jti` was seen before within the window: a replayed proof (RFC 9449 §11.1). */
export class DpopProofReplayed extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_PROOF_REPLAYED';
  constructor(message = 'DPoP proof was already used', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `htm` is missing or is not the request's method (RFC 9449 §4.3). */
export class DpopHtmMismatch extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_HTM_MISMATCH';
  constructor(message = 'DPoP proof "htm" does not match the request method', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `htu` is missing, not an http(s) URL, or not the request's URL after normalisation. */
export class DpopHtuMismatch extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_HTU_MISMATCH';
  constructor(message = 'DPoP proof "htu" does not match the request URL', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `iat` is missing or not a number. */
export class DpopIatInvalid extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_IAT_INVALID';
  constructor(message = 'DPoP proof "iat" is missing or not a number', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `iat` lies outside the accepted window, in the past (stale) or the future (RFC 9449 §11.1). */
export class DpopIatOutOfWindow extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_IAT_OUT_OF_WINDOW';
  constructor(message = 'DPoP proof "iat" is outside the accepted window', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The proof's `ath` is missing or is not the hash of the presented access token (RFC 9449 §4.3, §7). */
export class DpopAthMismatch extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_ATH_MISMATCH';
  constructor(message = 'DPoP proof "ath" does not match the access token', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The proof carries no `nonce` where one is required, or one the server no longer accepts (RFC 9449 §8, §9).
 * Answered as `use_dpop_nonce` with a fresh `DPoP-Nonce` header; the client retries with it.
 */
export class DpopUseNonce extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_USE_NONCE';
  override readonly wireError: DpopWireError = 'use_dpop_nonce';
  /** The nonce to send back in `DPoP-Nonce`, when the thrower knows it (verifyRequest with `dpopOptions.nonce`). */
  readonly nonce?: string;
  constructor(
    message = 'DPoP proof nonce missing or not accepted',
    options?: { cause?: unknown; nonce?: string },
  ) {
    super(message, options);
    if (options?.nonce !== undefined) this.nonce = options.nonce;
  }
}

/** A request used the `DPoP` scheme without exactly one `DPoP` proof header (RFC 9449 §4.3 (1), §7.1). */
export class DpopProofMissing extends DpopProofInvalid {
  static override readonly code = 'ERR_DPOP_PROOF_MISSING';
  constructor(message = 'DPoP proof missing', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The access token is not bound to the proof's key: its `cnf.jkt` is another key's thumbprint, or it has no
 * `cnf.jkt` at all and came with the `DPoP` scheme (RFC 9449 §6.1, §7.1). Answered `invalid_token`.
 */
export class DpopBindingMismatch extends TesseraError {
  static override readonly code = 'ERR_DPOP_BINDING_MISMATCH';
  constructor(
    message = 'the access token is not bound to the DPoP proof key',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A DPoP-bound token (one with `cnf.jkt`) came with the `Bearer` scheme: without its proof it is just a copied
 * token (RFC 9449 §7.2). Answered `invalid_token`.
 */
export class DpopBoundTokenAsBearer extends TesseraError {
  static override readonly code = 'ERR_DPOP_BOUND_TOKEN_AS_BEARER';
  constructor(
    message = 'a DPoP-bound access token was presented as a bearer token',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The verifier is configured with `dpop: 'required'` and the request used the `Bearer` scheme. */
export class DpopRequired extends TesseraError {
  static override readonly code = 'ERR_DPOP_REQUIRED';
  constructor(message = 'a DPoP-bound access token is required', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The DPoP replay store could not be asked (e.g. Redis down): the proof's freshness is unknown, so it fails closed. */
export class DpopReplayCheckFailed extends TesseraError {
  static override readonly code = 'ERR_DPOP_REPLAY_CHECK_FAILED';
  constructor(message = 'the DPoP replay check could not be performed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** verifyRequest found no `Authorization` credentials of a scheme it serves (`Bearer`, or `DPoP` when enabled). */
export class AuthorizationMissing extends TesseraError {
  static override readonly code = 'ERR_AUTHORIZATION_MISSING';
  constructor(message = 'no access token in the request', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** verifyRequest found an `Authorization` header that is not `<scheme> <b64token>`, or several of them. */
export class AuthorizationInvalid extends TesseraError {
  static override readonly code = 'ERR_AUTHORIZATION_INVALID';
  constructor(message = 'the Authorization header is malformed', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Every error class, so docs and tests can enumerate the codes. */
export const errorClasses = [
  TesseraError,
  JWSInvalid,
  JWSSignatureVerificationFailed,
  JOSEAlgNotAllowed,
  JOSENotSupported,
  JWKSNoMatchingKey,
  JWKSMultipleMatchingKeys,
  JWKSInvalid,
  JWKSFetchFailed,
  JWKSCooldown,
  JWKSStale,
  JWKInvalid,
  JWTExpired,
  JWTNotYetValid,
  JWTClaimInvalid,
  ActorChainTooDeep,
  TokenTooLarge,
  TokenRevoked,
  RevocationStale,
  TokenInactive,
  IntrospectionFailed,
  InvalidOptions,
  DpopProofInvalid,
  DpopProofTooLarge,
  DpopTypInvalid,
  DpopAlgNotAllowed,
  DpopJwkInvalid,
  DpopJwkPrivate,
  DpopSignatureInvalid,
  DpopJtiInvalid,
  DpopProofReplayed,
  DpopHtmMismatch,
  DpopHtuMismatch,
  DpopIatInvalid,
  DpopIatOutOfWindow,
  DpopAthMismatch,
  DpopUseNonce,
  DpopProofMissing,
  DpopBindingMismatch,
  DpopBoundTokenAsBearer,
  DpopRequired,
  DpopReplayCheckFailed,
  AuthorizationMissing,
  AuthorizationInvalid,
] as const;

/** The union of stable error codes; `switch (err.code)` narrows on it. */
export type TesseraErrorCode =
  | 'ERR_TESSERA'
  | 'ERR_JWS_INVALID'
  | 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
  | 'ERR_JOSE_ALG_NOT_ALLOWED'
  | 'ERR_JOSE_NOT_SUPPORTED'
  | 'ERR_JWKS_NO_MATCHING_KEY'
  | 'ERR_JWKS_MULTIPLE_MATCHING_KEYS'
  | 'ERR_JWKS_INVALID'
  | 'ERR_JWKS_FETCH_FAILED'
  | 'ERR_JWKS_COOLDOWN'
  | 'ERR_JWKS_STALE'
  | 'ERR_JWK_INVALID'
  | 'ERR_JWT_EXPIRED'
  | 'ERR_JWT_NOT_YET_VALID'
  | 'ERR_JWT_CLAIM_INVALID'
  | 'ERR_JWT_ACTOR_CHAIN_TOO_DEEP'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_TOKEN_REVOKED'
  | 'ERR_REVOCATION_STALE'
  | 'ERR_TOKEN_INACTIVE'
  | 'ERR_INTROSPECTION_FAILED'
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_DPOP_PROOF_INVALID'
  | 'ERR_DPOP_PROOF_TOO_LARGE'
  | 'ERR_DPOP_TYP_INVALID'
  | 'ERR_DPOP_ALG_NOT_ALLOWED'
  | 'ERR_DPOP_JWK_INVALID'
  | 'ERR_DPOP_JWK_PRIVATE'
  | 'ERR_DPOP_SIGNATURE_INVALID'
  | 'ERR_DPOP_JTI_INVALID'
  | 'ERR_DPOP_PROOF_REPLAYED'
  | 'ERR_DPOP_HTM_MISMATCH'
  | 'ERR_DPOP_HTU_MISMATCH'
  | 'ERR_DPOP_IAT_INVALID'
  | 'ERR_DPOP_IAT_OUT_OF_WINDOW'
  | 'ERR_DPOP_ATH_MISMATCH'
  | 'ERR_DPOP_USE_NONCE'
  | 'ERR_DPOP_PROOF_MISSING'
  | 'ERR_DPOP_BINDING_MISMATCH'
  | 'ERR_DPOP_BOUND_TOKEN_AS_BEARER'
  | 'ERR_DPOP_REQUIRED'
  | 'ERR_DPOP_REPLAY_CHECK_FAILED'
  | 'ERR_AUTHORIZATION_MISSING'
  | 'ERR_AUTHORIZATION_INVALID';
