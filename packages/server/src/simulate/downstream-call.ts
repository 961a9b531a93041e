/**
 * The API's call to the downstream service in `jwt-exchange`: `GET /orders` with the exchanged token as
 * `Authorization: Bearer`, over a keep-alive agent as a service calling a service would, timed from the
 * request to the end of the answer (the `downstream_call_ms` figure, outside `token_validation_ms`).
 */
import { Agent, request } from 'node:http';
import { percentiles, SampleList, type Percentiles } from './metrics.js';
import { OK_MISS, rejected, type Outcome } from './strategy-types.js';

export interface DownstreamCaller {
  get(token: string): Promise<Outcome>;
  /** Calls and refusals since the last reset. */
  readonly calls: number;
  readonly refused: number;
  latency(): Percentiles;
  reset(): void;
  close(): void;
}

/** Give up on a downstream answer after this long: the API answers 503 rather than hang. */
const TIMEOUT_MS = 5000;

/**
 * A caller for one downstream URL (loopback).
 *
 * @example
 * const call = downstreamCaller(`${downstream.url}/orders`);
 * const outcome = await call.get(exchangedToken); // ok, or ERR_DOWNSTREAM_REFUSED / _UNAVAILABLE
 */
export function downstreamCaller(url: string): DownstreamCaller {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let samples = new SampleList();
  let calls = 0;
  let refused = 0;
  return {
    get(token) {
      calls++;
      const t0 = performance.now();
      return new Promise<Outcome>((resolve) => {
        let settled = false;
        const done = (outcome: Outcome) => {
          if (settled) return;
          settled = true;
          samples.push(performance.now() - t0);
          if (!outcome.ok) refused++;
          resolve(outcome);
        };
        const req = request(
          target,
          { method: 'GET', agent, headers: { authorization: `Bearer ${token}` }, timeout: TIMEOUT_MS },
          (res) => {
            res.resume();
            res.once('end', () => {
              const status = res.statusCode ?? 0;
              done(
                status === 200
                  ? OK_MISS
                  : status === 401 || status === 403
                    ? rejected('ERR_DOWNSTREAM_REFUSED')
                    : rejected('ERR_DOWNSTREAM_UNAVAILABLE'),
              );
            });
            res.once('error', () => done(rejected('ERR_DOWNSTREAM_UNAVAILABLE')));
          },
        );
        req.once('timeout', () => req.destroy(new Error('timeout')));
        req.once('error', () => done(rejected('ERR_DOWNSTREAM_UNAVAILABLE')));
        req.end();
      });
    },
    get calls() {
      return calls;
    },
    get refused() {
      return refused;
    },
    latency: () => percentiles(samples.view()),
    reset() {
      samples = new SampleList();
      calls = 0;
      refused = 0;
    },
    close: () => agent.destroy(),
  };
}
