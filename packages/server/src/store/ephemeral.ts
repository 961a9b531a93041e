/**
 * Short-lived shared state: rate-limit counters and single-use ids with TTLs. In memory on one machine;
 * in Redis when `--redis` is set, so that limits and single-use guarantees hold across instances.
 */
export interface RateLimitResult {
  allowed: boolean;
  /** Requests left in the current window. */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export interface EphemeralState {
  readonly kind: 'memory' | 'redis';
  /** Count one hit against `key` in a fixed window of `windowMs`; allowed while the count ≤ limit. */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult>;
  /** A `hit` window's count and time left, without counting (count 0 when there is none). */
  peek(key: string): Promise<{ count: number; resetMs: number }>;
  /** Forget a `hit` window, so the next hit starts a new one (a sign-in success clears its failures). */
  reset(key: string): Promise<void>;
  /** Atomically record `id` for ttlMs; true the first time, false while it is remembered. */
  consumeOnce(id: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}
