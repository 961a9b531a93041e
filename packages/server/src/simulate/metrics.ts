/**
 * Measurements kept by the resource API for one strategy during one phase: every validation time (exact
 * percentiles, no bucketing error), counters, and a time series in 1 s buckets.
 */

/** p50/p95/p99/max of a set of samples, in milliseconds, rounded to microseconds. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** One second of a phase. `t` is the bucket's start, in seconds since the phase started. */
export interface SeriesPoint {
  t: number;
  /**
   * Seconds of load the bucket covers: 1, or less for the last bucket of a phase whose load stopped within
   * that second. Counts of a partial bucket are not a per-second rate.
   */
  seconds: number;
  requests: number;
  errors: number;
  cache_hits: number;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** Nearest-rank percentiles of `values` (sorted in place). Zeros when empty. */
export function percentiles(values: Float64Array): Percentiles {
  if (values.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  values.sort();
  const at = (q: number) =>
    values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]!;
  let sum = 0;
  for (const v of values) sum += v;
  return {
    p50: round3(at(0.5)),
    p95: round3(at(0.95)),
    p99: round3(at(0.99)),
    max: round3(values[values.length - 1]!),
    mean: round3(sum / values.length),
  };
}

/** A growable list of doubles: a million samples cost 8 MB, not a million boxed numbers. */
export class SampleList {
  private data = new Float64Array(16_384);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

/** What the resource API records for one strategy. */
export class StrategyRecorder {
  private readonly samples = new SampleList();
  private readonly series: SeriesPoint[] = [];
  requests = 0;
  errors = 0;
  /** Errors where the strategy could not decide (issuer or store unreachable, timeout): HTTP 503. */
  unavailable = 0;
  cacheHits = 0;
  /** Sum of the Authorization header's length over all requests. */
  authorizationBytes = 0;
  /** Sum of the request line + header bytes over all requests (what the client sent). */
  bytesSent = 0;
  private startedAt = performance.now();
  private stoppedAt: number | undefined;

  /** Reset everything and start the clock of the time series. */
  start(now = performance.now()): void {
    this.startedAt = now;
    this.stoppedAt = undefined;
  }

  /** The load of the phase has stopped: the time series ends here (its last second may be partial). */
  stop(now = performance.now()): void {
    this.stoppedAt ??= now;
  }

  /** Record one request. */
  record(
    ms: number,
    ok: boolean,
    cacheHit: boolean,
    authBytes: number,
    sentBytes: number,
    unavailable = false,
    at = performance.now(),
  ): void {
    this.samples.push(ms);
    this.requests++;
    if (!ok) this.errors++;
    if (!ok && unavailable) this.unavailable++;
    if (cacheHit) this.cacheHits++;
    this.authorizationBytes += authBytes;
    this.bytesSent += sentBytes;
    // A request the load left in flight, answered after the stop, counts in the last second of the load.
    const when = this.stoppedAt === undefined ? at : Math.min(at, this.stoppedAt);
    const second = Math.max(0, Math.floor((when - this.startedAt) / 1000));
    while (this.series.length <= second) {
      this.series.push({ t: this.series.length, seconds: 1, requests: 0, errors: 0, cache_hits: 0 });
    }
    const point = this.series[second]!;
    point.requests++;
    if (!ok) point.errors++;
    if (cacheHit) point.cache_hits++;
  }

  validation(): Percentiles {
    return percentiles(this.samples.view());
  }

  /** The 1 s buckets; after stop(), the last one says how much of its second the load covered. */
  timeseries(): SeriesPoint[] {
    const out = this.series.map((p) => ({ ...p }));
    const last = out[out.length - 1];
    if (last !== undefined && this.stoppedAt !== undefined) {
      const covered = (this.stoppedAt - this.startedAt) / 1000 - last.t;
      last.seconds = Math.round(Math.min(1, Math.max(0.001, covered)) * 1000) / 1000;
    }
    return out;
  }
}
