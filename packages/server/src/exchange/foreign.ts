import {
  createRemoteJWKSet,
  createVerifier,
  JWTClaimInvalid,
  normalizeTyp,
  TesseraError,
  type Alg,
  type JWSHeader,
  type JWTPayload,
  type RemoteJWKSet,
  type Verifier,
} from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import { invalidGrant, unavailable } from '../server/errors.js';
import type { ClientRecord, ExchangeTrustIssuer } from '../store/types.js';
import { ASSERTION_ALGORITHMS } from '../oauth/assertion.js';
import { oauthSettings } from '../oauth/settings.js';

/**
 * Asymmetric algorithms only (RFC 8725 §3.1): an HMAC key would be a secret shared with another issuer, and
 * a JWKS of public keys can never verify an HS256 forgery made with one of them (RS/ES→HS confusion). The
 * same list as for client assertions, whose keys are public too.
 */
const FOREIGN_ALGORITHMS: readonly Alg[] = ASSERTION_ALGORITHMS;

/**
 * Token types a subject JWT may declare: none, plain `JWT`, or an access token (RFC 9068). Other JWTs of the
 * same issuer (logout tokens, DPoP proofs, security events, ID tokens typed as such) are refused, so a JWT
 * minted for another purpose is never accepted as a subject (RFC 8725 §3.11 cross-JWT confusion).
 */
const SUBJECT_TYPS = new Set(['jwt', 'at+jwt']);

/**
 * Per server: remote key sets shared by every client trusting the same issuer at the same URL, and one
 * verifier per client and trusted issuer (the audience is the client's id). Bounded: client updates leave old
 * entries behind, and dropping the oldest only costs building it again.
 */
const MAX_ENTRIES = 256;
interface ForeignCache {
  keySets: Map<string, RemoteJWKSet>;
  verifiers: Map<string, Verifier>;
}
const caches = new WeakMap<ServerContext, ForeignCache>();

function remember<V>(map: Map<string, V>, id: string, value: V, drop?: (old: V) => void): V {
  if (map.size >= MAX_ENTRIES) {
    const [oldest, old] = map.entries().next().value!;
    map.delete(oldest);
    drop?.(old);
  }
  map.set(id, value);
  return value;
}

function checkSubjectTyp(_payload: JWTPayload, header: JWSHeader): void {
  if (header.typ !== undefined && !SUBJECT_TYPS.has(normalizeTyp(header.typ)))
    throw new JWTClaimInvalid('typ', 'is not a JWT or an access token');
}

function foreignVerifier(ctx: ServerContext, client: ClientRecord, trust: ExchangeTrustIssuer): Verifier {
  let cache = caches.get(ctx);
  if (cache === undefined) caches.set(ctx, (cache = { keySets: new Map(), verifiers: new Map() }));
  const { clockTolerance } = oauthSettings(ctx);
  const id = `${client.id}\n${trust.issuer}\n${trust.jwksUri}\n${clockTolerance}`;
  const found = cache.verifiers.get(id);
  if (found !== undefined) return found;
  const setId = `${trust.issuer}\n${trust.jwksUri}`;
  // 5 s timeout, 512 KiB cap, no redirects, 30 s cooldown for unknown kids (createRemoteJWKSet): a subject
  // token naming random kids cannot make the server hammer the issuer.
  const keys =
    cache.keySets.get(setId) ??
    remember(
      cache.keySets,
      setId,
      createRemoteJWKSet(trust.jwksUri, { algorithms: FOREIGN_ALGORITHMS, clock: ctx.clock }),
      (old) => {
        // Its background refresh stops, and so do the verifiers built on it.
        old.close();
        const live = cache.keySets;
        for (const key of cache.verifiers.keys())
          if (!live.has(key.slice(key.indexOf('\n') + 1, key.lastIndexOf('\n')))) cache.verifiers.delete(key);
      },
    );
  const verifier = createVerifier({
    algorithms: FOREIGN_ALGORITHMS,
    issuer: trust.issuer,
    // The token must name the exchanging client: a token for some other service of that issuer is not
    // the client's to exchange (cross-service replay, RFC 8725 §3.9).
    audience: client.id,
    keys,
    requiredClaims: ['sub', 'exp'],
    clockTolerance,
    clock: ctx.clock,
    check: checkSubjectTyp,
  });
  return remember(cache.verifiers, id, verifier);
}

/** JWKS trouble is the issuer's outage, not the client's mistake: 503, so the client retries. */
const ISSUER_UNREACHABLE = new Set(['ERR_JWKS_FETCH_FAILED', 'ERR_JWKS_STALE', 'ERR_JWKS_INVALID']);

/**
 * Verify a JWT of an issuer the client trusts (`--exchange-trust-issuer ISSUER=JWKS_URL`): signature by a
 * key of that issuer's JWKS with an asymmetric algorithm, `iss` exactly the trusted issuer, `aud` naming the
 * exchanging client's id, `exp` in the future, a non-empty `sub` that is not a registered client's id (a
 * foreign issuer must not mint tokens that read as one of our services, as for jwt-bearer, RFC 7523 §3).
 * Refusals are `invalid_grant` without details; an unreachable JWKS is `temporarily_unavailable`.
 *
 * @example
 * const payload = await verifyForeignToken(ctx, client, trusted, token);
 */
export async function verifyForeignToken(
  ctx: ServerContext,
  client: ClientRecord,
  trust: ExchangeTrustIssuer,
  token: string,
): Promise<JWTPayload & { sub: string; exp: number }> {
  let payload: JWTPayload;
  try {
    payload = (await foreignVerifier(ctx, client, trust).verify(token)).payload;
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err;
    if (ISSUER_UNREACHABLE.has(err.code)) {
      ctx.log.warn({ issuer: trust.issuer, code: err.code }, 'trusted issuer JWKS unavailable');
      throw unavailable('the subject token issuer cannot be reached');
    }
    ctx.log.info(
      { clientId: client.id, issuer: trust.issuer, code: err.code },
      'foreign subject token refused',
    );
    throw invalidGrant('the subject token was not accepted');
  }
  if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number')
    throw invalidGrant('the subject token was not accepted');
  if (await ctx.store.getClient(payload.sub))
    throw invalidGrant('the subject token was not accepted: its "sub" names a registered client');
  return payload as JWTPayload & { sub: string; exp: number };
}
