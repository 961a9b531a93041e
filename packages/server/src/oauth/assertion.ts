import { createLocalKeySet, createVerifier, decodeJWT, TesseraError } from '@tessera/jwt';
import type { Alg, JWTPayload } from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import type { ClientRecord } from '../store/types.js';
import { MAX_ASSERTION_LIFETIME, oauthSettings } from './settings.js';
import { unavailable } from '../server/errors.js';

/** Asymmetric algorithms only: a client's registered JWKS holds public keys (RFC 7523 §3, RFC 8725 §3.1). */
export const ASSERTION_ALGORITHMS: Alg[] = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
];

/** Why an assertion was refused; the caller maps it to invalid_client or invalid_grant. */
export class AssertionRejected extends Error {
  override readonly name = 'AssertionRejected';
}

/** Client assertions (RFC 7523 §3) and authorization grants (§2.1): checked differently, but one jti space. */
export type AssertionPurpose = 'client-assertion' | 'jwt-bearer';

export interface VerifyAssertionOptions {
  purpose: AssertionPurpose;
  /** For client authentication: the client_id the request named, if any (must match iss). */
  expectedClientId?: string | undefined;
  /** For jwt-bearer: the already-authenticated client whose key must have signed the assertion. */
  client?: ClientRecord;
}

export interface VerifyAssertionResult {
  client: ClientRecord;
  payload: JWTPayload & { iss: string; sub: string; exp: number; jti: string };
}

type Verifier = ReturnType<typeof createVerifier>;

/** Verifiers per client, rebuilt when its registered JWKS changes (a CLI edit takes effect at once). */
const verifiers = new Map<string, { jwks: string; issuer: string; verifier: Verifier }>();
const MAX_CACHED_VERIFIERS = 1000;

function verifierFor(ctx: ServerContext, client: ClientRecord): Verifier {
  const jwks = client.jwks ?? '';
  const { issuer, tokenEndpoint, clockTolerance } = oauthSettings(ctx);
  const key = `${issuer}\0${client.id}`;
  const cached = verifiers.get(key);
  if (cached && cached.jwks === jwks) return cached.verifier;
  let keys;
  try {
    keys = createLocalKeySet(JSON.parse(jwks));
  } catch {
    throw new AssertionRejected('the client has no usable registered JWKS');
  }
  const verifier = createVerifier({
    algorithms: ASSERTION_ALGORITHMS,
    issuer: client.id,
    // RFC 7523 §3: the audience is the token endpoint URL; the issuer identifier is accepted as well.
    audience: [tokenEndpoint, issuer],
    keys,
    clockTolerance,
    clock: ctx.clock,
  });
  if (verifiers.size >= MAX_CACHED_VERIFIERS) verifiers.clear();
  verifiers.set(key, { jwks, issuer, verifier });
  return verifier;
}

/** The `iss` of an unverified assertion: only used to find which client's keys to verify it with. */
function claimedIssuer(token: string): string {
  let payload: JWTPayload;
  try {
    payload = decodeJWT(token).payload;
  } catch {
    throw new AssertionRejected('malformed assertion');
  }
  if (typeof payload.iss !== 'string' || payload.iss === '') throw new AssertionRejected('missing "iss"');
  return payload.iss;
}

/**
 * Verify a JWT assertion from a client (RFC 7523): signature by a key of the client's registered JWKS,
 * `iss` the client id (and for client authentication `sub` too), `aud` the token endpoint or issuer, `exp`
 * required and at most five minutes ahead, `jti` required and accepted once only — the single-use record is
 * one atomic insert in the store, so a replay fails on every instance.
 *
 * @example
 * const { client, payload } = await verifyAssertion(ctx, assertion, { purpose: 'client-assertion' });
 */
export async function verifyAssertion(
  ctx: ServerContext,
  token: string,
  options: VerifyAssertionOptions,
): Promise<VerifyAssertionResult> {
  const iss = claimedIssuer(token);
  if (options.expectedClientId !== undefined && options.expectedClientId !== iss) {
    throw new AssertionRejected('"iss" does not match client_id');
  }
  if (options.client && options.client.id !== iss) throw new AssertionRejected('"iss" must be the client id');
  const client = options.client ?? (await ctx.store.getClient(iss));
  if (!client || client.jwks === null) throw new AssertionRejected('unknown client or no registered keys');

  let payload: JWTPayload;
  try {
    payload = (await verifierFor(ctx, client).verify(token)).payload;
  } catch (err) {
    if (err instanceof TesseraError) throw new AssertionRejected(err.message);
    // Not a token problem we know, but still the client's assertion that failed: refuse, never a 500.
    ctx.log.warn({ err, clientId: client.id }, 'unexpected error verifying a client assertion');
    throw new AssertionRejected('assertion could not be verified');
  }
  const now = Math.floor(ctx.clock() / 1000);
  const { clockTolerance } = oauthSettings(ctx);
  if (typeof payload.exp !== 'number') throw new AssertionRejected('"exp" is required');
  if (payload.exp > now + MAX_ASSERTION_LIFETIME + clockTolerance) {
    throw new AssertionRejected(`"exp" must be at most ${MAX_ASSERTION_LIFETIME} seconds ahead`);
  }
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new AssertionRejected('"sub" is required');
  if (options.purpose === 'client-assertion' && payload.sub !== client.id) {
    throw new AssertionRejected('"sub" must be the client id');
  }
  if (options.purpose === 'client-assertion' && !singleAudience(payload.aud, ctx)) {
    throw new AssertionRejected('"aud" must be exactly the token endpoint URL or the issuer');
  }
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) {
    throw new AssertionRejected('"jti" is required');
  }
  const expiresAt = (payload.exp + clockTolerance) * 1000;
  // One namespace for both roles: a jti the client used for authentication cannot be spent again as a grant
  // (or the other way round), as RFC 7523 §3 item 7 asks of any one issuer's assertions.
  const first = await consumeAssertionId(
    ctx,
    ASSERTION_ID_NAMESPACE,
    `${client.id}:${payload.jti}`,
    expiresAt,
  );
  if (!first) throw new AssertionRejected('"jti" has already been used');
  return { client, payload: payload as VerifyAssertionResult['payload'] };
}

/** The used-id namespace of every assertion jti, client assertion and jwt-bearer grant alike. */
export const ASSERTION_ID_NAMESPACE = 'assertion';

/**
 * draft-ietf-oauth-rfc7523bis §4 (audience injection): a client assertion names this server alone, as one
 * value: the token endpoint URL or the issuer, a string or an array of exactly one. An assertion that also
 * names another server could have been obtained there and replayed here.
 */
function singleAudience(aud: unknown, ctx: ServerContext): boolean {
  const value = Array.isArray(aud) && aud.length === 1 ? (aud[0] as unknown) : aud;
  const { issuer, tokenEndpoint } = oauthSettings(ctx);
  return typeof value === 'string' && (value === tokenEndpoint || value === issuer);
}

/**
 * Record an assertion `jti` as used, once (RFC 7523 §3 item 7: replay prevention). With Redis configured
 * the id lives there with a TTL (`SET NX PX`), like the other short-lived shared state; without it, in the
 * store. A Redis that cannot answer fails CLOSED: the request gets 503 rather than an unchecked assertion.
 */
async function consumeAssertionId(
  ctx: ServerContext,
  namespace: string,
  id: string,
  expiresAt: number,
): Promise<boolean> {
  const now = ctx.clock();
  if (ctx.ephemeral.kind !== 'redis') return ctx.store.consumeOnce(namespace, id, expiresAt, now);
  try {
    return await ctx.ephemeral.consumeOnce(`${namespace}:${id}`, Math.max(1000, expiresAt - now));
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'single-use id store unavailable; refusing the assertion');
    throw unavailable('single-use check unavailable; try again shortly');
  }
}
