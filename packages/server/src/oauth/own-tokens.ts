import { createVerifier, TesseraError } from '@tessera/jwt';
import type { Alg, JWTPayload, KeySource, Verifier } from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import type { OpaqueTokenRecord, RefreshFamilyRecord, RefreshTokenRecord } from '../store/types.js';
import { hashToken } from './crypto.js';
import { oauthSettings } from './settings.js';

/** What the server signs with (config `alg`), plus the rest, in case the configuration changed since. */
const OWN_ALGORITHMS: Alg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];

/** The verified claims of one of our JWT access tokens. */
export type AccessTokenClaims = JWTPayload & { jti: string; client_id: string; exp: number };

const verifiers = new WeakMap<KeySource, { issuer: string; verifier: Verifier }>();

/** One verifier per key-source object (the key manager swaps it on reload) and issuer. */
function ownVerifier(ctx: ServerContext): Verifier {
  const keys = ctx.keys.keySource();
  const { issuer } = oauthSettings(ctx);
  const cached = verifiers.get(keys);
  if (cached && cached.issuer === issuer) return cached.verifier;
  const verifier = createVerifier({
    algorithms: OWN_ALGORITHMS,
    issuer,
    // Introspection and revocation answer for every audience; the caller applies its visibility rule.
    audience: null,
    keys,
    typ: 'at+jwt',
    requiredClaims: ['jti', 'client_id', 'sub', 'iat'],
    clock: ctx.clock,
    // Signature checks on libuv's thread pool: under concurrent introspection they run beside the event
    // loop instead of stalling it.
    threadPool: true,
  });
  verifiers.set(keys, { issuer, verifier });
  return verifier;
}

/** A compact JWS has exactly three segments; our opaque and refresh tokens have none. */
export function looksLikeJWT(token: string): boolean {
  const d1 = token.indexOf('.');
  const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
  return d2 >= 0 && token.indexOf('.', d2 + 1) === -1;
}

/**
 * Verify a JWT access token this server issued (signature by a published, non-revoked key, `typ: at+jwt`,
 * our `iss`, not expired) and check the deny-list. Undefined for anything else: the caller treats such a
 * token as inactive or unknown and says nothing about why.
 *
 * @example
 * const claims = await verifyOwnAccessToken(ctx, token);
 */
export async function verifyOwnAccessToken(
  ctx: ServerContext,
  token: string,
): Promise<AccessTokenClaims | undefined> {
  let payload: JWTPayload;
  try {
    payload = (await ownVerifier(ctx).verify(token)).payload;
  } catch (err) {
    if (!(err instanceof TesseraError)) ctx.log.warn({ err }, 'unexpected error verifying an access token');
    return undefined;
  }
  if (
    typeof payload.jti !== 'string' ||
    typeof payload.client_id !== 'string' ||
    typeof payload.exp !== 'number'
  ) {
    return undefined;
  }
  if (await ctx.store.isRevoked('jti', payload.jti, ctx.clock())) return undefined;
  return payload as AccessTokenClaims;
}

/** A live opaque access token by its value, or undefined when unknown or expired. */
export async function findOpaqueToken(
  ctx: ServerContext,
  token: string,
): Promise<OpaqueTokenRecord | undefined> {
  const record = await ctx.store.getOpaqueToken(hashToken(token));
  if (!record || record.expiresAt <= ctx.clock()) return undefined;
  return record;
}

export interface RefreshLookup {
  token: RefreshTokenRecord;
  family: RefreshFamilyRecord;
  /** Unused, within its idle lifetime, and its family neither revoked nor past its absolute lifetime. */
  active: boolean;
}

/** A refresh token by its value with its family, or undefined when unknown. */
export async function findRefreshToken(
  ctx: ServerContext,
  token: string,
): Promise<RefreshLookup | undefined> {
  const record = await ctx.store.getRefreshToken(hashToken(token));
  const family = record && (await ctx.store.getFamily(record.familyId));
  if (!record || !family) return undefined;
  const now = ctx.clock();
  const active =
    record.usedAt === null &&
    record.expiresAt > now &&
    family.revokedAt === null &&
    family.absoluteExpiresAt > now;
  return { token: record, family, active };
}
