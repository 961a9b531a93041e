// Interleaved micro-benchmark runner: every contender runs once per round, in a rotated order, so machine
// drift (thermal, other tenants, GC pressure) hits all contenders equally. One number per contender per
// round; the report uses the median of the rounds (and keeps the best for reference).
import { performance } from 'node:perf_hooks';

/** Run the collector if node was started with --expose-gc. */
export function collectGarbage() {
  if (typeof globalThis.gc === 'function') globalThis.gc();
}

/**
 * Run `n` operations of a contender and return the elapsed milliseconds. Sync contenders run in a plain
 * loop; async ones are awaited one after another (sequential awaits: latency-bound, one in flight).
 */
async function runBatch(contender, n) {
  const { fn } = contender;
  if (contender.async) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    const ms = performance.now() - t0;
    return { ms, cpuMs: cpuMsSince(c0) };
  }
  let sink;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink = fn();
  const ms = performance.now() - t0;
  const cpuMs = cpuMsSince(c0);
  if (sink === undefined) throw new Error(`${contender.name} returned nothing`);
  return { ms, cpuMs };
}

function cpuMsSince(c0) {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
}

// Find a batch size that takes about `targetMs`, starting small so slow contenders (RSA sign) stay bounded.
async function calibrate(contender, targetMs) {
  let n = 16;
  for (;;) {
    const { ms } = await runBatch(contender, n);
    if (ms >= targetMs / 4 || n >= 1 << 22) {
      return Math.max(1, Math.round((n * targetMs) / Math.max(ms, 0.01)));
    }
    n *= 4;
  }
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Measure a group of contenders interleaved in rounds.
 * @param {{ name: string, async?: boolean, batch?: number, fn: () => unknown }[]} contenders
 * @param {{ rounds: number, roundMs: number }} options
 * @returns {Promise<Map<string, { median: number, best: number, rounds: number[], opsPerRound: number }>>}
 */
export async function measureInterleaved(contenders, { rounds, roundMs }) {
  const sizes = new Map();
  for (const c of contenders) {
    collectGarbage();
    sizes.set(c.name, await calibrate(c, roundMs)); // doubles as warm-up (JIT, key caches)
  }
  const samples = new Map(contenders.map((c) => [c.name, []]));
  const cpuSamples = new Map(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(k + r) % contenders.length];
      collectGarbage();
      const n = sizes.get(c.name);
      const { ms, cpuMs } = await runBatch(c, n);
      const ops = n * (c.batch ?? 1); // a call may do several operations (e.g. 64 verifications in flight)
      samples.get(c.name).push((ops * 1000) / ms);
      cpuSamples.get(c.name).push((ops * 1000) / Math.max(cpuMs, 0.001));
    }
  }
  const out = new Map();
  for (const c of contenders) {
    const s = samples.get(c.name);
    out.set(c.name, {
      median: median(s),
      best: Math.max(...s),
      rounds: s,
      cpuRounds: cpuSamples.get(c.name),
      cpuMedian: median(cpuSamples.get(c.name)),
      opsPerRound: sizes.get(c.name),
    });
  }
  return out;
}

/**
 * The ratio a/b as the median of per-round ratios: each round's two samples ran back to back, so a
 * burst of load from elsewhere on the machine cancels out of the pair.
 */
export function pairedRatio(a, b) {
  return median(a.rounds.map((v, i) => v / b.rounds[i]));
}

/** The same paired ratio on process CPU time instead of wall-clock time (robust to being descheduled). */
export function pairedCPURatio(a, b) {
  return median(a.cpuRounds.map((v, i) => v / b.cpuRounds[i]));
}

export { median };
