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

/** `none`: a public client (browser or native app, RFC 6749 §2.1) that sends `client_id` only and must use PKCE. */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
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
  /** Where RP-initiated logout may send the browser back (exact match). Absent means none. */
  postLogoutRedirectUris?: string[];
  /** A first-party client (`--first-party`): its users are never asked for consent. Absent means false. */
  firstParty?: boolean;
  /** Authorization requests must come through PAR (RFC 9126 §5, `--require-par`). Absent means false. */
  requirePar?: boolean;
  /**
   * RFC 9449 §5.2 `dpop_bound_access_tokens` (`--dpop required`): every token request must carry a DPoP
   * proof, so this client never holds a bearer token. Absent means false (`--dpop allowed`).
   */
  dpopBoundAccessTokens?: boolean;
  /** Audiences token exchange (RFC 8693) may issue this client tokens for (`--exchange-audience`). Absent: none. */
  exchangeAudiences?: string[];
  /** Other issuers whose JWTs this client may exchange (`--exchange-trust-issuer`). Absent: none. */
  exchangeTrustIssuers?: ExchangeTrustIssuer[];
}

/** A foreign issuer a client trusts for token exchange subject tokens, and where its keys are published. */
export interface ExchangeTrustIssuer {
  issuer: string;
  jwksUri: string;
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
  /** The signed-in user (`users.id`) for families from the authorization code grant; null otherwise. */
  userId?: string | null;
  /** The browser session (`sessions.id`) the family was issued in: logout revokes the family. */
  sessionId?: string | null;
  /**
   * RFC 9449 §5: a public client's family is bound to the DPoP key (RFC 7638 thumbprint) of the proof sent
   * when it started; every refresh must prove that key. Null: not bound.
   */
  dpopJkt?: string | null;
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
  /**
   * Revoke every live family issued in one session (`{ sessionId }`: logout) or to one user (`{ userId }`:
   * user deleted or disabled), in one step. Returns the ids of the families this call revoked.
   */
  revokeFamilies(
    where: { sessionId: string } | { userId: string },
    reason: string,
    now: number,
  ): Promise<string[]>;
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
   * except for kinds `client` and `sub`, where a later `revokedAt` covers more tokens (a client deleted,
   * recreated and deleted again; a user disabled, enabled and disabled again): that entry replaces the live
   * one under a new seq (expiresAt the later of both), so feed readers learn the new instant.
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

/** A person who signs in. `id` is random and stable: it is the `sub` of their tokens, never the email. */
export interface UserRecord {
  id: string;
  /** As entered (trimmed); unique case-insensitively: the store compares `email.toLowerCase()`. */
  email: string;
  name: string | null;
  emailVerified: boolean;
  disabled: boolean;
  /** Custom claims (JSON text of an object), e.g. `{"tenant_id":"acme"}`: reach tokens only through a client's allowlist. */
  claims: string;
  /** argon2id PHC string, or null until a password is set. */
  passwordHash: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface UserStore {
  /** Rejects with StoreConflictError if the id or the email (case-insensitively) exists. */
  createUser(user: UserRecord): Promise<void>;
  getUser(id: string): Promise<UserRecord | undefined>;
  /** Case-insensitive exact match on the email. */
  getUserByEmail(email: string): Promise<UserRecord | undefined>;
  /** Oldest first. */
  listUsers(): Promise<UserRecord[]>;
  /**
   * Replace a user (every field but `id` and `createdAt`). Returns false when there is no such user.
   * Rejects with StoreConflictError when the new email belongs to another user.
   */
  updateUser(user: UserRecord): Promise<boolean>;
  /** Delete the user and their sessions, consents, identity links and passkeys. Returns true if a user was deleted. */
  deleteUser(id: string): Promise<boolean>;
}

/**
 * A browser session at Tessera's own pages. The cookie holds a random secret; the store keeps only its
 * SHA-256 (`secretHash`). `id` is a separate random value, public: the `sid` claim of tokens issued in it.
 */
/**
 * The `idp` of Tessera's own sign-ins (password, passkey): what a session or code without one is read as. No
 * upstream identity provider may take the id.
 */
export const LOCAL_IDP = 'local';

export interface SessionRecord {
  id: string;
  secretHash: string;
  userId: string;
  /** When the user last authenticated (the `auth_time` claim), ms. */
  authTime: number;
  /** Authentication methods (RFC 8176), e.g. `["pwd"]`. */
  amr: string[];
  acr: string;
  /**
   * Who authenticated the user: `local` (Tessera's own password) or an upstream identity provider's id
   * (federation). Absent is read as `local`; the stores always return it.
   */
  idp?: string;
  createdAt: number;
  /** Slides forward on use (idle lifetime), never beyond `absoluteExpiresAt`. */
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

export interface SessionStore {
  /** Rejects with StoreConflictError if the id or secret hash exists. */
  createSession(session: SessionRecord): Promise<void>;
  /** By the hash of the cookie secret; expired sessions are not returned. */
  getSessionBySecret(secretHash: string, now: number): Promise<SessionRecord | undefined>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** Slide the idle expiry (capped by the absolute one). Returns false if the session is gone. */
  touchSession(id: string, idleExpiresAt: number): Promise<boolean>;
  /** Returns true if a session was deleted. */
  deleteSession(id: string): Promise<boolean>;
  /** Delete every session of a user; returns their ids. */
  deleteUserSessions(userId: string): Promise<string[]>;
  purgeSessions(now: number): Promise<number>;
}

/**
 * An authorization code (RFC 6749 §4.1.2), stored only as its SHA-256, bound to everything the token
 * request must match. After redemption it records what was issued, so a replay can revoke it (§4.1.2).
 */
export interface AuthCodeRecord {
  hash: string;
  clientId: string;
  redirectUri: string;
  /** RFC 7636 S256 challenge. */
  codeChallenge: string;
  nonce: string | null;
  userId: string;
  sessionId: string;
  scope: string[];
  /** ms */
  authTime: number;
  amr: string[];
  acr: string;
  /** The session's identity provider (`local` or a provider id); absent is read as `local`. */
  idp?: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  /** Filled at redemption: the access token's jti and expiry (ms) and the refresh family, for revocation on replay. */
  accessTokenJti: string | null;
  accessTokenExpiresAt: number | null;
  refreshFamilyId: string | null;
  /** RFC 9449 §10: the authorization request's `dpop_jkt`; redemption must prove that key. Null: none. */
  dpopJkt?: string | null;
}

export type RedeemCodeResult =
  | { status: 'redeemed'; code: AuthCodeRecord }
  /** Presented before: the caller must revoke what `code` records (RFC 6749 §4.1.2). */
  | { status: 'reused'; code: AuthCodeRecord }
  | { status: 'unknown' };

export interface AuthCodeStore {
  insertAuthCode(code: AuthCodeRecord): Promise<void>;
  /** Atomically mark the code used (only if unused). Does not check expiry: the caller does. */
  redeemAuthCode(hash: string, now: number): Promise<RedeemCodeResult>;
  /** Record what the redemption issued (see AuthCodeRecord). */
  recordCodeTokens(
    hash: string,
    issued: { accessTokenJti: string; accessTokenExpiresAt: number; refreshFamilyId: string | null },
  ): Promise<void>;
  /** Codes past expiry by more than a day go (kept a while so a late replay still finds what to revoke). */
  purgeAuthCodes(now: number): Promise<number>;
}

/** What a user allowed a client (remembered consent): the union of the scopes granted so far. */
export interface ConsentRecord {
  userId: string;
  clientId: string;
  scope: string[];
  createdAt: number;
  updatedAt: number;
}

export interface ConsentStore {
  getConsent(userId: string, clientId: string): Promise<ConsentRecord | undefined>;
  /** Add scopes to the remembered consent (creating it); returns the stored record. */
  grantConsent(userId: string, clientId: string, scope: string[], now: number): Promise<ConsentRecord>;
  /** Returns true if a consent was deleted. */
  revokeConsent(userId: string, clientId: string): Promise<boolean>;
}

/**
 * Short-lived state keyed by a random value's hash: a pushed authorization request (RFC 9126, `par`), an
 * authorization request waiting for sign-in or consent (`interaction`), a one-time set-password link
 * (`set_password`), a sign-in sent to an upstream identity provider (`idp_signin`: state, nonce and PKCE
 * verifier), a federated identity waiting for its local user to sign in before it is linked (`idp_link`),
 * a finished upstream sign-in handing its waiting request back in a fresh navigation (`idp_continue`), a
 * WebAuthn challenge (`passkey_challenge`), a passkey enrolment link (`passkey_link`).
 */
export type PendingKind =
  | 'par'
  | 'interaction'
  | 'set_password'
  | 'idp_signin'
  | 'idp_link'
  | 'idp_continue'
  /** A WebAuthn challenge waiting for its answer (passkeys/challenges.ts), keyed by the browser's cookie. */
  | 'passkey_challenge'
  /** A one-time passkey enrolment link (passkeys/links.ts). */
  | 'passkey_link';

export interface PendingRecord {
  /** SHA-256 of the random handle (the request_uri's tail, the interaction id, the link token). */
  hash: string;
  kind: PendingKind;
  /** The client (par, interaction) or the user (set_password) it belongs to. */
  owner: string;
  /** JSON text. */
  data: string;
  createdAt: number;
  expiresAt: number;
}

export interface PendingStore {
  insertPending(record: PendingRecord): Promise<void>;
  /** Read without consuming; expired records are not returned. */
  getPending(kind: PendingKind, hash: string, now: number): Promise<PendingRecord | undefined>;
  /** Read and delete in one step (single use); expired records are not returned. */
  takePending(kind: PendingKind, hash: string, now: number): Promise<PendingRecord | undefined>;
  deletePending(kind: PendingKind, hash: string): Promise<boolean>;
  purgePending(now: number): Promise<number>;
}

/**
 * An upstream OpenID Provider users may sign in with (federation). The client secret is stored only as an
 * AES-256-GCM blob under a key derived from the KEK (federation/secret-box.ts), bound to the provider id.
 */
export interface IdentityProviderRecord {
  /** A short slug (`[a-z0-9][a-z0-9-]{0,31}`, never `local`): the `idp` claim and the callback path. */
  id: string;
  /** Shown on the sign-in button ("Continue with …"). */
  name: string;
  /** The upstream's issuer identifier, exactly as its metadata names it. */
  issuer: string;
  clientId: string;
  encryptedClientSecret: string;
  scope: string[];
  /** JSON text of an object: upstream claim name → user field or custom claim (federation/claims-map.ts). */
  claimsMap: string;
  /** Email domains whose users are provisioned on first sign-in; empty: only existing links sign in. */
  allowedDomains: string[];
  createdAt: number;
}

/** An upstream identity (provider, its `sub`) linked to one local user. */
export interface IdentityLinkRecord {
  providerId: string;
  /** The upstream ID token's `sub`. */
  subject: string;
  userId: string;
  createdAt: number;
}

export interface IdentityProviderStore {
  /** Rejects with StoreConflictError if the id exists. */
  createIdentityProvider(provider: IdentityProviderRecord): Promise<void>;
  getIdentityProvider(id: string): Promise<IdentityProviderRecord | undefined>;
  /** Oldest first. */
  listIdentityProviders(): Promise<IdentityProviderRecord[]>;
  /** Delete the provider and every link to it, in one step. Returns true if a provider was deleted. */
  deleteIdentityProvider(id: string): Promise<boolean>;
  /**
   * Link (provider, subject) to a user. Rejects with StoreConflictError when that upstream identity is
   * already linked (to anyone): one upstream account is one local user.
   */
  createIdentityLink(link: IdentityLinkRecord): Promise<void>;
  getIdentityLink(providerId: string, subject: string): Promise<IdentityLinkRecord | undefined>;
  /** Every link, or one user's, oldest first. */
  listIdentityLinks(userId?: string): Promise<IdentityLinkRecord[]>;
}

/**
 * A passkey (WebAuthn public-key credential, W3C WebAuthn Level 3 §6.1) registered to a user. Only public
 * data: the private key never leaves the authenticator.
 */
export interface PasskeyRecord {
  /** The credential id, base64url; unique across all users. */
  id: string;
  userId: string;
  /** The COSE_Key public key (RFC 9052 §7), base64url. */
  publicKey: string;
  /** The authenticator's signature counter at the last accepted use (§6.1.1); 0 for authenticators without one. */
  counter: number;
  /** Transport hints for the browser (`internal`, `usb`, `hybrid`, …). */
  transports: string[];
  /** The backup-state flag (BS, §6.1): the credential is synced to other devices. */
  backedUp: boolean;
  /** The user's label for it. */
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface PasskeyStore {
  /** Rejects with StoreConflictError if the credential id exists (for any user). */
  createPasskey(passkey: PasskeyRecord): Promise<void>;
  getPasskey(id: string): Promise<PasskeyRecord | undefined>;
  /** A user's passkeys, oldest first. */
  listUserPasskeys(userId: string): Promise<PasskeyRecord[]>;
  /**
   * Record an accepted assertion in one conditional step: the counter moves to `counter` (and `lastUsedAt`,
   * `backedUp` are set) only if the stored counter is lower, or both are 0 (an authenticator without a
   * counter). Of two racing assertions carrying the same counter, one gets true and the other false (a cloned
   * authenticator, WebAuthn §6.1.1).
   */
  usePasskey(id: string, counter: number, backedUp: boolean, now: number): Promise<boolean>;
  /** Delete one of `userId`'s passkeys (never another user's). Returns true if one was deleted. */
  deletePasskey(userId: string, id: string): Promise<boolean>;
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
    LeaseStore,
    UserStore,
    SessionStore,
    AuthCodeStore,
    ConsentStore,
    PendingStore,
    IdentityProviderStore,
    PasskeyStore {
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
