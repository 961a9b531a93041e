/**
 * The seven ways the resource API validates a request's credential. Each one is built from real parts:
 * the SDK's verifier, remote JWKS, verified-token cache, revocation list and introspection client against
 * the running issuer; ioredis against Redis; better-sqlite3 or pg for SQL sessions. A strategy whose store
 * is unreachable is not built: the caller reports it as skipped.
 */
import {
  createIntrospectionClient,
  createRemoteJWKSet,
  createRevocationList,
  createVerifier,
  TesseraError,
  type IntrospectionClient,
  type RemoteJWKSet,
  type RevocationList,
  type Verifier,
} from '@tessera/jwt';
import { createCountingFetcher } from './fetcher.js';
import { SIM_AUDIENCE, type SimIssuer } from './issuer.js';
import {
  openRedisSessions,
  openSQLSessions,
  type RedisSessions,
  type SessionRecord,
  type SessionStore,
  type SQLSessions,
} from './sessions.js';

export type { SessionRecord, SessionStore } from './sessions.js';

export const STRATEGY_NAMES = [
  'jwt',
  'jwt-cached',
  'jwt-denylist',
  'introspect',
  'introspect-cached',
  'session-redis',
  'session-sql',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Which credential a strategy is sent: a JWT, an opaque access token, or a session id. */
export type CredentialKind = 'jwt' | 'opaque' | 'session';

export const KIND_OF: Record<StrategyName, CredentialKind> = {
  jwt: 'jwt',
  'jwt-cached': 'jwt',
  'jwt-denylist': 'jwt',
  introspect: 'opaque',
  'introspect-cached': 'opaque',
  'session-redis': 'session',
  'session-sql': 'session',
};

/** The verdict of one validation. `code` names the failure; `unavailable` means "could not decide". */
export interface Outcome {
  ok: boolean;
  cacheHit: boolean;
  code?: string;
  unavailable?: boolean;
}

export interface Strategy {
  name: StrategyName;
  kind: CredentialKind;
  /** The backing store, for the report: `redis`, `sqlite`, `postgresql` or `issuer`. */
  store: string;
  /** Whether a cache exists, so cache_hit_ratio means something (null otherwise). */
  cached: boolean;
  validate(credential: string): Promise<Outcome>;
  /** Calls made to the issuer so far (JWKS, introspection, revocation feed). */
  issuerCalls(): number;
  /** Strategy-specific figures for the report (JWKS and feed stats, cache settings). */
  details(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface StrategyContext {
  issuer: SimIssuer;
  /** JWKS freshness the verifiers accept from the issuer's max-age (seconds, lower bound). */
  jwksMinCacheAge: number;
  /** Revocation feed poll interval, seconds. */
  pollInterval: number;
  /** Positive answer lifetime of the introspection cache, seconds. */
  introspectionCacheAge: number;
  redisUrl: string;
  /** PostgreSQL URL for session-sql, or undefined for SQLite. */
  postgresUrl: string | undefined;
}

const OK_MISS: Outcome = { ok: true, cacheHit: false };
const OK_HIT: Outcome = { ok: true, cacheHit: true };

function failure(err: unknown): Outcome {
  const code = err instanceof TesseraError ? err.code : 'ERR_UNEXPECTED';
  const unavailable =
    code === 'ERR_INTROSPECTION_FAILED' ||
    code === 'ERR_JWKS_FETCH_FAILED' ||
    code === 'ERR_JWKS_STALE' ||
    code === 'ERR_REVOCATION_STALE' ||
    code === 'ERR_UNEXPECTED';
  return { ok: false, cacheHit: false, code, unavailable };
}

const rejected = (code: string): Outcome => ({ ok: false, cacheHit: false, code });

async function buildJWT(name: StrategyName, ctx: StrategyContext): Promise<Strategy> {
  const fetcher = createCountingFetcher();
  const jwks: RemoteJWKSet = createRemoteJWKSet(ctx.issuer.jwksUri, {
    algorithms: ['ES256'],
    fetcher,
    minCacheAge: ctx.jwksMinCacheAge,
    cooldown: Math.min(30, ctx.jwksMinCacheAge),
  });
  let revocations: RevocationList | undefined;
  let verifier: Verifier | undefined;
  try {
    await jwks.refresh();
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
      issuer: ctx.issuer.url,
      audience: SIM_AUDIENCE,
      algorithms: ['ES256'],
      typ: 'at+jwt',
      keys: jwks,
      ...(name === 'jwt-cached' && {
        cache: { maxEntries: 100_000 },
        // A hit is reported synchronously inside verify(), which is how a request learns it was one.
        events: { onEvent: (e) => void (e.type === 'verify' && e.cached === true && (hit = true)) },
      }),
      ...(revocations && { revocations }),
    });
    const v = verifier;
    return {
      name,
      kind: 'jwt',
      store: 'issuer',
      cached: name === 'jwt-cached',
      validate(token) {
        hit = false;
        const pending = v.verify(token);
        const wasHit = hit;
        return pending.then(
          () => (wasHit ? OK_HIT : OK_MISS),
          (err: unknown) => failure(err),
        );
      },
      issuerCalls: () => fetcher.calls,
      details() {
        const s = jwks.stats();
        return {
          jwks: { fetches: s.fetches, failures: s.failures, stale: s.stale, age_ms: s.age_ms, keys: s.keys },
          ...(revocations && {
            revocation_feed: { ...revocations.stats(), poll_interval_s: ctx.pollInterval },
          }),
        };
      },
      async close() {
        v.close();
        revocations?.close();
        jwks.close();
        fetcher.close();
      },
    };
  } catch (err) {
    verifier?.close();
    revocations?.close();
    jwks.close();
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
    validate(token) {
      const before = cached ? client.stats().cache_hits : 0;
      const pending = client.introspect(token);
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
    validate(id) {
      return redis.get(prefix + id).then(
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
    validate(id) {
      return store.get(id).then(checkSession, () => ({
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
      } else if (KIND_OF[name] === 'jwt') strategies.push(await buildJWT(name, ctx));
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
