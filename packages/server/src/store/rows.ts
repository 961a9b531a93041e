/**
 * Row shapes shared by the SQL stores (SQLite and PostgreSQL use the same column names and types: times are
 * integer milliseconds, lists are JSON text), and the mapping to and from the record types.
 */
import type {
  AuditEvent,
  AuthCodeRecord,
  ClientRecord,
  ConsentRecord,
  IdentityLinkRecord,
  IdentityProviderRecord,
  KeyRecord,
  KeyState,
  OpaqueTokenRecord,
  PendingKind,
  PasskeyRecord,
  PendingRecord,
  RefreshFamilyRecord,
  RefreshTokenRecord,
  RevocationKind,
  RevocationRecord,
  SessionRecord,
  UserRecord,
} from './types.js';
import { LOCAL_IDP } from './types.js';

type Row = Record<string, unknown>;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const list = (v: unknown): string[] => JSON.parse(String(v)) as string[];
/** SQLite stores 0/1 (it cannot bind booleans); PostgreSQL BOOLEAN arrives as true/false. */
const bool = (v: unknown): boolean => v === true || Number(v) === 1;
const flag = (v: boolean | undefined): number => (v ? 1 : 0);

/**
 * The key that makes emails unique case-insensitively, computed here rather than by SQL `lower()`: SQLite's
 * folds ASCII only and PostgreSQL's depends on the database locale, so `Émile@x` and `émile@x` could be one
 * account in one store and two in another (account confusion after `tessera migrate`). JavaScript's
 * `toLowerCase()` is the same everywhere, and it is what the memory store compares.
 */
export const emailKey = (email: string): string => email.toLowerCase();

/** Authorization codes stay a day past expiry so that a late replay still finds what to revoke (RFC 6749 §4.1.2). */
export const AUTH_CODE_KEEP_MS = 24 * 3600 * 1000;

/** Key record field → column, used to build the SET clause of a compare-and-set transition. */
export const KEY_COLUMNS: Readonly<Record<Exclude<keyof KeyRecord, 'kid'>, string>> = {
  alg: 'alg',
  state: 'state',
  publicJwk: 'public_jwk',
  encryptedPrivateKey: 'encrypted_private_key',
  createdAt: 'created_at',
  publishedAt: 'published_at',
  activatedAt: 'activated_at',
  retiredAt: 'retired_at',
  removeAfter: 'remove_after',
  revokedAt: 'revoked_at',
};

export function keyToRow(k: KeyRecord): Row {
  return {
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    public_jwk: k.publicJwk,
    encrypted_private_key: k.encryptedPrivateKey,
    created_at: k.createdAt,
    published_at: k.publishedAt,
    activated_at: k.activatedAt,
    retired_at: k.retiredAt,
    remove_after: k.removeAfter,
    revoked_at: k.revokedAt,
  };
}

export function keyFromRow(r: Row): KeyRecord {
  return {
    kid: str(r.kid),
    alg: str(r.alg),
    state: str(r.state) as KeyState,
    publicJwk: str(r.public_jwk),
    encryptedPrivateKey: str(r.encrypted_private_key),
    createdAt: num(r.created_at),
    publishedAt: num(r.published_at),
    activatedAt: numOrNull(r.activated_at),
    retiredAt: numOrNull(r.retired_at),
    removeAfter: numOrNull(r.remove_after),
    revokedAt: numOrNull(r.revoked_at),
  };
}

export function clientToRow(c: ClientRecord): Row {
  return {
    id: c.id,
    secret_hash: c.secretHash,
    auth_method: c.authMethod,
    grants: JSON.stringify(c.grants),
    audience: JSON.stringify(c.audience),
    scope: JSON.stringify(c.scope),
    jwks: c.jwks,
    token_format: c.tokenFormat,
    access_ttl: c.accessTtl,
    allowed_claims: JSON.stringify(c.allowedClaims),
    refresh_absolute_ttl: c.refreshAbsoluteTtl,
    refresh_idle_ttl: c.refreshIdleTtl,
    created_at: c.createdAt,
    introspect_audiences: JSON.stringify(c.introspectAudiences ?? []),
    redirect_uris: JSON.stringify(c.redirectUris ?? []),
    previous_secret_hash: c.previousSecretHash ?? null,
    previous_secret_expires_at: c.previousSecretExpiresAt ?? null,
    updated_at: c.updatedAt ?? null,
    post_logout_redirect_uris: JSON.stringify(c.postLogoutRedirectUris ?? []),
    first_party: flag(c.firstParty),
    require_par: flag(c.requirePar),
    dpop_bound_access_tokens: flag(c.dpopBoundAccessTokens),
    exchange_audiences: JSON.stringify(c.exchangeAudiences ?? []),
    exchange_trust_issuers: JSON.stringify(c.exchangeTrustIssuers ?? []),
  };
}

/** The columns `updateClient` rewrites: all but the id and the creation time. */
export const CLIENT_UPDATE_COLUMNS: readonly string[] = Object.keys(
  clientToRow({
    id: '',
    secretHash: null,
    authMethod: 'client_secret_basic',
    grants: [],
    audience: [],
    scope: [],
    jwks: null,
    tokenFormat: 'jwt',
    accessTtl: 0,
    allowedClaims: [],
    refreshAbsoluteTtl: 0,
    refreshIdleTtl: 0,
    createdAt: 0,
  }),
).filter((c) => c !== 'id' && c !== 'created_at');

export function clientFromRow(r: Row): ClientRecord {
  return {
    id: str(r.id),
    secretHash: strOrNull(r.secret_hash),
    authMethod: str(r.auth_method) as ClientRecord['authMethod'],
    grants: list(r.grants),
    audience: list(r.audience),
    scope: list(r.scope),
    jwks: strOrNull(r.jwks),
    tokenFormat: str(r.token_format) as ClientRecord['tokenFormat'],
    accessTtl: num(r.access_ttl),
    allowedClaims: list(r.allowed_claims),
    refreshAbsoluteTtl: num(r.refresh_absolute_ttl),
    refreshIdleTtl: num(r.refresh_idle_ttl),
    createdAt: num(r.created_at),
    introspectAudiences: r.introspect_audiences == null ? [] : list(r.introspect_audiences),
    redirectUris: r.redirect_uris == null ? [] : list(r.redirect_uris),
    previousSecretHash: strOrNull(r.previous_secret_hash),
    previousSecretExpiresAt: numOrNull(r.previous_secret_expires_at),
    updatedAt: numOrNull(r.updated_at),
    postLogoutRedirectUris: r.post_logout_redirect_uris == null ? [] : list(r.post_logout_redirect_uris),
    firstParty: bool(r.first_party),
    requirePar: bool(r.require_par),
    dpopBoundAccessTokens: bool(r.dpop_bound_access_tokens),
    exchangeAudiences: r.exchange_audiences == null ? [] : list(r.exchange_audiences),
    exchangeTrustIssuers:
      r.exchange_trust_issuers == null
        ? []
        : (JSON.parse(String(r.exchange_trust_issuers)) as ClientRecord['exchangeTrustIssuers']),
  };
}

export function familyToRow(f: RefreshFamilyRecord): Row {
  return {
    id: f.id,
    client_id: f.clientId,
    sub: f.sub,
    scope: JSON.stringify(f.scope),
    claims: f.claims,
    created_at: f.createdAt,
    absolute_expires_at: f.absoluteExpiresAt,
    revoked_at: f.revokedAt,
    revoked_reason: f.revokedReason,
    user_id: f.userId ?? null,
    session_id: f.sessionId ?? null,
    dpop_jkt: f.dpopJkt ?? null,
  };
}

export function familyFromRow(r: Row): RefreshFamilyRecord {
  return {
    id: str(r.id),
    clientId: str(r.client_id),
    sub: str(r.sub),
    scope: list(r.scope),
    claims: str(r.claims),
    createdAt: num(r.created_at),
    absoluteExpiresAt: num(r.absolute_expires_at),
    revokedAt: numOrNull(r.revoked_at),
    revokedReason: strOrNull(r.revoked_reason),
    userId: strOrNull(r.user_id),
    sessionId: strOrNull(r.session_id),
    dpopJkt: strOrNull(r.dpop_jkt),
  };
}

export function refreshTokenToRow(t: RefreshTokenRecord): Row {
  return {
    hash: t.hash,
    family_id: t.familyId,
    created_at: t.createdAt,
    expires_at: t.expiresAt,
    used_at: t.usedAt,
  };
}

export function refreshTokenFromRow(r: Row): RefreshTokenRecord {
  return {
    hash: str(r.hash),
    familyId: str(r.family_id),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    usedAt: numOrNull(r.used_at),
  };
}

export function revocationFromRow(r: Row): RevocationRecord {
  return {
    seq: num(r.seq),
    kind: str(r.kind) as RevocationKind,
    value: str(r.value),
    expiresAt: num(r.expires_at),
    revokedAt: num(r.revoked_at),
  };
}

export function opaqueToRow(t: OpaqueTokenRecord): Row {
  return {
    hash: t.hash,
    client_id: t.clientId,
    sub: t.sub,
    scope: JSON.stringify(t.scope),
    audience: JSON.stringify(t.audience),
    claims: t.claims,
    jti: t.jti,
    issued_at: t.issuedAt,
    expires_at: t.expiresAt,
  };
}

export function opaqueFromRow(r: Row): OpaqueTokenRecord {
  return {
    hash: str(r.hash),
    clientId: str(r.client_id),
    sub: str(r.sub),
    scope: list(r.scope),
    audience: list(r.audience),
    claims: str(r.claims),
    jti: str(r.jti),
    issuedAt: num(r.issued_at),
    expiresAt: num(r.expires_at),
  };
}

export function auditFromRow(r: Row): AuditEvent {
  return { at: num(r.at), type: str(r.type), data: JSON.parse(str(r.data)) as Record<string, unknown> };
}

export function userToRow(u: UserRecord): Row {
  return {
    id: u.id,
    email: u.email,
    email_key: emailKey(u.email),
    name: u.name,
    email_verified: flag(u.emailVerified),
    disabled: flag(u.disabled),
    claims: u.claims,
    password_hash: u.passwordHash,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
  };
}

/** The columns `updateUser` rewrites: all but the id and the creation time. */
export const USER_UPDATE_COLUMNS: readonly string[] = [
  'email',
  'email_key',
  'name',
  'email_verified',
  'disabled',
  'claims',
  'password_hash',
  'updated_at',
];

export function userFromRow(r: Row): UserRecord {
  return {
    id: str(r.id),
    email: str(r.email),
    name: strOrNull(r.name),
    emailVerified: bool(r.email_verified),
    disabled: bool(r.disabled),
    claims: str(r.claims),
    passwordHash: strOrNull(r.password_hash),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function sessionToRow(s: SessionRecord): Row {
  return {
    id: s.id,
    secret_hash: s.secretHash,
    user_id: s.userId,
    auth_time: s.authTime,
    amr: JSON.stringify(s.amr),
    acr: s.acr,
    idp: s.idp ?? LOCAL_IDP,
    created_at: s.createdAt,
    idle_expires_at: s.idleExpiresAt,
    absolute_expires_at: s.absoluteExpiresAt,
  };
}

export function sessionFromRow(r: Row): SessionRecord {
  return {
    id: str(r.id),
    secretHash: str(r.secret_hash),
    userId: str(r.user_id),
    authTime: num(r.auth_time),
    amr: list(r.amr),
    acr: str(r.acr),
    idp: str(r.idp ?? LOCAL_IDP),
    createdAt: num(r.created_at),
    idleExpiresAt: num(r.idle_expires_at),
    absoluteExpiresAt: num(r.absolute_expires_at),
  };
}

export function authCodeToRow(c: AuthCodeRecord): Row {
  return {
    hash: c.hash,
    client_id: c.clientId,
    redirect_uri: c.redirectUri,
    code_challenge: c.codeChallenge,
    nonce: c.nonce,
    user_id: c.userId,
    session_id: c.sessionId,
    scope: JSON.stringify(c.scope),
    auth_time: c.authTime,
    amr: JSON.stringify(c.amr),
    acr: c.acr,
    idp: c.idp ?? LOCAL_IDP,
    created_at: c.createdAt,
    expires_at: c.expiresAt,
    used_at: c.usedAt,
    access_token_jti: c.accessTokenJti,
    access_token_expires_at: c.accessTokenExpiresAt,
    refresh_family_id: c.refreshFamilyId,
    dpop_jkt: c.dpopJkt ?? null,
  };
}

export function authCodeFromRow(r: Row): AuthCodeRecord {
  return {
    hash: str(r.hash),
    clientId: str(r.client_id),
    redirectUri: str(r.redirect_uri),
    codeChallenge: str(r.code_challenge),
    nonce: strOrNull(r.nonce),
    userId: str(r.user_id),
    sessionId: str(r.session_id),
    scope: list(r.scope),
    authTime: num(r.auth_time),
    amr: list(r.amr),
    acr: str(r.acr),
    idp: str(r.idp ?? LOCAL_IDP),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    usedAt: numOrNull(r.used_at),
    accessTokenJti: strOrNull(r.access_token_jti),
    accessTokenExpiresAt: numOrNull(r.access_token_expires_at),
    refreshFamilyId: strOrNull(r.refresh_family_id),
    dpopJkt: strOrNull(r.dpop_jkt),
  };
}

export function consentFromRow(r: Row): ConsentRecord {
  return {
    userId: str(r.user_id),
    clientId: str(r.client_id),
    scope: list(r.scope),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** Remembered consent is the union of what was granted, in first-granted order (like the memory store). */
export function unionScope(existing: string[], added: string[]): string[] {
  return [...new Set([...existing, ...added])];
}

export function pendingToRow(p: PendingRecord): Row {
  return {
    kind: p.kind,
    hash: p.hash,
    owner: p.owner,
    data: p.data,
    created_at: p.createdAt,
    expires_at: p.expiresAt,
  };
}

export function pendingFromRow(r: Row): PendingRecord {
  return {
    hash: str(r.hash),
    kind: str(r.kind) as PendingKind,
    owner: str(r.owner),
    data: str(r.data),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}

export function identityProviderToRow(p: IdentityProviderRecord): Row {
  return {
    id: p.id,
    name: p.name,
    issuer: p.issuer,
    client_id: p.clientId,
    encrypted_client_secret: p.encryptedClientSecret,
    scope: JSON.stringify(p.scope),
    claims_map: p.claimsMap,
    allowed_domains: JSON.stringify(p.allowedDomains),
    created_at: p.createdAt,
  };
}

export function identityProviderFromRow(r: Row): IdentityProviderRecord {
  return {
    id: str(r.id),
    name: str(r.name),
    issuer: str(r.issuer),
    clientId: str(r.client_id),
    encryptedClientSecret: str(r.encrypted_client_secret),
    scope: list(r.scope),
    claimsMap: str(r.claims_map),
    allowedDomains: list(r.allowed_domains),
    createdAt: num(r.created_at),
  };
}

export function identityLinkToRow(l: IdentityLinkRecord): Row {
  return { provider_id: l.providerId, subject: l.subject, user_id: l.userId, created_at: l.createdAt };
}

export function identityLinkFromRow(r: Row): IdentityLinkRecord {
  return {
    providerId: str(r.provider_id),
    subject: str(r.subject),
    userId: str(r.user_id),
    createdAt: num(r.created_at),
  };
}

export function passkeyToRow(p: PasskeyRecord): Row {
  return {
    id: p.id,
    user_id: p.userId,
    public_key: p.publicKey,
    counter: p.counter,
    transports: JSON.stringify(p.transports),
    backed_up: flag(p.backedUp),
    name: p.name,
    created_at: p.createdAt,
    last_used_at: p.lastUsedAt,
  };
}

export function passkeyFromRow(r: Row): PasskeyRecord {
  return {
    id: str(r.id),
    userId: str(r.user_id),
    publicKey: str(r.public_key),
    counter: num(r.counter),
    transports: list(r.transports),
    backedUp: bool(r.backed_up),
    name: str(r.name),
    createdAt: num(r.created_at),
    lastUsedAt: numOrNull(r.last_used_at),
  };
}

/** Builds `INSERT INTO table (a, b) VALUES (…)` for a row, with `placeholder(i, column)` per value. */
export function insertSQL(
  table: string,
  row: Row,
  placeholder: (index: number, column: string) => string,
): string {
  const columns = Object.keys(row);
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c, i) => placeholder(i, c)).join(', ')})`;
}
