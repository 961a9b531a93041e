// Child processes and servers started by the benchmarks, closed at the end even when a section fails.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const live = new Set();
let inProcessLoad = false;

/**
 * --quick: run autocannon inside this process instead of a child (saves a node start per load; the numbers
 * of a smoke run mean nothing anyway). Real runs always use the child process.
 */
export function setInProcessLoad(value) {
  inProcessLoad = value;
}

/** Remember a child process so that cleanup() (and process exit) ends it. */
export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Kill every tracked child (SIGTERM, then SIGKILL after `graceMs`). */
export async function cleanup(graceMs = 3000) {
  const waits = [...live].map(
    (child) =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  );
  await Promise.all(waits);
}

process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const child of live) child.kill('SIGKILL');
    process.exit(130);
  });
}

/**
 * Run autocannon in a child process against 127.0.0.1 and resolve to its summary:
 * `{ requestsPerSec, p50, p99, non2xx, errors, … }`. `opts` are autocannon options (url, connections,
 * duration, method, headers, body).
 */
export function runLoad(opts) {
  for (const u of [opts.url].flat()) {
    if (!new URL(u).hostname.match(/^(127\.0\.0\.1|localhost|\[::1\])$/))
      throw new Error(`refusing non-loopback ${u}`);
  }
  if (inProcessLoad) return import('./load-child.mjs').then((m) => m.runAutocannon(opts));
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [join(here, 'load-child.mjs'), JSON.stringify(opts)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const limit = setTimeout(() => child.kill('SIGKILL'), (Number(opts.duration ?? 10) + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(limit);
      if (code !== 0) return reject(new Error(`autocannon child exited ${code}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (e) {
        reject(new Error(`bad autocannon output: ${out.slice(-500)} ${err.slice(-500)} (${e})`));
      }
    });
  });
}

/** Run several loads at once (e.g. one per server instance) and sum their throughput. */
export async function runLoads(list) {
  const results = await Promise.all(list.map(runLoad));
  const sum = (k) => results.reduce((a, r) => a + (r[k] ?? 0), 0);
  return {
    requestsPerSec: sum('requestsPerSec'),
    totalRequests: sum('totalRequests'),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    // Percentiles cannot be summed; report the worst instance's.
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    parts: results,
  };
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux; undefined elsewhere). Requests
 * per server-CPU-second stays meaningful when the machine is shared and the server gets descheduled.
 */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (CLK_TCK = 100)
  } catch {
    return undefined;
  }
}

/** Run `runLoad(opts)` and add `cpuSeconds` and `requestsPerCPUSecond` of the given server pids. */
export async function runLoadWithCPU(opts, pids) {
  const before = pids.map(cpuSecondsOf);
  const r = await runLoad(opts);
  const after = pids.map(cpuSecondsOf);
  if (before.some((x) => x === undefined) || after.some((x) => x === undefined)) return r;
  const cpuSeconds = after.reduce((a, x, i) => a + x - before[i], 0);
  return {
    ...r,
    cpuSeconds,
    requestsPerCPUSecond: cpuSeconds > 0 ? r.totalRequests / cpuSeconds : undefined,
  };
}
