/**
 * Row shapes shared by the SQL stores (SQLite and PostgreSQL use the same column names and types: times are
 * integer milliseconds, lists are JSON text), and the mapping to and from the record types.
 */
import type {
  AuditEvent,
  ClientRecord,
  KeyRecord,
  KeyState,
  OpaqueTokenRecord,
  RefreshFamilyRecord,
  RefreshTokenRecord,
  RevocationKind,
  RevocationRecord,
} from './types.js';

type Row = Record<string, unknown>;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string => String(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const list = (v: unknown): string[] => JSON.parse(String(v)) as string[];

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

/** Builds `INSERT INTO table (a, b) VALUES (…)` for a row, with `placeholder(i, column)` per value. */
export function insertSQL(
  table: string,
  row: Row,
  placeholder: (index: number, column: string) => string,
): string {
  const columns = Object.keys(row);
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c, i) => placeholder(i, c)).join(', ')})`;
}
