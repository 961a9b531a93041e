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
 * signature can never be answered from the cache. A hit costs a Map lookup, a re-insert for LRU order and
 * three checks (lifetime, key still trusted, revocation).
 *
 * @example
 * const cache = createTokenCache({ maxEntries: 10_000 }, (p, h, k) => revocations.check(p, h, k));
 */
export function createTokenCache(options: TokenCacheOptions, revocation?: RevocationCheck): TokenCache {
  const max = options?.maxEntries;
  if (!Number.isInteger(max) || max <= 0) throw new InvalidOptions('"cache.maxEntries" must be a positive integer');
  const map = new Map<string, Entry>();
  let hits = 0;
  let misses = 0;

  return {
    get(token: string, now: number): VerifyResult | undefined {
      const entry = map.get(token);
      if (entry === undefined) {
        misses++;
        return undefined;
      }
      map.delete(token);
      const { result } = entry;
      if (now >= entry.until || !entry.source.isTrusted(result.key)) {
        misses++;
        return undefined;
      }
      if (revocation !== undefined) revocation(result.payload, result.header, result.key);
      map.set(token, entry);
      hits++;
      return result;
    },
    set(token: string, result: VerifyResult, until: number, source: KeySource): void {
      if (map.size >= max && !map.has(token)) {
        // Map iterates in insertion order: the first key is the least recently used.
        const oldest = map.keys().next();
        if (!oldest.done) map.delete(oldest.value);
      }
      map.set(token, { result, until, source });
    },
    evictKey(key: TesseraKey): number {
      let n = 0;
      for (const [token, entry] of map) {
        if (entry.result.key === key) {
          map.delete(token);
          n++;
        }
      }
      return n;
    },
    clear(): void {
      map.clear();
    },
    stats(): CacheStats {
      const total = hits + misses;
      return { size: map.size, hits, misses, cache_hit_ratio: total === 0 ? 0 : hits / total };
    },
    get size() {
      return map.size;
    },
  };
}
