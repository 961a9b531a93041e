import { createLocalKeySet } from '@tessera/jwt';
import { isSensitiveClaimName } from '@tessera/jwt/lint';
import type {
  ClientAuthMethod,
  ClientRecord,
  ClientStore,
  RevocationRecord,
  RevocationStore,
  TokenFormat,
} from '../store/types.js';
import { StoreConflictError } from '../store/types.js';
import { hashClientSecret, randomToken } from './crypto.js';
import { REGISTERED_CLAIMS } from './claims-policy.js';
import { GRANT_TYPES, JWT_BEARER_GRANT } from './grants/index.js';
import { parseScope } from './scope.js';

/** A client definition refused before anything is stored; the message says what to change. */
export class ClientValidationError extends Error {
  override readonly name = 'ClientValidationError';
}

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
];
export const TOKEN_FORMATS: readonly TokenFormat[] = ['jwt', 'opaque'];

export interface CreateClientOptions {
  id: string;
  grants: string[];
  audience?: string[];
  scope?: string[];
  authMethod?: ClientAuthMethod;
  /** Public JWK Set as JSON text (private_key_jwt and jwt-bearer). */
  jwks?: string;
  tokenFormat?: TokenFormat;
  /** Seconds; defaults to the server's default access TTL. */
  accessTtl?: number;
  allowedClaims?: string[];
  refreshAbsoluteTtl?: number;
  refreshIdleTtl?: number;
  /** Audiences whose tokens (issued to other clients) this client may introspect. Default none. */
  introspectAudiences?: string[];
  /** Absolute redirect URIs (RFC 6749 §3.1.2), stored for the sign-in flows. */
  redirectUris?: string[];
}

/** What `tessera clients update` may change; anything absent stays as it is. */
export type UpdateClientOptions = Partial<
  Pick<
    CreateClientOptions,
    | 'scope'
    | 'audience'
    | 'redirectUris'
    | 'allowedClaims'
    | 'accessTtl'
    | 'jwks'
    | 'tokenFormat'
    | 'introspectAudiences'
  >
>;

/** Server-wide values a new client inherits or is checked against. */
export interface ClientDefaults {
  accessTtl: number;
  maxAccessTtl: number;
  refreshAbsoluteTtl: number;
  refreshIdleTtl: number;
}

export interface CreateClientResult {
  client: ClientRecord;
  /** The generated secret, shown once; undefined for private_key_jwt clients. */
  secret: string | undefined;
}

/** The shape `clients show/list --json` prints: everything but the secret hash. */
export interface ClientView {
  client_id: string;
  token_endpoint_auth_method: ClientAuthMethod;
  grant_types: string[];
  audience: string[];
  scope: string;
  token_format: TokenFormat;
  access_token_ttl: number;
  allowed_claims: string[];
  refresh_absolute_ttl: number;
  refresh_idle_ttl: number;
  introspect_audiences: string[];
  redirect_uris: string[];
  jwks: unknown;
  created_at: string;
  /** When `rotate-secret --grace` left the old secret working: until when (ISO time). */
  previous_secret_expires_at?: string;
  updated_at?: string;
}

/** Client ids are used in Basic credentials, keys and logs: a conservative character set. */
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

function checkJWKS(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ClientValidationError('the JWKS is not valid JSON');
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new ClientValidationError('the JWKS must be {"keys": [ … ]} with at least one key');
  for (const key of keys) {
    if (key === null || typeof key !== 'object')
      throw new ClientValidationError('the JWKS holds a non-object key');
    const present = PRIVATE_MEMBERS.filter((m) => m in (key as object));
    if (present.length > 0)
      throw new ClientValidationError(`the JWKS must hold public keys only (found ${present.join(', ')})`);
  }
  try {
    createLocalKeySet(parsed as { keys: [] });
  } catch (err) {
    throw new ClientValidationError(`the JWKS is not usable: ${(err as Error).message}`);
  }
  return JSON.stringify({ keys });
}

function checkAudiences(values: string[] | undefined, what: string): string[] {
  const unique = [...new Set(values ?? [])];
  if (unique.some((a) => a === '' || a.length > 512))
    throw new ClientValidationError(`${what} values must be 1-512 characters`);
  return unique;
}

/**
 * RFC 6749 §3.1.2: absolute, no fragment. https only, except http on a loopback host (RFC 8252 §7.3,
 * native apps): a plain-http redirect elsewhere hands the authorization code to the network.
 */
function checkRedirectUris(values: string[] | undefined): string[] {
  const unique = [...new Set(values ?? [])];
  for (const value of unique) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ClientValidationError(`redirect URI "${value.slice(0, 200)}" is not an absolute URI`);
    }
    if (value.length > 2048 || value.includes('#'))
      throw new ClientValidationError('a redirect URI must be at most 2048 characters, without a fragment');
    const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
      throw new ClientValidationError(
        `redirect URI "${value.slice(0, 200)}" must be https (http only on a loopback host)`,
      );
  }
  return unique;
}

function checkClaimNames(names: string[]): string[] {
  for (const name of names) {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name))
      throw new ClientValidationError(`invalid claim name "${name.slice(0, 64)}"`);
    if (REGISTERED_CLAIMS.has(name))
      throw new ClientValidationError(`"${name}" is a registered claim and cannot be passed through`);
    if (isSensitiveClaimName(name))
      throw new ClientValidationError(`"${name}" looks sensitive and cannot go into a readable token`);
  }
  return [...new Set(names)];
}

/**
 * Validate a client definition and build its record (without storing it). Refuses: unknown grants or auth
 * methods, an access TTL above the server maximum, a refresh_token grant without jwt-bearer (nothing would
 * issue refresh tokens), private_key_jwt or jwt-bearer without a public JWKS, allowed claims that are
 * registered or sensitive-looking.
 *
 * @example
 * const { client, secret } = buildClient({ id: 'svc', grants: ['client_credentials'] }, defaults, pepper, Date.now());
 */
export function buildClient(
  options: CreateClientOptions,
  defaults: ClientDefaults,
  pepper: Buffer,
  now: number,
): CreateClientResult {
  const client = validateClient(options, defaults, now);
  const secret = client.authMethod === 'private_key_jwt' ? undefined : randomToken(32);
  if (secret !== undefined) client.secretHash = hashClientSecret(pepper, secret);
  return { client, secret };
}

/** Every check of `buildClient`, shared by create and update; the record has no secret yet. */
function validateClient(options: CreateClientOptions, defaults: ClientDefaults, now: number): ClientRecord {
  if (!CLIENT_ID.test(options.id)) {
    throw new ClientValidationError(
      'client id must be 1-128 characters of A-Z a-z 0-9 . _ ~ - (starting alphanumeric)',
    );
  }
  const grants = [...new Set(options.grants)];
  if (grants.length === 0) throw new ClientValidationError('at least one grant is required');
  for (const grant of grants) {
    if (!(GRANT_TYPES as readonly string[]).includes(grant)) {
      throw new ClientValidationError(`unknown grant "${grant}" (use ${GRANT_TYPES.join(', ')})`);
    }
  }
  if (grants.includes('refresh_token') && !grants.includes(JWT_BEARER_GRANT)) {
    throw new ClientValidationError(
      `the refresh_token grant needs ${JWT_BEARER_GRANT} (the only grant that issues refresh tokens)`,
    );
  }
  const authMethod = options.authMethod ?? 'client_secret_basic';
  if (!CLIENT_AUTH_METHODS.includes(authMethod))
    throw new ClientValidationError(`unknown auth method "${authMethod}"`);
  const tokenFormat = options.tokenFormat ?? 'jwt';
  if (!TOKEN_FORMATS.includes(tokenFormat))
    throw new ClientValidationError(`unknown token format "${tokenFormat}"`);
  const needsKeys = authMethod === 'private_key_jwt' || grants.includes(JWT_BEARER_GRANT);
  if (needsKeys && options.jwks === undefined) {
    throw new ClientValidationError(
      "private_key_jwt and the jwt-bearer grant need the client's public keys (--jwks FILE)",
    );
  }
  const jwks = options.jwks === undefined ? null : checkJWKS(options.jwks);

  const accessTtl = options.accessTtl ?? defaults.accessTtl;
  if (!(accessTtl >= 1))
    throw new ClientValidationError('the access-token lifetime must be at least 1 second');
  if (accessTtl > defaults.maxAccessTtl) {
    throw new ClientValidationError(
      `the access-token lifetime ${accessTtl}s exceeds the server maximum of ${defaults.maxAccessTtl}s`,
    );
  }
  let scope: string[];
  try {
    scope = parseScope((options.scope ?? []).join(' '));
  } catch {
    throw new ClientValidationError('scope values must be RFC 6749 §3.3 scope tokens');
  }
  const audience = checkAudiences(options.audience, 'audience');
  const introspectAudiences = checkAudiences(options.introspectAudiences, 'introspect audience');
  const redirectUris = checkRedirectUris(options.redirectUris);
  const allowedClaims = checkClaimNames(options.allowedClaims ?? []);

  return {
    id: options.id,
    secretHash: null,
    authMethod,
    grants,
    audience,
    scope,
    jwks,
    tokenFormat,
    accessTtl: Math.floor(accessTtl),
    allowedClaims,
    refreshAbsoluteTtl: Math.floor(options.refreshAbsoluteTtl ?? defaults.refreshAbsoluteTtl),
    refreshIdleTtl: Math.floor(options.refreshIdleTtl ?? defaults.refreshIdleTtl),
    createdAt: now,
    introspectAudiences,
    redirectUris,
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    updatedAt: null,
  };
}

/**
 * Validate and store a new client; the secret is returned once and only its keyed hash is stored.
 *
 * @example
 * const { client, secret } = await createClient(store, { id: 'svc', grants: ['client_credentials'] }, defaults, pepper);
 */
export async function createClient(
  store: ClientStore,
  options: CreateClientOptions,
  defaults: ClientDefaults,
  pepper: Buffer,
  now = Date.now(),
): Promise<CreateClientResult> {
  const result = buildClient(options, defaults, pepper, now);
  try {
    await store.createClient(result.client);
  } catch (err) {
    if (err instanceof StoreConflictError)
      throw new ClientValidationError(`a client "${options.id}" already exists`);
    throw err;
  }
  return result;
}

/** The printable view of a client: never the secret or its hash. */
export function describeClient(client: ClientRecord): ClientView {
  let jwks: unknown = null;
  try {
    jwks = client.jwks === null ? null : JSON.parse(client.jwks);
  } catch {
    jwks = null;
  }
  return {
    client_id: client.id,
    token_endpoint_auth_method: client.authMethod,
    grant_types: client.grants,
    audience: client.audience,
    scope: client.scope.join(' '),
    token_format: client.tokenFormat,
    access_token_ttl: client.accessTtl,
    allowed_claims: client.allowedClaims,
    refresh_absolute_ttl: client.refreshAbsoluteTtl,
    refresh_idle_ttl: client.refreshIdleTtl,
    introspect_audiences: client.introspectAudiences ?? [],
    redirect_uris: client.redirectUris ?? [],
    jwks,
    created_at: new Date(client.createdAt).toISOString(),
    ...(client.previousSecretExpiresAt != null &&
      client.previousSecretHash != null && {
        previous_secret_expires_at: new Date(client.previousSecretExpiresAt).toISOString(),
      }),
    ...(client.updatedAt != null && { updated_at: new Date(client.updatedAt).toISOString() }),
  };
}

/** All clients, sorted by id, as printable views. */
export async function listClientViews(store: ClientStore): Promise<ClientView[]> {
  const clients = await store.listClients();
  return clients.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(describeClient);
}

/** Refused because there is no client with that id (the CLI answers "no client" and exit code 1). */
export class ClientNotFoundError extends ClientValidationError {}

/** The record fields each `UpdateClientOptions` member changes (for the audit event). */
const UPDATE_FIELDS: Record<keyof UpdateClientOptions, keyof ClientRecord> = {
  scope: 'scope',
  audience: 'audience',
  redirectUris: 'redirectUris',
  allowedClaims: 'allowedClaims',
  accessTtl: 'accessTtl',
  jwks: 'jwks',
  tokenFormat: 'tokenFormat',
  introspectAudiences: 'introspectAudiences',
};

/**
 * Change a client after creation: only the given fields change, and the result is validated exactly like a
 * new client (the same `buildClient`), so an update cannot reach a state `create` would refuse. The secret,
 * grants, auth method and creation time stay. Tokens already issued keep what they carry; the next token
 * carries the new values (the server re-reads clients within its reload interval, at most 5 s).
 *
 * @example
 * const { client, changed } = await updateClient(store, 'svc', { scope: ['read'] }, defaults);
 */
export async function updateClient(
  store: ClientStore,
  id: string,
  changes: UpdateClientOptions,
  defaults: ClientDefaults,
  now = Date.now(),
): Promise<{ client: ClientRecord; changed: string[] }> {
  const current = await store.getClient(id);
  if (!current) throw new ClientNotFoundError(`no client "${id}"`);
  const merged: CreateClientOptions = {
    id: current.id,
    grants: current.grants,
    audience: current.audience,
    scope: current.scope,
    authMethod: current.authMethod,
    tokenFormat: current.tokenFormat,
    accessTtl: current.accessTtl,
    allowedClaims: current.allowedClaims,
    refreshAbsoluteTtl: current.refreshAbsoluteTtl,
    refreshIdleTtl: current.refreshIdleTtl,
    introspectAudiences: current.introspectAudiences ?? [],
    redirectUris: current.redirectUris ?? [],
    ...(current.jwks !== null && { jwks: current.jwks }),
  };
  for (const [name, value] of Object.entries(changes)) {
    if (value !== undefined) Object.assign(merged, { [name]: value });
  }
  const validated = validateClient(merged, defaults, current.createdAt);
  const client: ClientRecord = {
    ...validated,
    secretHash: current.secretHash,
    previousSecretHash: current.previousSecretHash ?? null,
    previousSecretExpiresAt: current.previousSecretExpiresAt ?? null,
    updatedAt: now,
  };
  const changed = (Object.keys(UPDATE_FIELDS) as (keyof UpdateClientOptions)[])
    .filter((name) => changes[name] !== undefined)
    .map((name) => UPDATE_FIELDS[name])
    .filter((field) => JSON.stringify(client[field] ?? []) !== JSON.stringify(current[field] ?? []));
  if (!(await store.updateClient(client))) throw new ClientNotFoundError(`no client "${id}"`);
  return { client, changed };
}

/**
 * Give a client a new secret (returned once; only its keyed hash is stored). With `graceSeconds > 0` the
 * old secret keeps working until now + grace, so the client's deployments can switch over; with 0 (the
 * default) it stops at once. A second rotation inside a grace period ends the first one: only the secret
 * being replaced stays valid. private_key_jwt clients have no secret and are refused.
 *
 * @example
 * const { secret } = await rotateClientSecret(store, 'svc', 86_400, pepper);
 */
export async function rotateClientSecret(
  store: ClientStore,
  id: string,
  graceSeconds: number,
  pepper: Buffer,
  now = Date.now(),
): Promise<{ client: ClientRecord; secret: string }> {
  if (!(graceSeconds >= 0)) throw new ClientValidationError('the grace period cannot be negative');
  const current = await store.getClient(id);
  if (!current) throw new ClientNotFoundError(`no client "${id}"`);
  if (current.secretHash === null)
    throw new ClientValidationError(`client "${id}" authenticates with private_key_jwt and has no secret`);
  const secret = randomToken(32);
  const grace = Math.floor(graceSeconds * 1000);
  const client: ClientRecord = {
    ...current,
    secretHash: hashClientSecret(pepper, secret),
    previousSecretHash: grace > 0 ? current.secretHash : null,
    previousSecretExpiresAt: grace > 0 ? now + grace : null,
    updatedAt: now,
  };
  if (!(await store.updateClient(client))) throw new ClientNotFoundError(`no client "${id}"`);
  return { client, secret };
}

/** What deleting a client did to its tokens. */
export interface DeleteClientResult {
  client: ClientRecord;
  /** The `client` deny-list entry for its JWT access tokens (to publish through Redis). */
  revocation: RevocationRecord;
  opaqueTokens: number;
  refreshFamilies: number;
}

/**
 * Delete a client and everything it was issued, so a client later created with the same id inherits
 * nothing: its opaque access tokens are deleted, its refresh families revoked, and a `client` revocation
 * entry (value = client id) denies every JWT access token with that `client_id` and an `iat` at or before
 * the deletion (whole seconds), kept until no such token can still be unexpired (the longer of the client's
 * and the server's maximum access-token lifetime, plus `clockSkewSeconds`). The tokens are revoked before
 * the record goes, so a failure half way leaves a client that can be deleted again, never a deleted
 * client with live tokens.
 *
 * @example
 * const { revocation } = await deleteClient(store, 'svc', { maxAccessTtl: 3600 });
 */
export async function deleteClient(
  store: ClientStore & RevocationStore,
  id: string,
  limits: { maxAccessTtl: number; clockSkewSeconds?: number },
  now = Date.now(),
): Promise<DeleteClientResult> {
  const client = await store.getClient(id);
  if (!client) throw new ClientNotFoundError(`no client "${id}"`);
  const lifetime = Math.max(client.accessTtl, limits.maxAccessTtl) + (limits.clockSkewSeconds ?? 300);
  const revocation = await store.addRevocation({
    kind: 'client',
    value: id,
    expiresAt: now + lifetime * 1000,
    revokedAt: now,
  });
  const { opaqueTokens, refreshFamilies } = await store.revokeClientTokens(id, now);
  await store.deleteClient(id);
  return { client, revocation, opaqueTokens, refreshFamilies };
}

/**
 * Whether a `client` revocation entry denies a token issued to that client at `iat` (seconds): every token
 * issued at or before the deletion, compared in whole seconds like the SDK (docs/revocation.md).
 *
 * @example
 * if (entry && deniedByClientRevocation(entry, claims.iat)) return INACTIVE;
 */
export function deniedByClientRevocation(entry: RevocationRecord, iat: number | undefined): boolean {
  return typeof iat !== 'number' || iat <= Math.floor(entry.revokedAt / 1000);
}
