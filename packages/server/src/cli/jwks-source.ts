import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { JWKS } from '@tessera/jwt';
import { UsageError } from './args.js';

/** Limits for a one-shot JWKS fetch from the command line. */
export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
}

const DEFAULT_LIMITS: FetchLimits = { timeoutMs: 5000, maxBytes: 512 * 1024 };

/**
 * Fetch a URL once: no redirects (a JWKS location is configuration, never something a server may steer,
 * ATTACKS A04), a timeout and a size cap counted while reading. Resolves to the status, headers and body.
 */
export function fetchOnce(
  url: URL,
  limits: FetchLimits = DEFAULT_LIMITS,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      url,
      { method: 'GET', headers: { accept: 'application/json' }, timeout: limits.timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxBytes) {
            req.destroy(new Error(`response larger than ${limits.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${limits.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Load a JWK Set from a file path or an http(s) URL. Failures are usage errors (exit 2). */
export async function loadJWKS(source: string): Promise<JWKS> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const url = new URL(source);
    let res;
    try {
      res = await fetchOnce(url);
    } catch (err) {
      throw new UsageError(`could not fetch the JWKS: ${(err as Error).message}`);
    }
    if (res.status !== 200)
      throw new UsageError(`JWKS URL answered ${res.status} (redirects are not followed)`);
    text = res.body;
  } else {
    try {
      text = await readFile(source, 'utf8');
    } catch (err) {
      throw new UsageError(`could not read the JWKS file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('the JWKS is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new UsageError('the JWKS is not a JSON object');
  // A single JWK is accepted as a set of one, for convenience.
  if (!Array.isArray((parsed as JWKS).keys) && typeof (parsed as { kty?: unknown }).kty === 'string') {
    return { keys: [parsed as JWKS['keys'][number]] };
  }
  return parsed as JWKS;
}
