/**
 * Identity providers as records: the checks of `tessera idps add`, discovery before anything is stored, and
 * the views `list`/`show` print (never the client secret).
 */
import type { IdentityProviderRecord, Store } from '../store/types.js';
import { StoreConflictError } from '../store/types.js';
import { discoverProvider, type ProviderMetadata } from '../relying-party/index.js';
import { parseClaimsMap } from './claims-map.js';
import { FederationError } from './errors.js';
import { checkProviderId } from './provider-id.js';
import { sealClientSecret } from './secret-box.js';

export const DEFAULT_SCOPE = 'openid email profile';
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
/** A DNS name of letters, digits and hyphens (IDNs in their xn-- form). */
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

const invalid = (message: string) => new FederationError('ERR_IDP_INVALID', message);

export interface AddProviderInput {
  id: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  name?: string;
  claimsMap?: string;
  allowedDomains?: string[];
}

/** What `idps list|show` print: everything but the secret. */
export interface ProviderView {
  id: string;
  name: string;
  issuer: string;
  client_id: string;
  scope: string;
  claims_map: Record<string, string>;
  allowed_domains: string[];
  created_at: string;
}

/**
 * Where the upstream sends the browser back: register this URI at the provider.
 *
 * @example callbackUri('https://id.example.com', 'corp'); // 'https://id.example.com/signin/idp/corp/callback'
 */
export function callbackUri(issuer: string, id: string): string {
  return `${issuer.replace(/\/$/, '')}/signin/idp/${id}/callback`;
}

function checkScope(scope: string): string[] {
  const tokens = scope.split(' ').filter((s) => s !== '');
  if (!tokens.includes('openid')) throw invalid('--scope must include openid');
  for (const token of tokens)
    if (!SCOPE_TOKEN.test(token)) throw invalid(`--scope has an invalid scope "${token.slice(0, 64)}"`);
  return [...new Set(tokens)];
}

function checkDomains(domains: readonly string[]): string[] {
  const out = domains
    .flatMap((d) => d.split(','))
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d !== '');
  for (const d of out)
    if (!DOMAIN.test(d)) throw invalid(`--allowed-domains: "${d.slice(0, 64)}" is not a domain name`);
  return [...new Set(out)];
}

function checkName(name: string): string {
  const trimmed = name.trim();
  // eslint-disable-next-line no-control-regex
  if (trimmed === '' || [...trimmed].length > 64 || /[\u0000-\u001f\u007f]/.test(trimmed))
    throw invalid('--name must be 1 to 64 characters without control characters');
  return trimmed;
}

/**
 * Check the definition, read the upstream's discovery document (its `issuer` must be the one given:
 * OIDC Discovery §4.3), then store the provider with its secret encrypted. Nothing is stored on failure.
 *
 * @example
 * const { record } = await addIdentityProvider(store, pepper, { id: 'corp', issuer, clientId, clientSecret }, { now });
 */
export async function addIdentityProvider(
  store: Store,
  pepper: Buffer,
  input: AddProviderInput,
  options: { now: number; discover?: (issuer: string) => Promise<ProviderMetadata> },
): Promise<{ record: IdentityProviderRecord; metadata: ProviderMetadata }> {
  const id = checkProviderId(input.id);
  if (input.clientId === '' || input.clientId.length > 255 || /\s/.test(input.clientId))
    throw invalid('--client-id must be 1 to 255 characters without spaces');
  if (input.clientSecret === '' || input.clientSecret.length > 1024)
    throw invalid('the client secret on stdin must be 1 to 1024 characters');
  const scope = checkScope(input.scope ?? DEFAULT_SCOPE);
  const claimsMap = parseClaimsMap(input.claimsMap);
  const allowedDomains = checkDomains(input.allowedDomains ?? []);
  const name = checkName(input.name ?? id);
  if (await store.getIdentityProvider(id))
    throw new FederationError('ERR_IDP_EXISTS', `an identity provider "${id}" already exists`);
  const metadata = await (options.discover ?? discoverProvider)(input.issuer);
  const record: IdentityProviderRecord = {
    id,
    name,
    issuer: metadata.issuer,
    clientId: input.clientId,
    encryptedClientSecret: sealClientSecret(pepper, id, input.clientSecret),
    scope,
    claimsMap: JSON.stringify(claimsMap),
    allowedDomains,
    createdAt: options.now,
  };
  try {
    await store.createIdentityProvider(record);
  } catch (err) {
    if (err instanceof StoreConflictError)
      throw new FederationError('ERR_IDP_EXISTS', `an identity provider "${id}" already exists`);
    throw err;
  }
  await store.appendAudit({
    at: options.now,
    type: 'idp.created',
    data: { idp: id, issuer: record.issuer, allowedDomains },
  });
  return { record, metadata };
}

/**
 * The printable view of a provider (no secret).
 *
 * @example console.log(JSON.stringify(describeProvider(record)));
 */
export function describeProvider(record: IdentityProviderRecord): ProviderView {
  return {
    id: record.id,
    name: record.name,
    issuer: record.issuer,
    client_id: record.clientId,
    scope: record.scope.join(' '),
    claims_map: JSON.parse(record.claimsMap) as Record<string, string>,
    allowed_domains: record.allowedDomains,
    created_at: new Date(record.createdAt).toISOString(),
  };
}

/**
 * A provider by id, or ERR_IDP_NOT_FOUND.
 *
 * @example const provider = await requireProvider(store, 'corp');
 */
export async function requireProvider(store: Store, id: string): Promise<IdentityProviderRecord> {
  const provider = await store.getIdentityProvider(id);
  if (provider === undefined)
    throw new FederationError('ERR_IDP_NOT_FOUND', `no identity provider "${id.slice(0, 64)}"`);
  return provider;
}

/**
 * Delete a provider and its links (its users keep their accounts; they sign in another way afterwards).
 *
 * @example const links = await deleteIdentityProvider(store, 'corp', Date.now());
 */
export async function deleteIdentityProvider(store: Store, id: string, now: number): Promise<number> {
  await requireProvider(store, id);
  const links = (await store.listIdentityLinks()).filter((l) => l.providerId === id).length;
  if (!(await store.deleteIdentityProvider(id)))
    throw new FederationError('ERR_IDP_NOT_FOUND', `no identity provider "${id.slice(0, 64)}"`);
  await store.appendAudit({ at: now, type: 'idp.deleted', data: { idp: id, links } });
  return links;
}
