import { createHTTPFetcher, describeFetchFailure, type Fetcher, type FetchResponse } from '@tessera/jwt';
import { RelyingPartyError } from './errors.js';

/** Whole-request deadline for every call to a provider (metadata, token endpoint). */
const PROVIDER_TIMEOUT_MS = 5_000;
/** Metadata and token responses are a few KiB; 256 KiB bounds a hostile or broken provider. */
const MAX_BYTES = 256 * 1024;

let defaultFetcher: Fetcher | undefined;

/** The fetcher to use: the caller's, or one shared default (node:http/https, no redirects, no cookies). */
export function fetcherOf(fetcher: Fetcher | undefined): Fetcher {
  return fetcher ?? (defaultFetcher ??= createHTTPFetcher({ userAgent: 'tessera' }));
}

/**
 * One call to a provider. Network failures, timeouts and oversized answers become ERR_UPSTREAM_UNAVAILABLE
 * with the fetch's own words (never a URL's query, which may carry a code).
 *
 * @example const res = await callProvider(fetcher, new URL(tokenEndpoint), { method: 'POST', body });
 */
export async function callProvider(
  fetcher: Fetcher,
  url: URL,
  request: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<FetchResponse> {
  const timeoutMs = request.timeoutMs ?? PROVIDER_TIMEOUT_MS;
  try {
    return await fetcher.fetch(url, {
      method: request.method ?? 'GET',
      headers: { accept: 'application/json', ...request.headers },
      ...(request.body !== undefined && { body: request.body }),
      timeoutMs,
      maxBytes: MAX_BYTES,
    });
  } catch (err) {
    throw new RelyingPartyError(
      'ERR_UPSTREAM_UNAVAILABLE',
      `the identity provider did not answer: ${describeFetchFailure(err, timeoutMs, MAX_BYTES)}`,
      { cause: err },
    );
  }
}

/** A JSON object body, or undefined for anything else (not JSON, an array, a primitive). */
export function jsonObject(res: FetchResponse): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(res.body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
