import { createLocalKeySet } from '@tessera/jwt';
import { isSensitiveClaimName } from '@tessera/jwt/lint';
import type { ClientAuthMethod, ClientRecord, ClientStore, TokenFormat } from '../store/types.js';
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
}

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
  jwks: unknown;
  created_at: string;
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
  const audience = [...new Set(options.audience ?? [])];
  if (audience.some((a) => a === '' || a.length > 512))
    throw new ClientValidationError('audience values must be 1-512 characters');
  const allowedClaims = checkClaimNames(options.allowedClaims ?? []);

  const secret = authMethod === 'private_key_jwt' ? undefined : randomToken(32);
  const client: ClientRecord = {
    id: options.id,
    secretHash: secret === undefined ? null : hashClientSecret(pepper, secret),
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
  };
  return { client, secret };
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
    jwks,
    created_at: new Date(client.createdAt).toISOString(),
  };
}

/** All clients, sorted by id, as printable views. */
export async function listClientViews(store: ClientStore): Promise<ClientView[]> {
  const clients = await store.listClients();
  return clients.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(describeClient);
}
