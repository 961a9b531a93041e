/**
 * The simulation's Fetcher for every SDK piece that calls the issuer (JWKS, introspection, revocation
 * feed): node:http with a keep-alive agent, as a production resource server would run it, plus a counter
 * of real calls so `issuer_calls_per_request` is measured rather than inferred. Loopback HTTP only.
 */
import { Agent, request } from 'node:http';
import { FetchError, type Fetcher, type FetchRequest, type FetchResponse } from '@tessera/jwt';

/** A Fetcher that counts its calls; `close()` drops the pooled sockets. */
export interface CountingFetcher extends Fetcher {
  /** Calls started so far (successful or not). */
  readonly calls: number;
  close(): void;
}

/**
 * Create a counting keep-alive fetcher. Same limits as the SDK's default: whole-request deadline, body
 * cap enforced while streaming, redirects never followed (node:http does not follow them).
 *
 * @example
 * const fetcher = createCountingFetcher();
 * const jwks = createRemoteJWKSet(uri, { fetcher });
 */
export function createCountingFetcher(maxSockets = 32): CountingFetcher {
  const agent = new Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 1000 });
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    close: () => agent.destroy(),
    fetch(url: URL, req: FetchRequest): Promise<FetchResponse> {
      calls++;
      if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
        return Promise.reject(new FetchError('network', 'the simulation only calls loopback HTTP'));
      }
      return new Promise<FetchResponse>((resolve, reject) => {
        let done = false;
        const finish = (err: Error | undefined, res?: FetchResponse) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (err) {
            r.destroy();
            reject(err);
          } else resolve(res!);
        };
        const headers: Record<string, string> = { 'user-agent': 'tessera-simulate', ...req.headers };
        if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
        const r = request(url, { method: req.method ?? 'GET', headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > req.maxBytes) finish(new FetchError('too_large', 'response exceeds the size limit'));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            const flat: Record<string, string | undefined> = {};
            for (const [k, v] of Object.entries(res.headers)) flat[k] = Array.isArray(v) ? v.join(', ') : v;
            finish(undefined, { status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks) });
          });
          res.on('error', (err) => finish(new FetchError('network', 'response failed', { cause: err })));
        });
        const timer = setTimeout(() => finish(new FetchError('timeout', 'request timed out')), req.timeoutMs);
        timer.unref();
        r.on('error', (err) => finish(new FetchError('network', 'request failed', { cause: err })));
        r.end(req.body);
      });
    },
  };
}
