import { Redis, type RedisOptions } from 'ioredis';
import type { EphemeralState, RateLimitResult } from './ephemeral.js';
import { StoreUnavailableError } from './types.js';

/**
 * Failure direction: when Redis is down every call here rejects promptly (no offline queue, 1 s command
 * timeout) with a StoreUnavailableError, and the caller chooses. The server fails OPEN for rate limits
 * (`hit`: a Redis outage must not take the token endpoint down with it) and CLOSED for `consumeOnce` (a
 * replayed client assertion must never pass just because Redis could not be asked).
 */

export interface RedisEphemeralOptions {
  url: string;
  /** Prepended to every key so several deployments or tests can share one Redis (default `tessera:`). */
  prefix?: string;
}

/**
 * Connects to Redis and resolves once it is ready. Commands fail fast while disconnected instead of queueing
 * (a request must not hang on a dead Redis); the client keeps reconnecting in the background, and a
 * subscriber re-subscribes on its own after a reconnect. Pass `overrides` for other needs.
 *
 * @example
 * const sub = await openRedisClient('redis://127.0.0.1:6379');
 * await sub.subscribe('tessera:revocations');
 */
export async function openRedisClient(url: string, overrides: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    ...overrides,
  });
  // Without a listener ioredis prints every reconnect failure; callers that care attach their own.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new StoreUnavailableError(`cannot connect to Redis: ${(err as Error).message}`, { cause: err });
  }
  return client;
}

// One round trip, atomic in Redis: count the hit and start the window's expiry only if none is set (NX), so
// the window is fixed (later hits do not extend it) and a crash between INCR and PEXPIRE cannot leave a
// counter that never expires (which would lock the key out for good).
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return {count, redis.call('PTTL', KEYS[1])}
`;

type HitCommand = { tesseraHit(key: string, windowMs: number): Promise<[number, number]> };

/**
 * Rate-limit windows and single-use ids shared by every instance through Redis.
 *
 * @example
 * const ephemeral = await openRedisEphemeral({ url: 'redis://127.0.0.1:6379' });
 * if (!(await ephemeral.consumeOnce(`jti:${jti}`, 300_000))) throw replayError();
 */
export async function openRedisEphemeral(options: RedisEphemeralOptions): Promise<EphemeralState> {
  const prefix = options.prefix ?? 'tessera:';
  const client = await openRedisClient(options.url);
  // defineCommand sends EVALSHA and falls back to EVAL once, so the script travels only on first use.
  client.defineCommand('tesseraHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
  const redis = client as Redis & HitCommand;

  const unavailable = (err: unknown): StoreUnavailableError =>
    new StoreUnavailableError(`Redis unavailable: ${(err as Error).message}`, { cause: err });

  return {
    kind: 'redis',
    async hit(key, limit, windowMs): Promise<RateLimitResult> {
      let reply: [number, number];
      try {
        reply = await redis.tesseraHit(`${prefix}rl:${key}`, Math.max(1, Math.ceil(windowMs)));
      } catch (err) {
        throw unavailable(err);
      }
      const [count, pttl] = reply.map(Number) as [number, number];
      return { allowed: count <= limit, remaining: Math.max(0, limit - count), resetMs: Math.max(0, pttl) };
    },
    async peek(key) {
      let reply: [Error | null, unknown][] | null;
      try {
        reply = await redis.multi().get(`${prefix}rl:${key}`).pttl(`${prefix}rl:${key}`).exec();
      } catch (err) {
        throw unavailable(err);
      }
      const [get, pttl] = reply ?? [];
      if (get?.[0] || pttl?.[0]) throw unavailable(get?.[0] ?? pttl?.[0]);
      const count = Number(get?.[1] ?? 0);
      const resetMs = Number(pttl?.[1] ?? -2);
      return count > 0 && resetMs > 0 ? { count, resetMs } : { count: 0, resetMs: 0 };
    },
    async reset(key) {
      try {
        await redis.del(`${prefix}rl:${key}`);
      } catch (err) {
        throw unavailable(err);
      }
    },
    async consumeOnce(id, ttlMs) {
      try {
        // SET NX is the check and the write in one command: two instances cannot both get OK.
        const reply = await redis.set(`${prefix}once:${id}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
        return reply === 'OK';
      } catch (err) {
        throw unavailable(err);
      }
    },
    async close() {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
