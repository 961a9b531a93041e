// Run autocannon for a fixed number of requests and time it ourselves. autocannon builds its result on its
// 1 s sample tick, so in `amount` mode its `duration` is rounded up to the next whole second (8,000
// requests done in 5.1 s read as 6 s: up to 20% too slow at these sizes). Here the rate is the requests
// answered over the time from the start to the last response, on this process's monotonic clock.
import autocannon from 'autocannon';

/** autocannon `options` (with `amount`) → the usual summary, `requestsPerSec` from our own clock. */
export async function runAmount(options) {
  const start = performance.now();
  let last = start;
  const instance = autocannon(options);
  instance.on('response', () => {
    last = performance.now();
  });
  const result = await instance;
  const seconds = (last - start) / 1000;
  return {
    requestsPerSec: seconds > 0 ? result.requests.total / seconds : 0,
    totalRequests: result.requests.total,
    duration: seconds,
    autocannonDuration: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
