import type { EphemeralState, RateLimitResult } from './ephemeral.js';

export interface MemoryEphemeralOptions {
  /** Milliseconds since the epoch; injectable so tests can move time. */
  clock?: () => number;
  /** How often expired entries are swept (default 60 s). */
  sweepIntervalMs?: number;
}

/**
 * Rate-limit windows and single-use ids in this process only: right for one instance, wrong for several
 * (each would count and remember on its own), which is what `--redis` is for.
 *
 * @example
 * const ephemeral = createMemoryEphemeral();
 * const { allowed } = await ephemeral.hit(`ip:${ip}`, 100, 60_000);
 */
export function createMemoryEphemeral(options: MemoryEphemeralOptions = {}): EphemeralState {
  const clock = options.clock ?? Date.now;
  const windows = new Map<string, { count: number; resetAt: number }>();
  const seen = new Map<string, number>(); // id -> forget at

  // Expired entries are also dropped on access; the sweep bounds memory for keys never seen again.
  const sweep = setInterval(() => {
    const now = clock();
    for (const [key, w] of windows) if (w.resetAt <= now) windows.delete(key);
    for (const [id, until] of seen) if (until <= now) seen.delete(id);
  }, options.sweepIntervalMs ?? 60_000);
  sweep.unref();

  return {
    kind: 'memory',
    async hit(key, limit, windowMs): Promise<RateLimitResult> {
      const now = clock();
      let w = windows.get(key);
      if (!w || w.resetAt <= now) {
        w = { count: 0, resetAt: now + windowMs };
        windows.set(key, w);
      }
      w.count++;
      return { allowed: w.count <= limit, remaining: Math.max(0, limit - w.count), resetMs: w.resetAt - now };
    },
    async peek(key) {
      const now = clock();
      const w = windows.get(key);
      return !w || w.resetAt <= now ? { count: 0, resetMs: 0 } : { count: w.count, resetMs: w.resetAt - now };
    },
    async reset(key) {
      windows.delete(key);
    },
    async consumeOnce(id, ttlMs) {
      const now = clock();
      const until = seen.get(id);
      if (until !== undefined && until > now) return false;
      seen.set(id, now + ttlMs);
      return true;
    },
    async close() {
      clearInterval(sweep);
      windows.clear();
      seen.clear();
    },
  };
}
