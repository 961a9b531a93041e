import type { KeyObject } from 'node:crypto';

/** JWS algorithms Tessera implements (RFC 7518 §3, RFC 8037). `none` is deliberately absent. */
export type Alg =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

/** A JSON Web Key (RFC 7517) as plain JSON. */
export interface JWK {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  crv?: string;
  x?: string;
  y?: string;
  d?: string;
  n?: string;
  e?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
  k?: string;
  [member: string]: unknown;
}

/** A JSON Web Key Set (RFC 7517 §5). */
export interface JWKS {
  keys: JWK[];
}

/** The protected header of a verified JWS. */
export interface JWSHeader {
  alg: Alg;
  kid?: string;
  typ?: string;
  cty?: string;
  [parameter: string]: unknown;
}

/** One party of a delegation (RFC 8693 §4.1, §4.4): who it is, in the namespace of `iss` when given. */
export interface Actor {
  sub: string;
  iss?: string;
  client_id?: string;
  [claim: string]: unknown;
}

/**
 * RFC 8693 §4.1 `act`: the party acting now, and (nested) for whom it acted, the current actor outermost.
 * Read it with `actorChain(payload)`, which validates the shape.
 */
export interface ActorClaim extends Actor {
  act?: ActorClaim;
}

/** JWT claims (RFC 7519 §4.1) plus whatever else the token carries. */
export interface JWTPayload {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  /** RFC 8693 §4.1: the delegation chain of an exchanged token (unvalidated until `actorChain`). */
  act?: ActorClaim;
  /** RFC 8693 §4.4: who may act for the subject in a token exchange. */
  may_act?: Actor;
  /** Confirmation (RFC 7800): `jkt` is the RFC 7638 thumbprint of the DPoP key the token is bound to (RFC 9449 §6.1). */
  cnf?: { jkt?: string; [member: string]: unknown };
  [claim: string]: unknown;
}

/**
 * A key bound to the algorithms it may serve (RFC 8725 §3.1: each key is used with exactly the algorithms
 * it was imported for). Created only by this package's import and generate functions.
 */
export interface TesseraKey {
  /** `public` and `private` for asymmetric keys, `secret` for HMAC. */
  readonly type: 'public' | 'private' | 'secret';
  readonly kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  /** EC curve (`P-256` …) or OKP subtype (`Ed25519`). */
  readonly crv?: string;
  /** RSA modulus length or HMAC secret length, in bits. */
  readonly bits?: number;
  readonly kid?: string;
  /** The algorithms this key may be used with; never empty. */
  readonly algorithms: readonly Alg[];
  /** The node:crypto key. */
  readonly keyObject: KeyObject;
}

/** What a key source is asked for when a token needs a key. */
export interface KeyLookup {
  /** The token's `kid`, if any: an opaque string, only ever compared for equality (A05). */
  kid: string | undefined;
  alg: Alg;
}

/**
 * Where a verifier finds its keys. Local keys answer synchronously; a remote JWKS may answer with a
 * promise while it fetches. Either way the answer is a key that may serve `lookup.alg`, or a thrown
 * `JWKSNoMatchingKey` / `JWKSMultipleMatchingKeys` / fetch error.
 */
export interface KeySource {
  resolve(lookup: KeyLookup): TesseraKey | Promise<TesseraKey>;
  /** Whether `key` is still trusted (the verified-token cache asks before serving a hit). */
  isTrusted(key: TesseraKey): boolean;
  /** Stop background work (timers, sockets). */
  close?(): void;
}

/** What a successful verification returns. */
export interface VerifyResult<P extends JWTPayload = JWTPayload> {
  header: JWSHeader;
  payload: P;
  /** The key that verified the signature. */
  key: TesseraKey;
}

/** A clock in milliseconds since the epoch; inject one in tests. */
export type Clock = () => number;
