// Child process: run one autocannon load and print its summary as JSON on stdout. The load generator lives
// in its own process so the server under test keeps its own core (this machine has two).
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2]);
const result = await autocannon({ ...opts, warmup: undefined });
process.stdout.write(
  JSON.stringify({
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
  }) + '\n',
);
