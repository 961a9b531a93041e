/**
 * The load generator, run as a child process (child_process.fork) so that autocannon's own event loop and
 * CPU time stay out of the resource API's process: the API's `token_validation_ms` and throughput are not
 * disturbed by the code producing the load. The parent sends jobs and credential updates over IPC; each
 * request picks one of the current credentials uniformly at random, so the number of users sets the
 * cache hit ratio. A DPoP-bound credential comes with its holder's private JWK: the request then carries
 * `Authorization: DPoP <token>` and a proof signed here, fresh for that request (RFC 9449 §4.2), as a
 * client holding the key would send it.
 */
import autocannon from 'autocannon';
import { proofSigner, type DpopCredential } from './dpop-keys.js';

/** A bearer credential (JWT, opaque token, session id), or a DPoP-bound token with its holder's key. */
export type LoadCredential = string | DpopCredential;

/** One strategy's load. Give `duration` (s) or `amount` (requests). */
export interface LoadJob {
  name: string;
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  credentials: LoadCredential[];
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
  | { type: 'credentials'; name: string; credentials: LoadCredential[] }
  | { type: 'stop' };

export type ChildMessage = { type: 'ready' } | { type: 'done'; id: number; results: LoadResult[] };

/** A credential ready to send: its Authorization value, and for DPoP the signer of its proofs. */
interface Prepared {
  authorization: string;
  token: string;
  sign?: (htm: string, htu: string, accessToken: string) => string;
}

const credentials = new Map<string, Prepared[]>();
const running = new Set<autocannon.Instance>();

// Keys are imported once per credential update, not per request: a request pays the signature only.
const prepare = (list: LoadCredential[]): Prepared[] =>
  list.map((c) =>
    typeof c === 'string'
      ? { authorization: `Bearer ${c}`, token: c }
      : { authorization: `DPoP ${c.token}`, token: c.token, sign: proofSigner(c.privateJwk) },
  );

function runJob(job: LoadJob): Promise<LoadResult> {
  credentials.set(job.name, prepare(job.credentials));
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
              const c = list[Math.floor(Math.random() * list.length)]!;
              request.headers = c.sign
                ? { authorization: c.authorization, dpop: c.sign('GET', job.url, c.token) }
                : { authorization: c.authorization };
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
  if (message.type === 'credentials') credentials.set(message.name, prepare(message.credentials));
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
