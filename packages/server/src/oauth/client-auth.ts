import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { invalidClient, invalidRequest } from '../server/errors.js';
import type { ClientAuthMethod, ClientRecord, Store } from '../store/types.js';
import type { FormParams } from './form.js';
import { equalHex, hashClientSecret } from './crypto.js';
import { AssertionRejected, verifyAssertion } from './assertion.js';

/** RFC 7523 §2.2: the only client_assertion_type we accept. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** What the request presented, before anything is checked against the store. */
type PresentedCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string | undefined; assertion: string }
  /** RFC 6749 §2.1 public client: `client_id` alone (it must be registered with `authMethod: 'none'`). */
  | { method: 'none'; clientId: string };

/** A dummy hash so an unknown client id costs the same HMAC and compare as a known one. */
const NO_SUCH_CLIENT_HASH = '0'.repeat(64);

/** Upper bound of how long a client record is reused without asking the store again. */
const CLIENT_CACHE_MAX_TTL_MS = 5_000;
/** Entries kept per store; past this the cache starts over. */
const CLIENT_CACHE_MAX_ENTRIES = 10_000;

interface CachedClient {
  /** Undefined for an id the store does not know: answered as fast as a known one (no id oracle). */
  client: ClientRecord | undefined;
  expiresAt: number;
}

const clientCaches = new WeakMap<Store, Map<string, CachedClient>>();

/**
 * `ctx.store.getClient`, with answers (found or not) reused for at most the reload interval (capped at 5 s),
 * so a `tessera clients create`/`delete` (or a change made by another instance) is followed as fast as key
 * changes are. A flood of invented ids costs at most CLIENT_CACHE_MAX_ENTRIES entries before the cache starts
 * over. The secret is still HMAC-checked in constant time on every request; only the row is reused.
 * Expiry runs on the monotonic clock, not ctx.clock, because it is about store freshness.
 *
 * SQLite only: there the lookup is a local query, and a store error is not an outage of another host.
 * On PostgreSQL every request still reads the client, so a database outage answers 503 at once (the
 * documented fault behaviour, test/scale/faults.test.ts) instead of issuing from a cached row.
 */
async function lookupClient(ctx: ServerContext, id: string): Promise<ClientRecord | undefined> {
  const ttl = Math.min(CLIENT_CACHE_MAX_TTL_MS, ctx.config.reloadInterval * 1000);
  if (!(ttl > 0) || ctx.store.kind !== 'sqlite') return ctx.store.getClient(id);
  let cache = clientCaches.get(ctx.store);
  if (cache === undefined) {
    cache = new Map();
    clientCaches.set(ctx.store, cache);
  }
  const now = performance.now();
  const hit = cache.get(id);
  if (hit !== undefined && hit.expiresAt > now) return hit.client;
  const client = await ctx.store.getClient(id);
  // Unknown ids are cached like known ones (issue 12, timing): otherwise a known id answers from memory and
  // an unknown one after a store query, and response times enumerate the registered ids.
  if (cache.size >= CLIENT_CACHE_MAX_ENTRIES && !cache.has(id)) cache.clear();
  cache.set(id, { client, expiresAt: now + ttl });
  return client;
}

/** RFC 6749 §2.3.1: the Basic id and secret are form-urlencoded before base64. */
function formDecode(text: string): string {
  // Nothing encoded (the usual generated id and base64url secret): the text is its own decoding.
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw invalidRequest('malformed Authorization header');
  }
}

/** Parse `Authorization: Basic …`; undefined when the request sent no Basic credentials. */
export function parseBasicAuth(header: string | undefined): { clientId: string; secret: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic[ ]+([A-Za-z0-9+/=._~-]*)[ ]*$/i.exec(header);
  if (!match) {
    if (/^Basic\b/i.test(header)) throw invalidClient('malformed Basic credentials');
    return undefined;
  }
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw invalidClient('malformed Basic credentials');
  return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/**
 * Work out which single authentication method the request used. Mixing methods (Basic plus a body
 * secret, or a secret plus an assertion) is invalid_request (RFC 6749 §2.3: "MUST NOT use more than one").
 */
function presentedCredentials(request: FastifyRequest, form: FormParams): PresentedCredentials {
  const authorization = request.headers.authorization;
  const basic = parseBasicAuth(typeof authorization === 'string' ? authorization : undefined);
  const bodySecret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  const assertionType = form.get('client_assertion_type');
  const methods =
    Number(basic !== undefined) +
    Number(bodySecret !== undefined) +
    Number(assertion !== undefined || assertionType !== undefined);
  if (methods > 1) throw invalidRequest('more than one client authentication method used');
  const bodyClientId = form.get('client_id');

  if (basic) {
    if (bodyClientId !== undefined && bodyClientId !== basic.clientId) {
      throw invalidRequest('client_id does not match the authenticated client');
    }
    return { method: 'client_secret_basic', ...basic };
  }
  if (bodySecret !== undefined) {
    if (bodyClientId === undefined) throw invalidRequest('missing required parameter "client_id"');
    return { method: 'client_secret_post', clientId: bodyClientId, secret: bodySecret };
  }
  if (assertion !== undefined || assertionType !== undefined) {
    if (assertionType !== JWT_BEARER_ASSERTION_TYPE)
      throw invalidRequest('unsupported client_assertion_type');
    if (assertion === undefined) throw invalidRequest('missing required parameter "client_assertion"');
    return { method: 'private_key_jwt', clientId: bodyClientId, assertion };
  }
  if (bodyClientId !== undefined) return { method: 'none', clientId: bodyClientId };
  throw invalidClient('client authentication required');
}

/** The keyed hash and the compare behind every secret check; injectable so a test can count the calls. */
export interface SecretCheckPrimitives {
  hash: (pepper: Buffer, secret: string) => string;
  equal: (a: string, b: string) => boolean;
}

const SECRET_CHECK: SecretCheckPrimitives = { hash: hashClientSecret, equal: equalHex };

/**
 * True when `secret` matches `storedHash` or, during a `rotate-secret --grace` period, `previousHash`. One
 * keyed hash and always two constant-time compares: an unknown client, one without a secret, or one with
 * no open grace period compares against a dummy hash of the same length (issue 12: no client-id
 * enumeration by response time, and the timing says nothing about which secret matched).
 *
 * @example
 * if (!secretMatches(ctx.pepper, secret, client?.secretHash)) throw invalidClient('client authentication failed');
 */
export function secretMatches(
  pepper: Buffer,
  secret: string,
  storedHash: string | null | undefined,
  previousHash?: string | null,
  primitives: SecretCheckPrimitives = SECRET_CHECK,
): boolean {
  const presented = primitives.hash(pepper, secret);
  const known = storedHash !== null && storedHash !== undefined;
  const current = primitives.equal(presented, known ? storedHash : NO_SUCH_CLIENT_HASH);
  const hasPrevious = previousHash !== null && previousHash !== undefined;
  const previous = primitives.equal(presented, hasPrevious ? previousHash : NO_SUCH_CLIENT_HASH);
  return known && (current || (hasPrevious && previous));
}

/** The previous secret's hash while its `rotate-secret --grace` period is open, else undefined. */
function graceHash(ctx: ServerContext, client: ClientRecord | undefined): string | undefined {
  if (client?.previousSecretHash == null) return undefined;
  return (client.previousSecretExpiresAt ?? 0) > ctx.clock() ? client.previousSecretHash : undefined;
}

function checkSecret(
  ctx: ServerContext,
  client: ClientRecord | undefined,
  method: ClientAuthMethod,
  secret: string,
): ClientRecord {
  // Computed before looking at `client`: an unknown id runs the same hash and compare (no short circuit).
  const ok = secretMatches(ctx.pepper, secret, client?.secretHash, graceHash(ctx, client));
  if (!client || !ok) throw invalidClient('client authentication failed');
  if (client.authMethod !== method) {
    throw invalidClient('client authentication method not registered for this client');
  }
  return client;
}

async function checkAssertion(
  ctx: ServerContext,
  presented: Extract<PresentedCredentials, { method: 'private_key_jwt' }>,
): Promise<ClientRecord> {
  try {
    const { client } = await verifyAssertion(ctx, presented.assertion, {
      purpose: 'client-assertion',
      expectedClientId: presented.clientId,
    });
    if (client.authMethod !== 'private_key_jwt') {
      throw invalidClient('client authentication method not registered for this client');
    }
    return client;
  } catch (err) {
    if (err instanceof AssertionRejected) throw invalidClient(`client assertion rejected: ${err.message}`);
    throw err;
  }
}

/**
 * Authenticate the client of an OAuth request with exactly one of client_secret_basic, client_secret_post
 * (secrets compared as HMAC digests in constant time), `none` (a public client sending only `client_id`;
 * the grants and endpoints decide what such a client may do) or private_key_jwt (RFC 7523 §3: signed by a key in
 * the client's registered JWKS, iss = sub = client_id, aud the token endpoint or issuer, exp at most five
 * minutes ahead, jti used once). Any failure is 401 invalid_client with WWW-Authenticate.
 *
 * @example
 * const client = await authenticateClient(ctx, request, form);
 */
export async function authenticateClient(
  ctx: ServerContext,
  request: FastifyRequest,
  form: FormParams,
): Promise<ClientRecord> {
  const presented = presentedCredentials(request, form);
  if (presented.method === 'private_key_jwt') return checkAssertion(ctx, presented);
  const client = await lookupClient(ctx, presented.clientId);
  if (presented.method === 'none') {
    // A client_id alone identifies only a public client; a confidential one that forgot its secret (or an
    // attacker naming it) fails like a wrong secret, with no hint which ids exist.
    if (client === undefined || client.authMethod !== 'none')
      throw invalidClient('client authentication failed');
    return client;
  }
  return checkSecret(ctx, client, presented.method, presented.secret);
}

/**
 * Authenticate with HTTP Basic only (the revocation feed, per docs/revocation.md). Any client that has a
 * secret may read the feed this way, whichever method it uses at the token endpoint.
 */
export async function authenticateBasicClient(
  ctx: ServerContext,
  request: FastifyRequest,
): Promise<ClientRecord> {
  const authorization = request.headers.authorization;
  const basic = parseBasicAuth(typeof authorization === 'string' ? authorization : undefined);
  if (!basic) throw invalidClient('client authentication required');
  const client = await lookupClient(ctx, basic.clientId);
  const ok = secretMatches(ctx.pepper, basic.secret, client?.secretHash, graceHash(ctx, client));
  if (!client || !ok) throw invalidClient('client authentication failed');
  return client;
}
