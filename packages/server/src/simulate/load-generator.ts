/**
 * The load generator, run as a child process (child_process.fork) so that autocannon's own event loop and
 * CPU time stay out of the resource API's process: the API's `token_validation_ms` and throughput are not
 * disturbed by the code producing the load. The parent sends jobs and credential updates over IPC; each
 * request picks one of the current credentials uniformly at random, so the number of users sets the
 * cache hit ratio.
 */
import autocannon from 'autocannon';

/** One strategy's load. Give `duration` (s) or `amount` (requests). */
export interface LoadJob {
  name: string;
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  credentials: string[];
}

/** What autocannon saw for one job (end-to-end, from the client side). */
export interface LoadResult {
  name: string;
  requests: number;
  /** Seconds the job ran. */
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency_ms: { p50: number; p97_5: number; p99: number; max: number; mean: number };
}

export type ParentMessage =
  | { type: 'run'; id: number; jobs: LoadJob[] }
  | { type: 'credentials'; name: string; credentials: string[] }
  | { type: 'stop' };

export type ChildMessage = { type: 'ready' } | { type: 'done'; id: number; results: LoadResult[] };

const credentials = new Map<string, string[]>();
const running = new Set<autocannon.Instance>();

function runJob(job: LoadJob): Promise<LoadResult> {
  credentials.set(job.name, job.credentials);
  return new Promise((resolve) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        ...(job.amount !== undefined ? { amount: job.amount } : { duration: job.duration ?? 10 }),
        requests: [
          {
            method: 'GET',
            setupRequest(request) {
              const list = credentials.get(job.name)!;
              const credential = list[Math.floor(Math.random() * list.length)]!;
              request.headers = { authorization: `Bearer ${credential}` };
              return request;
            },
          },
        ],
      },
      (err, result) => {
        running.delete(instance);
        const latency = result?.latency;
        resolve({
          name: job.name,
          requests: result?.requests.total ?? 0,
          duration: result?.duration ?? 0,
          non2xx: result?.non2xx ?? 0,
          errors: (result?.errors ?? 0) + (err ? 1 : 0),
          timeouts: result?.timeouts ?? 0,
          latency_ms: {
            p50: latency?.p50 ?? 0,
            p97_5: latency?.p97_5 ?? 0,
            p99: latency?.p99 ?? 0,
            max: latency?.max ?? 0,
            mean: latency?.average ?? 0,
          },
        });
      },
    );
    running.add(instance);
  });
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'credentials') credentials.set(message.name, message.credentials);
  else if (message.type === 'stop') for (const i of running) i.stop();
  else if (message.type === 'run') {
    void Promise.all(message.jobs.map(runJob)).then((results) =>
      send({ type: 'done', id: message.id, results }),
    );
  }
});
// The parent going away (Ctrl-C, crash) ends the child too: nothing is left running.
process.on('disconnect', () => {
  for (const i of running) i.stop();
  process.exit(0);
});
send({ type: 'ready' });
