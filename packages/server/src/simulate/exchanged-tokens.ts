/**
 * The API's cache of exchanged tokens, per user and audience: one exchange per user and downstream
 * service, reused until shortly before the token expires, so token exchange costs an issuer call per user
 * and token lifetime rather than per request. Concurrent misses for one key share one exchange. Bounded:
 * past `maxEntries` the oldest entry goes.
 */
import type { ExchangedToken } from './exchange-client.js';

export interface ExchangedTokenCacheOptions {
  /**
   * Seconds before `exp` an entry stops being used: a token about to expire would die in flight or in the
   * downstream's clock. Capped at half the token's lifetime, so a short-lived token is still reused.
   */
  refreshMargin: number;
  maxEntries: number;
  /** ms since the epoch. */
  clock?: () => number;
  exchange(subjectToken: string, audience: string): Promise<ExchangedToken>;
}

interface Entry {
  token: string;
  /** ms since the epoch from which the entry is no longer used. */
  useUntil: number;
}

export interface ExchangedTokenCache {
  /** The cached token for (sub, audience) while it is fresh enough, else undefined. Synchronous. */
  lookup(sub: string, audience: string): string | undefined;
  /** Exchange `subjectToken` for a token for `audience`, and cache it for `sub`; one call per key at a time. */
  obtain(sub: string, audience: string, subjectToken: string): Promise<string>;
  readonly size: number;
  clear(): void;
}

/**
 * Create the cache.
 *
 * @example
 * const cache = createExchangedTokenCache({ refreshMargin: 30, maxEntries: 100_000, exchange });
 * const token = cache.lookup(sub, aud) ?? (await cache.obtain(sub, aud, userToken));
 */
export function createExchangedTokenCache(options: ExchangedTokenCacheOptions): ExchangedTokenCache {
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<string>>();
  // The audience (ours, never containing a newline) comes first, so the first newline splits the key
  // unambiguously whatever the user's sub holds: no two (sub, audience) pairs share a key.
  const keyOf = (sub: string, audience: string) => `${audience}\n${sub}`;
  return {
    lookup(sub, audience) {
      const key = keyOf(sub, audience);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (clock() < entry.useUntil) return entry.token;
      entries.delete(key);
      return undefined;
    },
    obtain(sub, audience, subjectToken) {
      const key = keyOf(sub, audience);
      const pending = inFlight.get(key);
      if (pending !== undefined) return pending;
      const call = options.exchange(subjectToken, audience).then(
        ({ token, exp }) => {
          inFlight.delete(key);
          const now = clock();
          const lifetime = Math.max(0, exp * 1000 - now);
          const margin = Math.min(options.refreshMargin * 1000, lifetime / 2);
          if (entries.size >= options.maxEntries && !entries.has(key))
            entries.delete(entries.keys().next().value as string);
          entries.set(key, { token, useUntil: now + lifetime - margin });
          return token;
        },
        (err: unknown) => {
          inFlight.delete(key);
          throw err;
        },
      );
      inFlight.set(key, call);
      return call;
    },
    get size() {
      return entries.size;
    },
    clear() {
      entries.clear();
    },
  };
}
