import { InvalidOptions } from './errors.js';
import type { CacheStats } from './events.js';
import type { JWSHeader, JWTPayload, KeySource, TesseraKey, VerifyResult } from './types.js';

/** Options for the verified-token cache. */
export interface TokenCacheOptions {
  /** Most tokens held; the least recently used goes first. */
  maxEntries: number;
}

/** A revocation check the cache repeats on every hit (throws to refuse). */
export type RevocationCheck = (payload: JWTPayload, header: JWSHeader, key: TesseraKey) => void;

interface Entry {
  result: VerifyResult;
  /** The token is served until this instant (ms): exp (and iat + maxTokenAge) plus tolerance. */
  until: number;
  source: KeySource;
}

/** A bounded LRU of verified tokens. */
export interface TokenCache {
  /**
   * The stored result for exactly this token, if it is still within its lifetime and its key is still
   * trusted; a revoked token throws (and is evicted). Undefined on a miss.
   */
  get(token: string, now: number): VerifyResult | undefined;
  /** Whether exactly this token string is held (expired or not); no checks, no stats. */
  has(token: string): boolean;
  /** Store a verified result; `until` is the instant (ms) it stops being served. */
  set(token: string, result: VerifyResult, until: number, source: KeySource): void;
  /** Drop every token signed by `key` (a key removed or revoked). */
  evictKey(key: TesseraKey): number;
  clear(): void;
  stats(): CacheStats;
  readonly size: number;
}

/**
 * Create a verified-token cache. Entries are keyed by the whole token string, never a part of it: two
 * tokens that share a header and payload but differ in signature are different keys, so a forged
 * signature can never be answered from the cache. A hit costs a Map lookup and three checks (lifetime,
 * key still trusted, revocation).
 *
 * @example
 * const cache = createTokenCache({ maxEntries: 10_000 }, (p, h, k) => revocations.check(p, h, k));
 */
export function createTokenCache(options: TokenCacheOptions, revocation?: RevocationCheck): TokenCache {
  const max = options?.maxEntries;
  if (!Number.isInteger(max) || max <= 0)
    throw new InvalidOptions('"cache.maxEntries" must be a positive integer');
  // Two generations (the "quick-lru" scheme): a hit in the young map costs one Map lookup and no
  // reordering; a hit in the old map promotes the entry; when the young map is full it becomes the old one
  // and the previous old one is dropped. Recently used tokens survive, the least recently used go first,
  // and at most maxEntries tokens are held.
  const generation = Math.max(1, Math.ceil(max / 2));
  let young = new Map<string, Entry>();
  let old = new Map<string, Entry>();
  let hits = 0;
  let misses = 0;

  function insert(token: string, entry: Entry): void {
    if (young.size >= generation) {
      old = young;
      young = new Map();
    }
    young.set(token, entry);
  }

  function drop(token: string): void {
    young.delete(token);
    old.delete(token);
  }

  return {
    get(token: string, now: number): VerifyResult | undefined {
      let entry = young.get(token);
      let promote = false;
      if (entry === undefined) {
        entry = old.get(token);
        if (entry === undefined) {
          misses++;
          return undefined;
        }
        promote = true;
      }
      const { result } = entry;
      if (now >= entry.until || !entry.source.isTrusted(result.key)) {
        drop(token);
        misses++;
        return undefined;
      }
      if (revocation !== undefined) {
        try {
          revocation(result.payload, result.header, result.key);
        } catch (err) {
          drop(token);
          throw err;
        }
      }
      if (promote) {
        old.delete(token);
        insert(token, entry);
      }
      hits++;
      return result;
    },
    has(token: string): boolean {
      return young.has(token) || old.has(token);
    },
    set(token: string, result: VerifyResult, until: number, source: KeySource): void {
      old.delete(token);
      insert(token, { result, until, source });
    },
    evictKey(key: TesseraKey): number {
      let n = 0;
      for (const map of [young, old]) {
        for (const [token, entry] of map) {
          if (entry.result.key === key) {
            map.delete(token);
            n++;
          }
        }
      }
      return n;
    },
    clear(): void {
      young.clear();
      old.clear();
    },
    stats(): CacheStats {
      const total = hits + misses;
      return { size: young.size + old.size, hits, misses, cache_hit_ratio: total === 0 ? 0 : hits / total };
    },
    get size() {
      return young.size + old.size;
    },
  };
}
