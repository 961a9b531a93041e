/**
 * The remote key set every JWT strategy verifies against, set up the same way for each (the API's
 * verifiers and the downstream service's): ES256 only, the scenario's JWKS freshness, fetched once before
 * the load starts, through the strategy's counting fetcher.
 */
import { createRemoteJWKSet, type Fetcher, type RemoteJWKSet, type VerifierOptions } from '@tessera/jwt';
import type { StrategyContext } from './strategy-types.js';

/**
 * What every strategy's verifier checks in an access token of the simulated issuer: its `iss`, one
 * `audience`, ES256 against `jwks`, `typ: at+jwt` (RFC 9068). Strategies add their own options.
 *
 * @example
 * createVerifier({ ...accessTokenChecks(ctx, jwks, SIM_AUDIENCE), dpop: 'required' });
 */
export function accessTokenChecks(
  ctx: StrategyContext,
  jwks: RemoteJWKSet,
  audience: string,
): Pick<VerifierOptions, 'issuer' | 'audience' | 'algorithms' | 'typ' | 'keys'> {
  return { issuer: ctx.issuer.url, audience, algorithms: ['ES256'], typ: 'at+jwt', keys: jwks };
}

/**
 * Open the issuer's JWKS and fetch it once.
 *
 * @example
 * const jwks = await openRemoteJWKS(ctx, fetcher);
 * const verifier = createVerifier({ issuer, audience, algorithms: ['ES256'], keys: jwks });
 */
export async function openRemoteJWKS(ctx: StrategyContext, fetcher: Fetcher): Promise<RemoteJWKSet> {
  const jwks = createRemoteJWKSet(ctx.issuer.jwksUri, {
    algorithms: ['ES256'],
    fetcher,
    minCacheAge: ctx.jwksMinCacheAge,
    cooldown: Math.min(30, ctx.jwksMinCacheAge),
  });
  try {
    await jwks.refresh();
  } catch (err) {
    jwks.close();
    throw err;
  }
  return jwks;
}

/** The report's view of a key set. */
export function jwksDetails(jwks: RemoteJWKSet): Record<string, unknown> {
  const s = jwks.stats();
  return { fetches: s.fetches, failures: s.failures, stale: s.stale, age_ms: s.age_ms, keys: s.keys };
}
