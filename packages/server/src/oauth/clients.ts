import { createLocalKeySet } from '@tessera/jwt';
import { isSensitiveClaimName } from '@tessera/jwt/lint';
import type {
  ClientAuthMethod,
  ClientRecord,
  ExchangeTrustIssuer,
  ClientStore,
  RevocationRecord,
  RevocationStore,
  TokenFormat,
} from '../store/types.js';
import { StoreConflictError } from '../store/types.js';
import { hashClientSecret, randomToken } from './crypto.js';
import { REGISTERED_CLAIMS } from './claims-policy.js';
import { GRANT_TYPES, JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT } from './grants/index.js';
import { checkExchangeSettings } from '../exchange/client-settings.js';
import { parseScope } from './scope.js';

const AUTHORIZATION_CODE_GRANT = 'authorization_code';
/** The only grants a public client may have: both need a signed-in user and PKCE behind them. */
const PUBLIC_CLIENT_GRANTS: readonly string[] = [AUTHORIZATION_CODE_GRANT, 'refresh_token'];

/** A client definition refused before anything is stored; the message says what to change. */
export class ClientValidationError extends Error {
  override readonly name = 'ClientValidationError';
}

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
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
  /** Absolute redirect URIs (RFC 6749 §3.1.2): https, loopback http or a private-use scheme (RFC 8252 §7). */
  redirectUris?: string[];
  /** Where RP-initiated logout may return the browser; the same rules as redirect URIs. */
  postLogoutRedirectUris?: string[];
  /** Users are never asked for consent (the operator's own apps). Default false. */
  firstParty?: boolean;
  /** Authorization requests must come through PAR (RFC 9126 §5). Default false. */
  requirePar?: boolean;
  /** Every token request must carry a DPoP proof (RFC 9449 §5.2, `--dpop required`). Default false. */
  dpopBoundAccessTokens?: boolean;
  /** Audiences token exchange (RFC 8693) may issue this client tokens for. Default none. */
  exchangeAudiences?: string[];
  /** Foreign issuers whose JWTs it may exchange, each with its JWKS URL. Default none. */
  exchangeTrustIssuers?: ExchangeTrustIssuer[];
}

/** What `tessera clients update` may change; anything absent stays as it is. */
export type UpdateClientOptions = Partial<
  Pick<
    CreateClientOptions,
    | 'scope'
    | 'audience'
    | 'redirectUris'
    | 'postLogoutRedirectUris'
    | 'firstParty'
    | 'requirePar'
    | 'dpopBoundAccessTokens'
    | 'allowedClaims'
    | 'accessTtl'
    | 'jwks'
    | 'tokenFormat'
    | 'introspectAudiences'
    | 'exchangeAudiences'
    | 'exchangeTrustIssuers'
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
  /** The generated secret, shown once; undefined for private_key_jwt and public (`none`) clients. */
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
  post_logout_redirect_uris: string[];
  first_party: boolean;
  require_par: boolean;
  /** RFC 9449 §5.2 client metadata: true when every token request must carry a DPoP proof. */
  dpop_bound_access_tokens: boolean;
  exchange_audiences: string[];
  exchange_trust_issuers: { issuer: string; jwks_uri: string }[];
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

/** The longest redirect URI we store (browsers and proxies truncate or refuse longer URLs). */
const MAX_REDIRECT_URI = 2048;
const LOOPBACK_HOSTS = ['127.0.0.1', '[::1]', 'localhost'];
/**
 * Schemes that run or read content in the browser itself: a redirect there executes attacker-chosen script
 * with the code in hand (XSS through the redirect, RFC 9700 §4.1) or reads local files.
 */
const DANGEROUS_SCHEMES = ['javascript:', 'data:', 'file:', 'vbscript:', 'blob:'];
/** RFC 8252 §7.1: a private-use scheme is reverse-domain style, so it has at least one dot. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(?:\.[a-z0-9+-]+)+:$/;

/**
 * Check one redirect URI (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §4.1), for `what` ("redirect URI" or
 * "post-logout redirect URI"). Refused: over-long values; anything but printable ASCII (a URL parser drops
 * tabs and newlines, so a stored value could differ from what exact matching later compares); fragments
 * (§3.1.2); userinfo (`https://trusted@evil.example` misleads whoever reads it); script, data and file
 * schemes; plain http except on a loopback host (RFC 8252 §7.3; elsewhere it hands the code to the network);
 * any other scheme without a dot (RFC 8252 §7.1: private-use schemes are reverse-domain names, so one app
 * cannot casually claim another's).
 */
function checkRedirectUri(value: string, what: string): void {
  const shown = value.slice(0, 200);
  if (value.length > MAX_REDIRECT_URI)
    throw new ClientValidationError(`a ${what} must be at most ${MAX_REDIRECT_URI} characters`);
  if (!/^[\x21-\x7e]+$/.test(value))
    throw new ClientValidationError(`${what} "${shown}" must be printable ASCII without spaces`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ClientValidationError(`${what} "${shown}" is not an absolute URI`);
  }
  if (value.includes('#'))
    throw new ClientValidationError(`${what} "${shown}" must not have a fragment (RFC 6749 §3.1.2)`);
  const scheme = url.protocol.toLowerCase();
  if (DANGEROUS_SCHEMES.includes(scheme))
    throw new ClientValidationError(`${what} "${shown}": the ${scheme} scheme is refused`);
  if (url.username !== '' || url.password !== '' || /^[^:]+:\/\/[^/?]*@/.test(value))
    throw new ClientValidationError(`${what} "${shown}" must not carry userinfo (user@)`);
  if (scheme === 'https:') return;
  if (scheme === 'http:' && LOOPBACK_HOSTS.includes(url.hostname)) return;
  if (scheme !== 'http:' && PRIVATE_USE_SCHEME.test(scheme)) return;
  throw new ClientValidationError(
    `${what} "${shown}" must be https, http on a loopback host (127.0.0.1, [::1], localhost), ` +
      'or a private-use scheme with a dot (RFC 8252 §7.1, e.g. com.example.app:/callback)',
  );
}

function checkRedirectUris(values: string[] | undefined, what = 'redirect URI'): string[] {
  const unique = [...new Set(values ?? [])];
  for (const value of unique) checkRedirectUri(value, what);
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
 * methods, an access TTL above the server maximum, a refresh_token grant without jwt-bearer or
 * authorization_code (nothing would issue refresh tokens), authorization_code without a redirect URI,
 * private_key_jwt or jwt-bearer without a public JWKS, a public client (`none`) with any grant but
 * authorization_code and refresh_token, allowed claims that are registered or sensitive-looking.
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
  // Public clients (RFC 6749 §2.1) cannot keep a secret, and private_key_jwt clients prove keys instead.
  const hasSecret = client.authMethod !== 'private_key_jwt' && client.authMethod !== 'none';
  const secret = hasSecret ? randomToken(32) : undefined;
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
  if (
    grants.includes('refresh_token') &&
    !grants.includes(JWT_BEARER_GRANT) &&
    !grants.includes(AUTHORIZATION_CODE_GRANT)
  ) {
    throw new ClientValidationError(
      `the refresh_token grant needs ${JWT_BEARER_GRANT} or ${AUTHORIZATION_CODE_GRANT} ` +
        '(the grants that issue refresh tokens)',
    );
  }
  const authMethod = options.authMethod ?? 'client_secret_basic';
  if (!CLIENT_AUTH_METHODS.includes(authMethod))
    throw new ClientValidationError(`unknown auth method "${authMethod}"`);
  if (authMethod === 'none') {
    // A public client proves nothing about itself (RFC 6749 §2.1, §10.1): only the user-bound code grant
    // (with PKCE) and its refresh tokens; client_credentials or jwt-bearer would hand tokens to anyone
    // who knows the client id.
    const refused = grants.filter((g) => !PUBLIC_CLIENT_GRANTS.includes(g));
    if (refused.length > 0)
      throw new ClientValidationError(
        `a public client (--auth none) may use only ${PUBLIC_CLIENT_GRANTS.join(' and ')} (not ${refused.join(', ')})`,
      );
    if (options.jwks !== undefined)
      throw new ClientValidationError(
        'a public client (--auth none) has no keys: --jwks is for private_key_jwt',
      );
    // RFC 9126 §2: PAR authenticates the client; a public client would be locked out.
    if (options.requirePar === true)
      throw new ClientValidationError(
        '--require-par needs a confidential client (PAR requests are authenticated)',
      );
  }
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
  const postLogoutRedirectUris = checkRedirectUris(
    options.postLogoutRedirectUris,
    'post-logout redirect URI',
  );
  if (grants.includes(AUTHORIZATION_CODE_GRANT) && redirectUris.length === 0)
    // RFC 9700 §4.1.1: redirect URIs are registered and matched exactly; none registered, none can match.
    throw new ClientValidationError('the authorization_code grant needs at least one --redirect-uri');
  const allowedClaims = checkClaimNames(options.allowedClaims ?? []);
  const exchange = checkExchangeSettings(
    grants.includes(TOKEN_EXCHANGE_GRANT),
    checkAudiences(options.exchangeAudiences, 'exchange audience'),
    options.exchangeTrustIssuers ?? [],
  );
  if (!exchange.ok) throw new ClientValidationError(exchange.reason);

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
    postLogoutRedirectUris,
    firstParty: options.firstParty === true,
    requirePar: options.requirePar === true,
    dpopBoundAccessTokens: options.dpopBoundAccessTokens === true,
    exchangeAudiences: exchange.audiences,
    exchangeTrustIssuers: exchange.trustIssuers,
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
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    first_party: client.firstParty === true,
    require_par: client.requirePar === true,
    dpop_bound_access_tokens: client.dpopBoundAccessTokens === true,
    exchange_audiences: client.exchangeAudiences ?? [],
    exchange_trust_issuers: (client.exchangeTrustIssuers ?? []).map((t) => ({
      issuer: t.issuer,
      jwks_uri: t.jwksUri,
    })),
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

/** Client flags that read as false when absent. */
const BOOLEAN_FIELDS: ReadonlySet<keyof ClientRecord> = new Set([
  'firstParty',
  'requirePar',
  'dpopBoundAccessTokens',
]);

/** Refused because there is no client with that id (the CLI answers "no client" and exit code 1). */
export class ClientNotFoundError extends ClientValidationError {}

/** The record fields each `UpdateClientOptions` member changes (for the audit event). */
const UPDATE_FIELDS: Record<keyof UpdateClientOptions, keyof ClientRecord> = {
  scope: 'scope',
  audience: 'audience',
  redirectUris: 'redirectUris',
  postLogoutRedirectUris: 'postLogoutRedirectUris',
  firstParty: 'firstParty',
  requirePar: 'requirePar',
  dpopBoundAccessTokens: 'dpopBoundAccessTokens',
  allowedClaims: 'allowedClaims',
  accessTtl: 'accessTtl',
  jwks: 'jwks',
  tokenFormat: 'tokenFormat',
  introspectAudiences: 'introspectAudiences',
  exchangeAudiences: 'exchangeAudiences',
  exchangeTrustIssuers: 'exchangeTrustIssuers',
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
    postLogoutRedirectUris: current.postLogoutRedirectUris ?? [],
    firstParty: current.firstParty === true,
    requirePar: current.requirePar === true,
    dpopBoundAccessTokens: current.dpopBoundAccessTokens === true,
    exchangeAudiences: current.exchangeAudiences ?? [],
    exchangeTrustIssuers: current.exchangeTrustIssuers ?? [],
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
  // Absent optional fields read as their defaults, so setting a default explicitly is no change.
  const stored = (record: ClientRecord, field: keyof ClientRecord) =>
    JSON.stringify(record[field] ?? (BOOLEAN_FIELDS.has(field) ? false : []));
  const changed = (Object.keys(UPDATE_FIELDS) as (keyof UpdateClientOptions)[])
    .filter((name) => changes[name] !== undefined)
    .map((name) => UPDATE_FIELDS[name])
    .filter((field) => stored(client, field) !== stored(current, field));
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
    throw new ClientValidationError(
      `client "${id}" authenticates with ${current.authMethod} and has no secret`,
    );
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
