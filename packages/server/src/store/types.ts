/**
 * Storage contracts: one small interface per record kind, implemented by every store (memory, SQLite,
 * PostgreSQL) and checked by one contract-test suite. All methods are async so that networked stores fit.
 * "Use once" operations are a single atomic step inside the store, never a read followed by a write.
 * Times are milliseconds since the epoch.
 */

export type KeyState = 'next' | 'current' | 'retired' | 'revoked';

/** A signing key. The private part is only ever stored encrypted (AES-256-GCM under the KEK). */
export interface KeyRecord {
  kid: string;
  alg: string;
  state: KeyState;
  /** Public JWK as JSON text (no private members). */
  publicJwk: string;
  /** The encrypted private key blob (opaque to the store). */
  encryptedPrivateKey: string;
  createdAt: number;
  /** When it entered the JWKS (state next). */
  publishedAt: number;
  /** When it became current (started signing). */
  activatedAt: number | null;
  /** When it stopped signing. */
  retiredAt: number | null;
  /** When it may leave the JWKS: retiredAt + max token lifetime + JWKS cache lifetime + clock tolerance. */
  removeAfter: number | null;
  revokedAt: number | null;
}

export interface KeyStore {
  listKeys(): Promise<KeyRecord[]>;
  getKey(kid: string): Promise<KeyRecord | undefined>;
  /** Insert a new key; rejects with StoreConflictError if the kid exists. */
  insertKey(key: KeyRecord): Promise<void>;
  /**
   * Compare-and-set a key's state: applies `changes` only if the key is currently in `from`.
   * Returns true when this call made the change (so only one of several racing instances wins).
   */
  transitionKey(kid: string, from: KeyState, changes: Partial<Omit<KeyRecord, 'kid'>>): Promise<boolean>;
  deleteKey(kid: string): Promise<void>;
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
export type TokenFormat = 'jwt' | 'opaque';

export interface ClientRecord {
  id: string;
  /** Keyed hash (HMAC-SHA-256 under a server pepper) of the secret, hex; null for private_key_jwt. */
  secretHash: string | null;
  authMethod: ClientAuthMethod;
  grants: string[];
  audience: string[];
  scope: string[];
  /** Public JWKS JSON text for private_key_jwt and jwt-bearer assertions, or null. */
  jwks: string | null;
  tokenFormat: TokenFormat;
  /** Access token lifetime in seconds. */
  accessTtl: number;
  /** Claims a jwt-bearer assertion may pass through into access tokens (e.g. tenant_id, email). */
  allowedClaims: string[];
  /** Refresh family absolute and idle lifetimes in seconds. */
  refreshAbsoluteTtl: number;
  refreshIdleTtl: number;
  createdAt: number;
  /**
   * Audiences whose tokens, issued to other clients, this client may introspect (a resource server's
   * registered permission, `--introspect-audience`). Absent means none: a client sees only its own tokens.
   */
  introspectAudiences?: string[];
  /** Registered redirect URIs (kept for the sign-in flows; no grant uses them yet). Absent means none. */
  redirectUris?: string[];
  /** After `rotate-secret` with a grace period: the old secret's keyed hash, accepted until the expiry. */
  previousSecretHash?: string | null;
  /** Milliseconds; the previous secret stops working at this instant. */
  previousSecretExpiresAt?: number | null;
  /** Last `clients update` or `rotate-secret`, milliseconds; absent when never changed. */
  updatedAt?: number | null;
}

/** What `revokeClientTokens` did: opaque access tokens deleted and refresh families revoked. */
export interface ClientTokensRevoked {
  opaqueTokens: number;
  refreshFamilies: number;
}

export interface ClientStore {
  /** Rejects with StoreConflictError if the id exists. */
  createClient(client: ClientRecord): Promise<void>;
  getClient(id: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  /**
   * Replace a stored client's record (every field but `id` and `createdAt`). Returns false when there is no
   * client with that id (nothing is created).
   */
  updateClient(client: ClientRecord): Promise<boolean>;
  /** Returns true if a client was deleted. */
  deleteClient(id: string): Promise<boolean>;
  /**
   * Delete every opaque access token issued to `clientId` and revoke (reason `client_deleted`) every live
   * refresh family of it, in one step, so a client deleted and later recreated with the same id inherits
   * nothing. JWT access tokens are not recorded; the caller adds a `client` revocation entry for them.
   */
  revokeClientTokens(clientId: string, now: number): Promise<ClientTokensRevoked>;
}

/** A refresh-token family: one login session, rotated on every use. */
export interface RefreshFamilyRecord {
  id: string;
  clientId: string;
  sub: string;
  scope: string[];
  /** Extra claims (JSON text) carried into every access token of the family. */
  claims: string;
  createdAt: number;
  /** createdAt + absolute lifetime. */
  absoluteExpiresAt: number;
  revokedAt: number | null;
  revokedReason: string | null;
}

/** One refresh token of a family, stored only as a hash of the token. */
export interface RefreshTokenRecord {
  hash: string;
  familyId: string;
  createdAt: number;
  /** createdAt + idle lifetime (capped by the family's absolute expiry). */
  expiresAt: number;
  usedAt: number | null;
}

export type RotateResult =
  | { status: 'rotated'; family: RefreshFamilyRecord; previous: RefreshTokenRecord }
  /** The token had already been used: the caller must revoke the family (reuse detection). */
  | { status: 'reused'; family: RefreshFamilyRecord; previous: RefreshTokenRecord }
  | { status: 'unknown' };

export interface RefreshStore {
  /** Create a family and its first token in one step. */
  createFamily(family: RefreshFamilyRecord, first: RefreshTokenRecord): Promise<void>;
  getFamily(id: string): Promise<RefreshFamilyRecord | undefined>;
  getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Atomically mark `oldHash` used (only if unused) and insert `next` into the same family.
   * Exactly one of N concurrent calls with the same oldHash gets 'rotated'; the others get 'reused'.
   * Does not check expiry or revocation: the caller does, from the returned records.
   */
  rotateRefreshToken(
    oldHash: string,
    next: Omit<RefreshTokenRecord, 'familyId'>,
    now: number,
  ): Promise<RotateResult>;
  /** Revoke a family (reuse, RFC 7009 revocation, logout). Returns true if it was live. */
  revokeFamily(id: string, reason: string, now: number): Promise<boolean>;
  /** Families that are neither revoked nor past their absolute expiry (for migration and stats). */
  listLiveFamilies(now: number): Promise<RefreshFamilyRecord[]>;
  /** Tokens of a family (for migration). */
  listFamilyTokens(familyId: string): Promise<RefreshTokenRecord[]>;
  /** Delete expired tokens and dead families; returns how many rows went. */
  purgeRefresh(now: number): Promise<number>;
}

/**
 * What a revocation applies to: an access token's jti, every token of a subject, a signing key, or every
 * token issued to a client (`client`: value = client id, tokens with `iat` at or before `revokedAt`).
 */
export type RevocationKind = 'jti' | 'sub' | 'kid' | 'client';

export interface RevocationRecord {
  /** Monotonic cursor assigned by the store; the feed's `?since=`. */
  seq: number;
  kind: RevocationKind;
  value: string;
  /** Until when the entry matters (the revoked token's exp); after that it can be dropped. */
  expiresAt: number;
  revokedAt: number;
}

export interface RevocationStore {
  /**
   * Append an entry; returns it with its seq. Revoking the same (kind, value) twice returns the first entry,
   * except for kind `client`, where a later `revokedAt` covers more tokens (a client deleted, recreated and
   * deleted again): that entry replaces the live one under a new seq (expiresAt the later of both), so feed
   * readers learn the new instant.
   */
  addRevocation(entry: Omit<RevocationRecord, 'seq'>): Promise<RevocationRecord>;
  /** The live entry for (kind, value), if any. */
  getRevocation(kind: RevocationKind, value: string, now: number): Promise<RevocationRecord | undefined>;
  /** Entries with seq > since, in seq order, at most `limit`, not yet expired at `now`. */
  listRevocations(since: number, limit: number, now: number): Promise<RevocationRecord[]>;
  isRevoked(kind: RevocationKind, value: string, now: number): Promise<boolean>;
  /** The highest seq assigned so far (0 when none). */
  latestRevocationSeq(): Promise<number>;
  purgeRevocations(now: number): Promise<number>;
}

export interface OpaqueTokenRecord {
  /** SHA-256 of the token, hex. The token itself is never stored. */
  hash: string;
  clientId: string;
  sub: string;
  scope: string[];
  audience: string[];
  /** Extra claims as JSON text. */
  claims: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

export interface OpaqueTokenStore {
  insertOpaqueToken(token: OpaqueTokenRecord): Promise<void>;
  getOpaqueToken(hash: string): Promise<OpaqueTokenRecord | undefined>;
  /** Tokens not yet expired at `now`, oldest first (for `tessera migrate`). */
  listOpaqueTokens(now: number): Promise<OpaqueTokenRecord[]>;
  /** Returns true if a token was deleted. */
  deleteOpaqueToken(hash: string): Promise<boolean>;
  purgeOpaqueTokens(now: number): Promise<number>;
}

export interface UsedIdStore {
  /**
   * Record a single-use identifier (client-assertion jti, authorization code) in one atomic insert.
   * Returns true the first time and false on every later call before `expiresAt`.
   */
  consumeOnce(namespace: string, id: string, expiresAt: number, now: number): Promise<boolean>;
  purgeUsedIds(now: number): Promise<number>;
}

export interface AuditEvent {
  at: number;
  type: string;
  /** JSON-serialisable details; never a token, secret or private key. */
  data: Record<string, unknown>;
}

export interface AuditStore {
  appendAudit(event: AuditEvent): Promise<void>;
  /** Newest first. */
  listAudit(limit: number): Promise<AuditEvent[]>;
}

export interface LeaseStore {
  /**
   * Take or renew the named lease for `holder` until now + ttlMs, if it is free, expired or already ours.
   * Returns true if `holder` holds it afterwards. Used so scheduled rotation runs once across instances.
   */
  tryAcquireLease(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
}

/** Everything the server persists. */
export interface Store
  extends
    KeyStore,
    ClientStore,
    RefreshStore,
    RevocationStore,
    OpaqueTokenStore,
    UsedIdStore,
    AuditStore,
    LeaseStore {
  /** 'memory', 'sqlite' or 'postgres'. */
  readonly kind: string;
  /** A cheap round trip, for /readyz. Rejects when the store is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Raised when an insert collides with an existing id. */
export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
  readonly code = 'ERR_STORE_CONFLICT';
}

/** Raised when the store cannot be reached (mapped to 503 by the server). */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'ERR_STORE_UNAVAILABLE';
}
