/**
 * Replay stores for DPoP proof `jti`s (RFC 9449 §11.1): a proof is accepted once within its `iat` window. Each
 * store records a key only if it is new, in one atomic step (never a read then a write: two copies of a proof
 * racing would both pass).
 */
import { DpopReplayCheckFailed, InvalidOptions } from './errors.js';

/**
 * Records proof identifiers. `claim(key, expiresAt)` is true when `key` was not seen (and is now recorded until
 * `expiresAt`, ms since the epoch), false when it was: a replay. May answer synchronously or with a promise.
 */
export interface DpopReplayStore {
  claim(key: string, expiresAt: number): boolean | Promise<boolean>;
}

/** Options for createMemoryDpopReplayStore. */
export interface MemoryDpopReplayStoreOptions {
  /** Most identifiers held. Default 100 000 (about 800 proofs/s with the default 60 s window). */
  max?: number;
  /** Milliseconds since the epoch. Default Date.now. */
  clock?: () => number;
}

/** An in-process replay store; `size` and `evicted` are for stats and tests. */
export interface MemoryDpopReplayStore extends DpopReplayStore {
  readonly size: number;
  /** Identifiers dropped before they expired because the store was full. */
  readonly evicted: number;
}

/**
 * The default replay store: one process, bounded, forgetting each identifier when its proof could no longer
 * pass the `iat` check anyway. When full of live identifiers it drops the oldest (and counts them in
 * `evicted`): a bounded memory beats an unbounded one an attacker holding a valid token could grow. Several
 * instances of a service need a shared store (createRedisDpopReplayStore).
 *
 * @example createVerifier({ …, dpop: 'allowed', dpopOptions: { replayStore: createMemoryDpopReplayStore({ max: 50_000 }) } })
 */
export function createMemoryDpopReplayStore(
  options: MemoryDpopReplayStoreOptions = {},
): MemoryDpopReplayStore {
  const max = options.max ?? 100_000;
  if (!Number.isInteger(max) || max < 1) throw new InvalidOptions('"max" must be a positive integer');
  const clock = options.clock ?? Date.now;
  // Insertion order is close to expiry order (every entry lives one window past its iat), so expired
  // entries gather at the front and are dropped from there.
  const seen = new Map<string, number>();
  let evicted = 0;
  let calls = 0;

  function dropExpired(now: number, limit: number): void {
    for (const [key, expiresAt] of seen) {
      if (limit-- <= 0 || expiresAt > now) return;
      seen.delete(key);
    }
  }

  return {
    claim(key, expiresAt) {
      const now = clock();
      const known = seen.get(key);
      if (known !== undefined && known > now) return false;
      if (known !== undefined) seen.delete(key);
      // A little cleaning every 16th call keeps the map near its live size without a timer.
      if ((++calls & 15) === 0) dropExpired(now, 32);
      if (seen.size >= max) {
        dropExpired(now, seen.size);
        // Still full of live entries: drop the oldest 1 % at once, so a flood costs O(1) per proof.
        if (seen.size >= max) {
          let n = Math.max(1, Math.floor(max / 100));
          for (const k of seen.keys()) {
            if (n-- <= 0) break;
            seen.delete(k);
            evicted++;
          }
        }
      }
      seen.set(key, expiresAt);
      return true;
    },
    get size() {
      return seen.size;
    },
    get evicted() {
      return evicted;
    },
  };
}

/**
 * The part of a Redis client the store uses: ioredis's `set(key, value, 'PX', ms, 'NX')`, resolving to 'OK'
 * when the key was set and null when it existed. (The SDK has no Redis dependency: pass your client.)
 */
export interface DpopRedisClient {
  set(key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<unknown>;
}

/** Options for createRedisDpopReplayStore. */
export interface RedisDpopReplayStoreOptions {
  /** An ioredis client, or anything with its `set(key, value, 'PX', ms, 'NX')`. */
  client: DpopRedisClient;
  /** Key prefix. Default `tessera:dpop:jti:`. */
  prefix?: string;
  /** Milliseconds since the epoch. Default Date.now. */
  clock?: () => number;
}

/**
 * A replay store shared by every instance of a service: `SET key 1 PX ttl NX`, one atomic command, so two
 * copies of a proof reaching two instances at once cannot both pass. A Redis failure rejects with
 * DpopReplayCheckFailed (the middleware answers 503): a proof whose freshness is unknown is not accepted.
 *
 * @example
 * import Redis from 'ioredis';
 * const replayStore = createRedisDpopReplayStore({ client: new Redis(process.env.REDIS_URL) });
 */
export function createRedisDpopReplayStore(options: RedisDpopReplayStoreOptions): DpopReplayStore {
  const { client } = options;
  if (typeof client?.set !== 'function')
    throw new InvalidOptions('"client" must be a Redis client with set(key, value, "PX", ms, "NX")');
  const prefix = options.prefix ?? 'tessera:dpop:jti:';
  const clock = options.clock ?? Date.now;
  return {
    claim(key, expiresAt) {
      const ttl = Math.max(1, Math.ceil(expiresAt - clock()));
      return client.set(prefix + key, '1', 'PX', ttl, 'NX').then(
        (reply) => reply === 'OK',
        (err: unknown) => {
          throw new DpopReplayCheckFailed(undefined, { cause: err });
        },
      );
    },
  };
}
