/**
 * One safe HTTP GET for untrusted metadata (discovery documents, JWK Sets), used by `tessera audit` and
 * `tessera inspect --jwks URL`.
 */
import { isIP } from 'node:net';

/** Limits for one HTTP GET of untrusted metadata. */
export interface FetchLimits {
  /** Whole request including the body, in milliseconds. Default 5000. */
  timeoutMs?: number;
  /** Largest body accepted, in bytes. Default 512 KiB. */
  maxBytes?: number;
  /** Same-origin redirects followed. Default 3. */
  maxRedirects?: number;
}

/** A fetched document. */
export interface FetchedDocument {
  /** The URL that answered (after same-origin redirects). */
  url: URL;
  status: number;
  headers: Headers;
  body: string;
}

/** Why a fetch was refused or failed; `reason` picks the finding. */
export class FetchRefused extends Error {
  override readonly name = 'FetchRefused';
  constructor(
    readonly reason: 'redirect-cross-origin' | 'too-many-redirects' | 'too-large' | 'timeout' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * GET `url` safely: a timeout over the whole exchange, a body size limit enforced while reading (not
 * trusting Content-Length), and redirects followed only within the same origin, so a metadata document
 * cannot bounce the tool to another host (SSRF via redirect) or feed it gigabytes.
 *
 * @example const { body } = await fetchLimited(new URL('https://issuer.example/.well-known/openid-configuration'));
 */
export async function fetchLimited(url: URL, limits: FetchLimits = {}): Promise<FetchedDocument> {
  const timeoutMs = limits.timeoutMs ?? 5000;
  const maxBytes = limits.maxBytes ?? 512 * 1024;
  const maxRedirects = limits.maxRedirects ?? 3;
  const signal = AbortSignal.timeout(timeoutMs);
  let current = url;
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await fetch(current, {
        redirect: 'manual',
        signal,
        headers: { accept: 'application/json' },
        credentials: 'omit',
      });
    } catch (err) {
      throw signal.aborted
        ? new FetchRefused('timeout', `${current.href} did not answer within ${timeoutMs} ms`, { cause: err })
        : new FetchRefused('network', `${current.href} could not be fetched: ${(err as Error).message}`, {
            cause: err,
          });
    }
    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel();
      const next = new URL(res.headers.get('location')!, current);
      if (next.origin !== current.origin) {
        throw new FetchRefused(
          'redirect-cross-origin',
          `${current.href} redirects to another origin (${next.origin})`,
        );
      }
      if (hop >= maxRedirects)
        throw new FetchRefused('too-many-redirects', `${url.href} redirects more than ${maxRedirects} times`);
      current = next;
      continue;
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > maxBytes) {
      await res.body?.cancel();
      throw new FetchRefused('too-large', `${current.href} is larger than ${maxBytes} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      if (res.body) {
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.byteLength;
          if (total > maxBytes) {
            await reader.cancel();
            throw new FetchRefused('too-large', `${current.href} is larger than ${maxBytes} bytes`);
          }
          chunks.push(value);
        }
      }
    } catch (err) {
      if (err instanceof FetchRefused) throw err;
      throw signal.aborted
        ? new FetchRefused('timeout', `${current.href} did not answer within ${timeoutMs} ms`, { cause: err })
        : new FetchRefused('network', `${current.href} failed while reading: ${(err as Error).message}`, {
            cause: err,
          });
    }
    return {
      url: current,
      status: res.status,
      headers: res.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
  }
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
