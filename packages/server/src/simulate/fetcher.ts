/**
 * The simulation's Fetcher for every SDK piece that calls the issuer (JWKS, introspection, revocation
 * feed): the SDK's own fetcher over a keep-alive agent, as a production resource server would run it, plus a
 * counter of real calls so `issuer_calls_per_request` is measured rather than inferred. Loopback HTTP only.
 */
import { Agent } from 'node:http';
import {
  createHTTPFetcher,
  FetchError,
  type Fetcher,
  type FetchRequest,
  type FetchResponse,
} from '@tessera/jwt';

/** A Fetcher that counts its calls; `close()` drops the pooled sockets. */
export interface CountingFetcher extends Fetcher {
  /** Calls started so far (successful or not). */
  readonly calls: number;
  close(): void;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * Create a counting keep-alive fetcher. Same limits as the SDK's default (it is the SDK's default with an
 * agent): whole-request deadline, body cap enforced while streaming, redirects never followed.
 *
 * @example
 * const fetcher = createCountingFetcher();
 * const jwks = createRemoteJWKSet(uri, { fetcher });
 */
export function createCountingFetcher(maxSockets = 32): CountingFetcher {
  const agent = new Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 1000 });
  const inner = createHTTPFetcher({ httpAgent: agent, userAgent: 'tessera-simulate' });
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    close: () => agent.destroy(),
    fetch(url: URL, req: FetchRequest): Promise<FetchResponse> {
      calls++;
      if (url.protocol !== 'http:' || !LOOPBACK.includes(url.hostname)) {
        return Promise.reject(new FetchError('network', 'the simulation only calls loopback HTTP'));
      }
      return inner.fetch(url, req);
    },
  };
}
