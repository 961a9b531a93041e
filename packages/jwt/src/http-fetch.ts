import { request as httpRequest, type Agent as HTTPAgent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type Agent as HTTPSAgent } from 'node:https';
import { InvalidOptions } from './errors.js';

/** One HTTP request made by the SDK (JWKS, revocation feed, introspection). */
export interface FetchRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Whole-request deadline in milliseconds: connect, headers and body together. */
  timeoutMs: number;
  /** Largest response body accepted, counted while streaming. */
  maxBytes: number;
}

/** What a fetcher answers: any status (the caller decides), lower-case headers, the body. */
export interface FetchResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

/**
 * The network boundary. The default speaks node:http/https; tests and special deployments pass their own.
 * A fetcher must never follow redirects, send cookies or credentials of its own, or exceed the limits given.
 */
export interface Fetcher {
  fetch(url: URL, request: FetchRequest): Promise<FetchResponse>;
}

/**
 * Why a fetch failed, as a short stable word (never a URL's secret parts, never a token).
 *
 * @example if (err instanceof FetchError && err.reason === 'timeout') retryLater();
 */
export class FetchError extends Error {
  constructor(
    readonly reason: 'timeout' | 'too_large' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FetchError';
  }
}

/**
 * A URL as errors may show it: scheme, host, port and path; never userinfo, query or fragment, which can
 * carry credentials.
 *
 * @example displayURL(new URL('https://u:p@auth.test/jwks?key=1')) // 'https://auth.test/jwks'
 */
export function displayURL(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

const TLS_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/**
 * Why a request failed, in words an operator can act on: the timeout or size limit that cut it, a TLS
 * failure with node's code, or the network error's code. Never the request or response content.
 *
 * @example describeFetchFailure(err, 5000, 65536) // 'timed out after 5 s'
 */
export function describeFetchFailure(err: unknown, timeoutMs: number, maxBytes: number): string {
  if (err instanceof FetchError && err.reason === 'timeout') return `timed out after ${timeoutMs / 1000} s`;
  if (err instanceof FetchError && err.reason === 'too_large')
    return `response larger than ${maxBytes >= 1024 ? `${Math.round(maxBytes / 1024)} KiB` : `${maxBytes} bytes`}`;
  let cause: unknown = err;
  for (let i = 0; i < 3 && cause instanceof Error; i++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,64}$/.test(code))
      return TLS_CODE.test(code) ? `TLS: ${code}` : `network: ${code}`;
    cause = cause.cause;
  }
  return err instanceof FetchError ? err.message : 'network error';
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Whether a URL's host is the local machine (plain HTTP is allowed only there, for development). */
export function isLoopback(url: URL): boolean {
  return LOOPBACK.test(url.hostname);
}

/**
 * Parse and check an endpoint URL once, at construction: HTTPS, or HTTP on loopback only; no userinfo
 * (credentials in URLs leak into logs); no fragment.
 *
 * @example const tokenEndpoint = checkEndpoint(metadata.token_endpoint, 'token_endpoint');
 */
export function checkEndpoint(value: string | URL, name: string): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new InvalidOptions(`"${name}" must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    throw new InvalidOptions(`"${name}" must use https (plain http is allowed only for loopback hosts)`);
  }
  if (url.username !== '' || url.password !== '')
    throw new InvalidOptions(`"${name}" must not carry credentials`);
  if (url.hash !== '') throw new InvalidOptions(`"${name}" must not have a fragment`);
  return url;
}

function flatten(headers: IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers))
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

/** Options for createHTTPFetcher. */
export interface HTTPFetcherOptions {
  /** Keep-alive agents for connection reuse to the issuer (introspection, feed); default: node's global agents. */
  httpAgent?: HTTPAgent;
  httpsAgent?: HTTPSAgent;
  userAgent?: string;
}

/**
 * The default fetcher over node:http/https. node's client never follows redirects, sends no cookies and
 * keeps no credentials; this adds a whole-request deadline and a body cap enforced while streaming, so a
 * slow-drip or oversized answer costs at most `timeoutMs` and `maxBytes`.
 *
 * @example const res = await createHTTPFetcher().fetch(new URL(jwksUri), { timeoutMs: 5000, maxBytes: 524288 });
 */
export function createHTTPFetcher(options: HTTPFetcherOptions = {}): Fetcher {
  const userAgent = options.userAgent ?? 'tessera-jwt';
  return {
    fetch(url: URL, req: FetchRequest): Promise<FetchResponse> {
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
        return Promise.reject(new FetchError('network', 'refusing a non-HTTPS URL'));
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
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
        const headers: Record<string, string> = { 'user-agent': userAgent, ...req.headers };
        if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
        const agent = url.protocol === 'https:' ? options.httpsAgent : options.httpAgent;
        const r = send(url, { method: req.method ?? 'GET', headers, ...(agent && { agent }) }, (res) => {
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > req.maxBytes) {
            finish(new FetchError('too_large', 'response exceeds the size limit'));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > req.maxBytes) finish(new FetchError('too_large', 'response exceeds the size limit'));
            else chunks.push(chunk);
          });
          res.on('end', () =>
            finish(undefined, {
              status: res.statusCode ?? 0,
              headers: flatten(res.headers),
              body: Buffer.concat(chunks),
            }),
          );
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

/**
 * `client_secret_basic` (RFC 6749 §2.3.1): id and secret are form-encoded before base64.
 *
 * @example headers.authorization = basicAuthorization('orders-api', secret);
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

/** Parse `max-age` (and `no-store`/`no-cache`) from a Cache-Control header, in seconds. */
export function parseMaxAge(cacheControl: string | undefined): number | undefined {
  if (!cacheControl) return undefined;
  if (/(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)/i.test(cacheControl)) return 0;
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,10})"?\s*(?:,|$)/i.exec(cacheControl);
  return m ? Number(m[1]) : undefined;
}
