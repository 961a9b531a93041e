/**
 * @tessera/jwt: a strict, fast JOSE/JWT core and verifier SDK on Node built-ins alone.
 *
 * @example
 * import { createVerifier } from '@tessera/jwt';
 * const verifier = createVerifier({ algorithms: ['ES256'], issuer: 'https://auth.example.com', audience: 'api', keys: jwks });
 * const { payload } = await verifier.verify(token);
 */
export { actorChain, DEFAULT_MAX_ACTOR_DEPTH } from './actor.js';
export type { ActorChainOptions } from './actor.js';
export { ALGORITHMS, SUPPORTED_ALGORITHMS, isAlg } from './alg.js';
export type { AlgSpec } from './alg.js';
export { decodeBase64url, encodeBase64url, isCanonicalBase64url } from './base64url.js';
export { decodeJWT } from './decode.js';
export type { DecodedJWT } from './decode.js';
export { toSeconds } from './duration.js';
export {
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
  errorClasses,
} from './errors.js';
export type { DpopWireError, TesseraErrorCode } from './errors.js';
export { createDpopProof } from './dpop-proof-create.js';
export type { CreateDpopProofOptions } from './dpop-proof-create.js';
export {
  accessTokenHash,
  DEFAULT_DPOP_MAX_AGE_SECONDS,
  DPOP_ALGORITHMS,
  MAX_DPOP_JTI_LENGTH,
  MAX_DPOP_PROOF_LENGTH,
  normalizeHtu,
  verifyDpopProof,
} from './dpop-proof.js';
export type { DpopProofCheck, VerifiedDpopProof } from './dpop-proof.js';
export { createDpopNonces } from './dpop-nonce.js';
export type { DpopNonceSource, DpopNoncesOptions } from './dpop-nonce.js';
export { createMemoryDpopReplayStore, createRedisDpopReplayStore } from './dpop-replay.js';
export type {
  DpopRedisClient,
  DpopReplayStore,
  MemoryDpopReplayStore,
  MemoryDpopReplayStoreOptions,
  RedisDpopReplayStoreOptions,
} from './dpop-replay.js';
export type {
  DpopMode,
  DpopOptions,
  RequestHeaders,
  VerifyRequestInput,
  VerifyRequestResult,
} from './dpop-request.js';
export { normalizeTyp } from './header.js';
export { parseStrictJSONObject } from './json.js';
export { createLocalKeySet, importJWKS, keySetFrom, MAX_JWKS_KEYS } from './key-set.js';
export type { ImportJWKSOptions, KeyInput, LocalKeySet, SkippedKey } from './key-set.js';
export {
  calculateJWKThumbprint,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  generateSecret,
  importHMACSecret,
  importJWK,
  importKeyObject,
  importPKCS8,
  importSPKI,
  toPublicKey,
} from './keys.js';
export type { ExportJWKOptions, GenerateKeyOptions, GeneratedKeyPair, ImportKeyOptions } from './keys.js';
export {
  createOpaqueToken,
  isOpaqueTokenShape,
  OPAQUE_ACCESS_TOKEN_PREFIX,
  OPAQUE_REFRESH_TOKEN_PREFIX,
  OPAQUE_TOKEN_LENGTH,
} from './opaque-token.js';
export type { OpaqueTokenPrefix } from './opaque-token.js';
export { createSigner } from './signer.js';
export type { SignOptions, Signer, SignerOptions } from './signer.js';
export { macEquals, macFunction } from './hmac.js';
export type { MacFunction } from './hmac.js';
export type {
  Actor,
  ActorClaim,
  Alg,
  Clock,
  JWK,
  JWKS,
  JWSHeader,
  JWTPayload,
  KeyLookup,
  KeySource,
  TesseraKey,
  VerifyResult,
} from './types.js';
export { createVerifier } from './verifier.js';
export { createCoreVerifier, DEFAULT_MAX_TOKEN_LENGTH } from './verifier-core.js';
export type { CoreVerifier, CoreVerifierOptions } from './verifier-core.js';
export type { Verifier, VerifierOptions } from './verifier.js';

// Verifier SDK (issue 3): remote keys, verified-token cache, revocation, introspection, bearer extraction,
// events. Framework adapters live in subpath exports (@tessera/jwt/middleware/…).
export { extractBearerToken } from './bearer.js';
export type { BearerResult } from './bearer.js';
export { createHistogram, LATENCY_BUCKETS_MS, observe } from './events.js';
export type {
  CacheStats,
  EventListener,
  EventsOptions,
  Histogram,
  IntrospectionEvent,
  IntrospectionStats,
  JWKSFetchEvent,
  JWKSStaleEvent,
  JWKSStats,
  RevocationFailOpenEvent,
  RevocationLagEvent,
  RevocationStats,
  RevocationSyncEvent,
  TesseraEvent,
  VerifierStats,
  VerifyEvent,
} from './events.js';
export {
  basicAuthorization,
  checkEndpoint,
  createHTTPFetcher,
  describeFetchFailure,
  displayURL,
  FetchError,
} from './http-fetch.js';
export type { Fetcher, FetchRequest, FetchResponse, HTTPFetcherOptions } from './http-fetch.js';
export { createIntrospectionClient } from './introspection.js';
export type {
  IntrospectionClient,
  IntrospectionClientOptions,
  IntrospectionResponse,
} from './introspection.js';
export { createCooldownBox, createRemoteJWKSet } from './remote-jwks.js';
export type {
  JWKSCacheEntry,
  JWKSCacheStore,
  JWKSCooldownBox,
  RemoteJWKSet,
  RemoteJWKSetOptions,
} from './remote-jwks.js';
export { createRevocationList, createStaticRevocationList } from './revocation.js';
export type {
  RevocationEntry,
  RevocationList,
  RevocationListOptions,
  RevocationSource,
  RevocationTransport,
  StaticRevocationInput,
  StaticRevocationList,
} from './revocation.js';
export { createTokenCache } from './token-cache.js';
export type { RevocationCheck, TokenCache, TokenCacheOptions } from './token-cache.js';
export type { IntrospectedResult, IssuerEntry, OpaqueTokenVerifier } from './verifier.js';
export { createAuthenticator, failureFor, scopesOf } from './middleware/shared.js';
export type {
  AdapterAuthOptions,
  AnonymousOutcome,
  AuthFailure,
  AuthInfo,
  AuthOptions,
  AuthOutcome,
  StepOutcome,
} from './middleware/shared.js';
export { createRedisRevocationTransport } from './redis-transport.js';
export type { RedisTransportOptions } from './redis-transport.js';
