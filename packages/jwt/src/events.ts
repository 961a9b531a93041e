import type { TesseraErrorCode } from './errors.js';

/** One verification finished. `ms` is present only when a listener is attached (timing is not free). */
export interface VerifyEvent {
  type: 'verify';
  ms: number;
  /** The error code, absent on success. */
  code?: TesseraErrorCode;
  /** Answered from the verified-token cache. */
  cached?: boolean;
  /** Answered by introspection (opaque token). */
  introspected?: boolean;
}

/** A JWKS request finished (successfully or not). */
export interface JWKSFetchEvent {
  type: 'jwks_fetch';
  uri: string;
  ok: boolean;
  ms: number;
  status?: number;
  /** 304: the cached set was revalidated. */
  notModified?: boolean;
  keys?: number;
  skipped?: number;
  code?: TesseraErrorCode;
  /** Why the fetch happened. */
  reason: 'initial' | 'refresh' | 'unknown_kid';
}

/** The key set in use is past its freshness and kept only because the issuer is failing (stale-if-error). */
export interface JWKSStaleEvent {
  type: 'jwks_stale';
  uri: string;
  /** Milliseconds since the set was last confirmed by the issuer. */
  ageMs: number;
  /** False once the stale-if-error window is exhausted and the set was dropped. */
  usable: boolean;
}

/** The revocation feed was pulled. */
export interface RevocationSyncEvent {
  type: 'revocation_sync';
  ok: boolean;
  /** Entries applied by this pull. */
  applied: number;
  /** Entries currently held. */
  size: number;
  cursor: number;
  ms: number;
  reset?: boolean;
}

/** How far behind the revocation data is; emitted after every pull attempt and when the feed goes stale. */
export interface RevocationLagEvent {
  type: 'revocation_lag';
  lagMs: number;
  stale: boolean;
}

/** A token was accepted while revocation data was stale, because the policy is fail-open. */
export interface RevocationFailOpenEvent {
  type: 'revocation_fail_open';
  lagMs: number;
}

/** An introspection request finished. */
export interface IntrospectionEvent {
  type: 'introspection';
  ok: boolean;
  ms: number;
  active?: boolean;
  status?: number;
}

/** Everything the SDK reports. Events carry numbers and codes, never tokens or secrets. */
export type TesseraEvent =
  | VerifyEvent
  | JWKSFetchEvent
  | JWKSStaleEvent
  | RevocationSyncEvent
  | RevocationLagEvent
  | RevocationFailOpenEvent
  | IntrospectionEvent;

/** A listener; exceptions it throws are swallowed so that metrics can never break verification. */
export type EventListener = (event: TesseraEvent) => void;

/** The `events` option of the SDK factories. */
export interface EventsOptions {
  onEvent?: EventListener;
}

/** Call a listener without letting it break the caller. */
export function emit(listener: EventListener | undefined, event: TesseraEvent): void {
  if (listener === undefined) return;
  try {
    listener(event);
  } catch {
    // A metrics exporter's bug must not turn into a rejected token.
  }
}

/** Upper bounds (ms) of the latency histogram buckets, Prometheus-style (`le`). */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, 5000,
];

/** A cumulative-ready histogram: `counts[i]` counts observations in (buckets[i-1], buckets[i]]; the last slot is +Inf. */
export interface Histogram {
  buckets: readonly number[];
  counts: number[];
  sum: number;
  count: number;
}

/**
 * Create an empty latency histogram.
 *
 * @example const h = createHistogram(); observe(h, 0.42);
 */
export function createHistogram(buckets: readonly number[] = LATENCY_BUCKETS_MS): Histogram {
  return { buckets, counts: new Array<number>(buckets.length + 1).fill(0), sum: 0, count: 0 };
}

/**
 * Record one observation.
 *
 * @example observe(histogram, performance.now() - started);
 */
export function observe(h: Histogram, value: number): void {
  let i = 0;
  while (i < h.buckets.length && value > h.buckets[i]!) i++;
  h.counts[i]!++;
  h.sum += value;
  h.count++;
}

/** Counters of the verified-token cache. */
export interface CacheStats {
  size: number;
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0 before the first lookup. */
  cache_hit_ratio: number;
}

/** Counters of a remote JWK Set. */
export interface JWKSStats {
  uri: string;
  keys: number;
  fetches: number;
  failures: number;
  not_modified: number;
  skipped_keys: number;
  cooldown_rejections: number;
  /** True while the set in use is past its freshness because refreshes fail. */
  stale: boolean;
  /** Milliseconds since the issuer last confirmed the set, or -1 before the first success. */
  age_ms: number;
  last_error?: TesseraErrorCode;
}

/** Counters of a revocation list. */
export interface RevocationStats {
  size: number;
  cursor: number;
  pulls: number;
  failures: number;
  pushed: number;
  /** Milliseconds since the last successful pull, or -1 before the first one. */
  lag_ms: number;
  stale: boolean;
  revoked: number;
  fail_open_accepts: number;
}

/** Counters of an introspection client. */
export interface IntrospectionStats {
  requests: number;
  failures: number;
  cache_hits: number;
  active: number;
  inactive: number;
  /** Tokens refused without a call: not the shape of an opaque access token. */
  refused_shape: number;
  /** Calls not made: the per-second budget was spent, or the server's Retry-After had not passed. */
  rationed: number;
  size: number;
}

/** What `verifier.stats()` returns: plain numbers, ready for any metrics exporter. */
export interface VerifierStats {
  verifications: number;
  /** Result counts by code; `ok` for successes. */
  results: Record<string, number>;
  /** Latency histogram; filled only when an event listener is attached. */
  token_validation_ms: Histogram;
  cache?: CacheStats;
  jwks: JWKSStats[];
  revocation?: RevocationStats;
  introspection?: IntrospectionStats;
}
