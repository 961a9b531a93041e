/**
 * `jwt-exchange`: the API validates the user's JWT like `jwt`, then calls a downstream service on the
 * user's behalf with a token obtained by RFC 8693 token exchange at the issuer (audience: the downstream
 * service; `act`: the API's client), cached per user and audience until shortly before it expires.
 *
 * What `token_validation_ms` covers here: the user's JWT verification plus obtaining the exchanged token
 * (a map lookup on a cache hit, the exchange call to the issuer on a miss): everything the API does before
 * it may act for the user. The downstream call is outside it (the API would make that call anyway; its
 * round trip and the downstream's own validation are reported apart), as are parsing and answering.
 */
import { createVerifier, type RemoteJWKSet, type Verifier } from '@tessera/jwt';
import { createExchangeClient, ExchangeFailure } from './exchange-client.js';
import { createExchangedTokenCache } from './exchanged-tokens.js';
import { createCountingFetcher } from './fetcher.js';
import { SIM_AUDIENCE, SIM_DOWNSTREAM_AUDIENCE } from './issuer.js';
import { DOWNSTREAM_PATH, startDownstream, type DownstreamService } from './downstream.js';
import { downstreamCaller } from './downstream-call.js';
import { percentiles, SampleList } from './metrics.js';
import { accessTokenChecks, jwksDetails, openRemoteJWKS } from './sim-verifier.js';
import {
  failure,
  rejected,
  type ExchangePhaseFigures,
  type Outcome,
  type Strategy,
  type StrategyContext,
} from './strategy-types.js';

/** Seconds before its expiry an exchanged token is no longer used (clock skew, time in flight). */
export const EXCHANGE_REFRESH_MARGIN_S = 30;

/** The jwt-exchange strategy, with what a test or the report needs to look at behind it. */
export interface ExchangeStrategy extends Strategy {
  downstream: DownstreamService;
  exchangeFigures(): ExchangePhaseFigures;
}

/**
 * Build the jwt-exchange strategy: the API's verifier, the exchange client and its cache, and the
 * downstream service (started here, closed with the strategy).
 *
 * @example
 * const s = await buildExchange(ctx);
 * const outcome = await s.validate(request); // user JWT checked, exchanged token in hand
 * await outcome.next?.(); // the downstream call
 */
export async function buildExchange(ctx: StrategyContext): Promise<ExchangeStrategy> {
  // One fetcher for everything the API asks the issuer (its JWKS, the exchanges), one for the downstream
  // service's JWKS: both are issuer calls of this strategy.
  const fetcher = createCountingFetcher();
  const downstreamFetcher = createCountingFetcher(4);
  const api = ctx.issuer.api;
  let jwks: RemoteJWKSet | undefined;
  let verifier: Verifier | undefined;
  let downstream: DownstreamService | undefined;
  try {
    jwks = await openRemoteJWKS(ctx, fetcher);
    verifier = createVerifier({
      ...accessTokenChecks(ctx, jwks, SIM_AUDIENCE),
    });
    downstream = await startDownstream(ctx, downstreamFetcher, api.id);
  } catch (err) {
    verifier?.close();
    jwks?.close();
    fetcher.close();
    downstreamFetcher.close();
    throw err;
  }
  const v = verifier;
  const keys = jwks;
  const service = downstream;
  const client = createExchangeClient({
    tokenEndpoint: ctx.issuer.tokenEndpoint,
    clientId: api.id,
    clientSecret: api.secret,
    fetcher,
  });
  let exchangeSamples = new SampleList();
  let exchangeCalls = 0;
  let exchangeFailures = 0;
  let cacheHits = 0;
  const cache = createExchangedTokenCache({
    refreshMargin: EXCHANGE_REFRESH_MARGIN_S,
    maxEntries: 100_000,
    async exchange(subjectToken, audience) {
      exchangeCalls++;
      const t0 = performance.now();
      try {
        return await client.exchange(subjectToken, audience);
      } catch (err) {
        exchangeFailures++;
        throw err;
      } finally {
        exchangeSamples.push(performance.now() - t0);
      }
    },
  });
  const call = downstreamCaller(`${service.url}${DOWNSTREAM_PATH}`);

  const forward = (token: string) => () => call.get(token);
  const exchangeFailed = (err: unknown): Outcome =>
    err instanceof ExchangeFailure ? rejected(err.code) : failure(err);

  return {
    name: 'jwt-exchange',
    kind: 'jwt',
    store: 'issuer',
    // The cache of exchanged tokens: cache_hit_ratio is the share of requests served without an exchange.
    cached: true,
    downstream: service,
    validate(req) {
      return v.verify(req.credential).then(
        ({ payload }) => {
          const sub = typeof payload.sub === 'string' ? payload.sub : '';
          if (sub === '') return rejected('ERR_JWT_CLAIM_INVALID');
          const cached = cache.lookup(sub, SIM_DOWNSTREAM_AUDIENCE);
          if (cached !== undefined) {
            cacheHits++;
            return { ok: true, cacheHit: true, next: forward(cached) };
          }
          return cache
            .obtain(sub, SIM_DOWNSTREAM_AUDIENCE, req.credential)
            .then((token): Outcome => ({ ok: true, cacheHit: false, next: forward(token) }), exchangeFailed);
        },
        (err: unknown) => failure(err),
      );
    },
    issuerCalls: () => fetcher.calls + downstreamFetcher.calls,
    beginPhase() {
      exchangeSamples = new SampleList();
      exchangeCalls = 0;
      exchangeFailures = 0;
      cacheHits = 0;
      call.reset();
      service.reset();
    },
    exchangeFigures: () => ({
      exchange_calls: exchangeCalls,
      exchange_failures: exchangeFailures,
      cache_hits: cacheHits,
      exchange_ms: percentiles(exchangeSamples.view()),
      downstream_calls: call.calls,
      downstream_refused: call.refused,
      downstream_call_ms: call.latency(),
      downstream_validation_ms: service.validation(),
      refresh_margin_s: EXCHANGE_REFRESH_MARGIN_S,
    }),
    details: () => ({
      jwks: jwksDetails(keys),
      exchanged_token_cache: { entries: cache.size, refresh_margin_s: EXCHANGE_REFRESH_MARGIN_S },
      downstream: service.details(),
    }),
    async close() {
      call.close();
      await service.close();
      cache.clear();
      v.close();
      keys.close();
      fetcher.close();
      downstreamFetcher.close();
    },
  };
}
