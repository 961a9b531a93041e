// Child process: run one autocannon load and print its summary as JSON on stdout. The load generator lives
// in its own process so the server under test keeps its own core (this machine has two). `--quick` imports
// runAutocannon in-process instead.
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/** Run autocannon with `opts` and resolve to the summary the benchmarks use. */
export async function runAutocannon(opts) {
  // Drop undefined members (as the JSON hop to a child does): autocannon treats `method: undefined` as a method.
  const clean = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const result = await autocannon(clean);
  return {
    // Completed requests over the measured duration (autocannon's per-second average needs whole seconds).
    requestsPerSec: result.duration > 0 ? result.requests.total / result.duration : 0,
    requestsPerSecAverage: result.requests.average,
    totalRequests: result.requests.total,
    duration: result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    latencyMax: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodeStats: result.statusCodeStats,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const summary = await runAutocannon(JSON.parse(process.argv[2]));
  process.stdout.write(JSON.stringify(summary) + '\n');
}
