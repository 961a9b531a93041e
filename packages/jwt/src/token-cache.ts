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
  /** The whole token: a hit needs exact equality with it. */
  token: string;
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
  /**
   * get, except that a miss is not counted in the stats: the caller counts it with `missed()` once it
   * knows the token goes on to full verification (a malformed request then counts nothing).
   */
  lookup(token: string, now: number): VerifyResult | undefined;
  /** Count one miss (after `lookup`). */
  missed(): void;
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

// How many trailing characters pick a token's slot. For a JWS they are signature characters, which differ
// between any two tokens even when headers and payloads are alike.
const TAIL = 16;

/**
 * A token's slot: an FNV-1a hash of its length and last TAIL characters, kept within V8's small-integer
 * range so the Map hashes a number instead of the whole ~600-character string (a fresh string from each
 * request would be hashed in full on every lookup). Only an index: a hit still needs `entry.token === token`.
 * Exported for tests only (not from index.ts).
 */
export function slotOf(token: string): number {
  const end = token.length;
  let h = 0x811c9dc5 ^ end;
  for (let i = end > TAIL ? end - TAIL : 0; i < end; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  return h >>> 2;
}

/**
 * Create a verified-token cache. Entries are keyed by the whole token string, never a part of it: a hit
 * needs exact equality with the stored token, so two tokens that share a header and payload but differ in
 * signature are different entries and a forged signature can never be answered from the cache. (Entries
 * are found through a 30-bit hash of the token's tail; two held tokens with the same hash, a few percent
 * likely for some pair among 10,000 entries, share one slot: the later replaces the earlier, which costs
 * that token one more full verification, never a wrong answer.)
 * A hit costs a Map lookup, one string comparison and three checks (lifetime, key still trusted, revocation).
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
  let young = new Map<number, Entry>();
  let old = new Map<number, Entry>();
  let hits = 0;
  let misses = 0;

  function insert(slot: number, entry: Entry): void {
    if (young.size >= generation && !young.has(slot)) {
      old = young;
      young = new Map();
    }
    young.set(slot, entry);
  }

  function drop(slot: number, entry: Entry): void {
    if (young.get(slot) === entry) young.delete(slot);
    if (old.get(slot) === entry) old.delete(slot);
  }

  function lookup(token: string, now: number): VerifyResult | undefined {
    const slot = slotOf(token);
    let entry = young.get(slot);
    let promote = false;
    if (entry === undefined || entry.token !== token) {
      entry = old.get(slot);
      if (entry === undefined || entry.token !== token) return undefined;
      promote = true;
    }
    const { result } = entry;
    if (now >= entry.until || !entry.source.isTrusted(result.key)) {
      drop(slot, entry);
      return undefined;
    }
    if (revocation !== undefined) {
      try {
        revocation(result.payload, result.header, result.key);
      } catch (err) {
        drop(slot, entry);
        throw err;
      }
    }
    if (promote) {
      old.delete(slot);
      insert(slot, entry);
    }
    hits++;
    return result;
  }

  return {
    get(token: string, now: number): VerifyResult | undefined {
      const result = lookup(token, now);
      if (result === undefined) misses++;
      return result;
    },
    lookup,
    missed(): void {
      misses++;
    },
    has(token: string): boolean {
      const slot = slotOf(token);
      return young.get(slot)?.token === token || old.get(slot)?.token === token;
    },
    set(token: string, result: VerifyResult, until: number, source: KeySource): void {
      const slot = slotOf(token);
      if (old.get(slot)?.token === token) old.delete(slot);
      insert(slot, { token, result, until, source });
    },
    evictKey(key: TesseraKey): number {
      let n = 0;
      for (const map of [young, old]) {
        for (const [slot, entry] of map) {
          if (entry.result.key === key) {
            map.delete(slot);
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
