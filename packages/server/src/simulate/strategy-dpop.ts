/**
 * `jwt-dpop`: sender-constrained access tokens (RFC 9449). Every request carries `Authorization: DPoP
 * <token>` and a fresh proof signed by the user's private key (made per request by the load generator); the
 * API checks both with the SDK's request-level verifier: the token as `jwt` does, then the proof's
 * signature under its embedded key, `htm`/`htu` against this request, `iat` within the window, `ath` (the
 * token's hash), `cnf.jkt` against the proof key's thumbprint, and the `jti` once (the SDK's in-memory
 * replay store). No verified-token cache: the row is `jwt` plus the proof, so the difference is the cost of
 * sender-constraining.
 */

/**
 * Proof identifiers held by the replay store. Each is kept for the `iat` window (60 s either way, plus a
 * second), so the SDK's default (100 000) would evict live ones above ~1 600 proofs/s, a rate this
 * simulation reaches; a service at that rate sizes its store the same way. Evictions are reported.
 */
const REPLAY_STORE_MAX = 500_000;
import { createMemoryDpopReplayStore, createVerifier, type RemoteJWKSet, type Verifier } from '@tessera/jwt';
import { createCountingFetcher } from './fetcher.js';
import { SIM_AUDIENCE } from './issuer.js';
import { accessTokenChecks, jwksDetails, openRemoteJWKS } from './sim-verifier.js';
import { failure, OK_MISS, type Strategy, type StrategyContext } from './strategy-types.js';

/**
 * Build the jwt-dpop strategy.
 *
 * @example
 * const s = await buildDpop(ctx);
 * await s.validate({ credential: token, method: 'GET', url: `${api}/jwt-dpop`, headers: req.headers });
 */
export async function buildDpop(ctx: StrategyContext): Promise<Strategy> {
  const fetcher = createCountingFetcher();
  let jwks: RemoteJWKSet | undefined;
  let verifier: Verifier | undefined;
  const replayStore = createMemoryDpopReplayStore({ max: REPLAY_STORE_MAX });
  try {
    jwks = await openRemoteJWKS(ctx, fetcher);
    verifier = createVerifier({
      ...accessTokenChecks(ctx, jwks, SIM_AUDIENCE),
      // RFC 9449 §7.1: a bound token must come with a proof; a bearer token (no cnf) is refused too, so
      // the row cannot pass with the check off.
      dpop: 'required',
      dpopOptions: { replayStore },
    });
    const v = verifier;
    const keys = jwks;
    return {
      name: 'jwt-dpop',
      kind: 'dpop',
      store: 'issuer',
      cached: false,
      validate(req) {
        return v
          .verifyRequest({ method: req.method, url: req.url, headers: req.headers })
          .then(() => OK_MISS, failure);
      },
      issuerCalls: () => fetcher.calls,
      details: () => ({
        jwks: jwksDetails(keys),
        dpop: 'required',
        replay_store: { max: REPLAY_STORE_MAX, size: replayStore.size, evicted: replayStore.evicted },
      }),
      async close() {
        v.close();
        keys.close();
        fetcher.close();
      },
    };
  } catch (err) {
    verifier?.close();
    jwks?.close();
    fetcher.close();
    throw err;
  }
}
