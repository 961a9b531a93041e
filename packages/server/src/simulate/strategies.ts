/**
 * The nine ways the resource API validates a request's credential. Each one is built from real parts:
 * the SDK's verifier, remote JWKS, verified-token cache, revocation list and introspection client against
 * the running issuer; its request-level DPoP check (strategy-dpop.ts); RFC 8693 token exchange and a
 * downstream service (strategy-exchange.ts); ioredis against Redis; better-sqlite3 or pg for SQL sessions.
 * A strategy whose store is unreachable is not built: the caller reports it as skipped.
 */
import {
  createIntrospectionClient,
  createRevocationList,
  createVerifier,
  type IntrospectionClient,
  type RevocationList,
  type Verifier,
} from '@tessera/jwt';
import { createCountingFetcher } from './fetcher.js';
import { SIM_AUDIENCE } from './issuer.js';
import { accessTokenChecks, jwksDetails, openRemoteJWKS } from './sim-verifier.js';
import { buildDpop } from './strategy-dpop.js';
import { buildExchange } from './strategy-exchange.js';
import {
  failure,
  KIND_OF,
  OK_HIT,
  OK_MISS,
  rejected,
  type Outcome,
  type Strategy,
  type StrategyContext,
  type StrategyName,
} from './strategy-types.js';
import {
  openRedisSessions,
  openSQLSessions,
  type RedisSessions,
  type SessionRecord,
  type SessionStore,
  type SQLSessions,
} from './sessions.js';

export type { SessionRecord, SessionStore } from './sessions.js';
export { KIND_OF, STRATEGY_NAMES } from './strategy-types.js';
export type {
  CredentialKind,
  ExchangePhaseFigures,
  Outcome,
  SimRequest,
  Strategy,
  StrategyContext,
  StrategyName,
} from './strategy-types.js';

async function buildJWT(name: StrategyName, ctx: StrategyContext): Promise<Strategy> {
  const fetcher = createCountingFetcher();
  let jwks;
  let revocations: RevocationList | undefined;
  let verifier: Verifier | undefined;
  try {
    jwks = await openRemoteJWKS(ctx, fetcher);
    if (name === 'jwt-denylist') {
      revocations = createRevocationList({
        feedUrl: ctx.issuer.feedUrl,
        clientId: ctx.issuer.api.id,
        clientSecret: ctx.issuer.api.secret,
        // Fail-open: when the feed is unreachable (the outage) tokens are still accepted and counted.
        policy: 'fail-open',
        pollInterval: ctx.pollInterval,
        fetcher,
      });
      await revocations.ready();
    }
    let hit = false;
    verifier = createVerifier({
      ...accessTokenChecks(ctx, jwks, SIM_AUDIENCE),
      ...(name === 'jwt-cached' && {
        cache: { maxEntries: 100_000 },
        // A hit is reported synchronously inside verify(), which is how a request learns it was one.
        events: { onEvent: (e) => void (e.type === 'verify' && e.cached === true && (hit = true)) },
      }),
      ...(revocations && { revocations }),
    });
    const v = verifier;
    const keys = jwks;
    return {
      name,
      kind: 'jwt',
      store: 'issuer',
      cached: name === 'jwt-cached',
      validate(req) {
        hit = false;
        const pending = v.verify(req.credential);
        const wasHit = hit;
        return pending.then(
          () => (wasHit ? OK_HIT : OK_MISS),
          (err: unknown) => failure(err),
        );
      },
      issuerCalls: () => fetcher.calls,
      details() {
        return {
          jwks: jwksDetails(keys),
          ...(revocations && {
            revocation_feed: { ...revocations.stats(), poll_interval_s: ctx.pollInterval },
          }),
        };
      },
      async close() {
        v.close();
        revocations?.close();
        keys.close();
        fetcher.close();
      },
    };
  } catch (err) {
    verifier?.close();
    revocations?.close();
    jwks?.close();
    fetcher.close();
    throw err;
  }
}

function buildIntrospect(name: StrategyName, ctx: StrategyContext): Strategy {
  const fetcher = createCountingFetcher(64);
  const cached = name === 'introspect-cached';
  const client: IntrospectionClient = createIntrospectionClient({
    endpoint: ctx.issuer.introspectionEndpoint,
    clientId: ctx.issuer.api.id,
    clientSecret: ctx.issuer.api.secret,
    fetcher,
    // The simulation measures the introspection path itself: the SDK's per-second call budget (a guard
    // against floods of garbage tokens in production) would be what it measured instead.
    maxCallsPerSecond: Infinity,
    // Uncached: no answer is ever reused (only concurrent requests for one token share a call).
    ...(cached
      ? { maxCacheAge: ctx.introspectionCacheAge, negativeCacheAge: ctx.introspectionCacheAge }
      : { maxEntries: 0 }),
  });
  const issuer = ctx.issuer.url;
  return {
    name,
    kind: 'opaque',
    store: 'issuer',
    cached,
    validate(req) {
      const before = cached ? client.stats().cache_hits : 0;
      const pending = client.introspect(req.credential);
      const wasHit = cached && client.stats().cache_hits !== before;
      return pending.then(
        (answer) => {
          // The checks a verifier applies to an introspection answer: the issuer and our audience.
          if (answer.iss !== undefined && answer.iss !== issuer) return rejected('ERR_JWT_CLAIM_INVALID');
          const aud = typeof answer.aud === 'string' ? [answer.aud] : (answer.aud ?? []);
          if (!aud.includes(SIM_AUDIENCE)) return rejected('ERR_JWT_CLAIM_INVALID');
          return wasHit ? OK_HIT : OK_MISS;
        },
        (err: unknown) => failure(err),
      );
    },
    issuerCalls: () => fetcher.calls,
    details: () => ({
      introspection: client.stats(),
      ...(cached && { cache_age_s: ctx.introspectionCacheAge }),
    }),
    async close() {
      client.clear();
      fetcher.close();
    },
  };
}

function checkSession(raw: SessionRecord | undefined): Outcome {
  if (raw === undefined) return rejected('ERR_SESSION_UNKNOWN');
  if (raw.exp * 1000 <= Date.now()) return rejected('ERR_SESSION_EXPIRED');
  return OK_MISS;
}

function buildSessionRedis(store: RedisSessions): Strategy {
  const { redis, prefix } = store;
  return {
    name: 'session-redis',
    kind: 'session',
    store: 'redis',
    cached: false,
    validate(req) {
      return redis.get(prefix + req.credential).then(
        (text) => checkSession(text === null ? undefined : (JSON.parse(text) as SessionRecord)),
        () => ({ ok: false, cacheHit: false, code: 'ERR_STORE_UNAVAILABLE', unavailable: true }),
      );
    },
    issuerCalls: () => 0,
    details: () => ({}),
    close: () => store.close(),
  };
}

function buildSessionSQL(store: SQLSessions): Strategy {
  return {
    name: 'session-sql',
    kind: 'session',
    store: store.engine,
    cached: false,
    validate(req) {
      return store.get(req.credential).then(checkSession, () => ({
        ok: false,
        cacheHit: false,
        code: 'ERR_STORE_UNAVAILABLE',
        unavailable: true,
      }));
    },
    issuerCalls: () => 0,
    details: () => ({ engine: store.engine }),
    close: () => store.close(),
  };
}

/** A strategy that could not be built, and why. */
export interface SkippedStrategy {
  name: StrategyName;
  reason: string;
}

/** Session stores opened for the run (the scenarios write and delete sessions through them). */
export interface SessionStores {
  redis?: SessionStore;
  sql?: SessionStore;
}

/**
 * Build the requested strategies. Session stores are opened here; a store that cannot be reached turns
 * its strategy into a skipped one with the reason, never into a fake.
 */
export async function buildStrategies(
  names: readonly StrategyName[],
  ctx: StrategyContext,
): Promise<{ strategies: Strategy[]; skipped: SkippedStrategy[]; sessions: SessionStores }> {
  const strategies: Strategy[] = [];
  const skipped: SkippedStrategy[] = [];
  const sessions: SessionStores = {};
  try {
    for (const name of names) {
      if (name === 'session-redis') {
        try {
          const store = await openRedisSessions(ctx.redisUrl);
          sessions.redis = store;
          strategies.push(buildSessionRedis(store));
        } catch (err) {
          skipped.push({
            name,
            reason: `Redis not reachable at ${redact(ctx.redisUrl)}: ${(err as Error).message}`,
          });
        }
      } else if (name === 'session-sql') {
        try {
          const store = await openSQLSessions(ctx.postgresUrl);
          sessions.sql = store;
          strategies.push(buildSessionSQL(store));
        } catch (err) {
          skipped.push({
            name,
            reason: `PostgreSQL not usable at ${redact(ctx.postgresUrl ?? '')}: ${(err as Error).message}`,
          });
        }
      } else if (name === 'jwt-dpop') strategies.push(await buildDpop(ctx));
      else if (name === 'jwt-exchange') strategies.push(await buildExchange(ctx));
      else if (KIND_OF[name] === 'jwt') strategies.push(await buildJWT(name, ctx));
      else strategies.push(buildIntrospect(name, ctx));
    }
  } catch (err) {
    await Promise.allSettled(strategies.map((s) => s.close()));
    throw err;
  }
  return { strategies, skipped, sessions };
}

/** A URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
