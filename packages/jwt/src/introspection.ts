import { toSeconds } from './duration.js';
import { IntrospectionFailed, InvalidOptions, TesseraError, TokenInactive } from './errors.js';
import { emit, type EventListener, type IntrospectionStats } from './events.js';
import { basicAuthorization, checkEndpoint, createHTTPFetcher, type Fetcher } from './http-fetch.js';
import type { Clock, JWTPayload } from './types.js';

/** An active RFC 7662 §2.2 answer: `active: true` plus whatever claims the server chose to return. */
export interface IntrospectionResponse extends JWTPayload {
  active: true;
  scope?: string;
  client_id?: string;
  username?: string;
  token_type?: string;
}

/** Options for createIntrospectionClient. Durations are seconds or strings such as "30s". */
export interface IntrospectionClientOptions {
  /** The RFC 7662 endpoint, e.g. https://auth.example.com/oauth/introspect. */
  endpoint: string | URL;
  clientId: string;
  clientSecret: string;
  /** Longest time a positive answer is reused (capped further by the token's exp). Default 60 s. */
  maxCacheAge?: number | string;
  /** How long a negative answer is reused. Default 5 s. */
  negativeCacheAge?: number | string;
  /** Most answers cached. Default 10 000. */
  maxEntries?: number;
  /** Request timeout. Default 5 s. */
  timeout?: number | string;
  fetcher?: Fetcher;
  clock?: Clock;
  onEvent?: EventListener;
}

/** An RFC 7662 client. */
export interface IntrospectionClient {
  /**
   * Ask whether `token` is active. Resolves with the server's answer; rejects with TokenInactive
   * (`active: false`) or IntrospectionFailed (network, status, malformed answer).
   */
  introspect<P extends JWTPayload = JWTPayload>(token: string): Promise<IntrospectionResponse & P>;
  stats(): IntrospectionStats;
  clear(): void;
}

interface CacheEntry {
  answer: IntrospectionResponse | undefined;
  until: number;
}

/**
 * Create an RFC 7662 introspection client with `client_secret_basic` authentication. Positive answers are
 * cached until min(exp, maxCacheAge), negative ones briefly; concurrent requests for one token share a
 * single call. The token is sent only in the POST body and never appears in errors, events or logs.
 *
 * @example
 * const introspection = createIntrospectionClient({
 *   endpoint: 'https://auth.example.com/oauth/introspect', clientId: 'orders-api', clientSecret,
 * });
 * const { sub, scope } = await introspection.introspect(opaqueToken);
 */
export function createIntrospectionClient(options: IntrospectionClientOptions): IntrospectionClient {
  if (typeof options !== 'object' || options === null) throw new InvalidOptions('options are required');
  const url = checkEndpoint(options.endpoint, 'endpoint');
  if (typeof options.clientId !== 'string' || options.clientId === '')
    throw new InvalidOptions('"clientId" is required');
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '')
    throw new InvalidOptions('"clientSecret" is required');
  const maxAgeMs = toSeconds(options.maxCacheAge ?? 60, 'maxCacheAge') * 1000;
  const negativeMs = toSeconds(options.negativeCacheAge ?? 5, 'negativeCacheAge') * 1000;
  const timeoutMs = toSeconds(options.timeout ?? 5, 'timeout') * 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 0)
    throw new InvalidOptions('"maxEntries" must be a non-negative integer');
  const fetcher = options.fetcher ?? createHTTPFetcher();
  const clock = options.clock ?? Date.now;
  const onEvent = options.onEvent;
  const authorization = basicAuthorization(options.clientId, options.clientSecret);

  const cache = new Map<string, CacheEntry>();
  const inflight = new Map<string, Promise<IntrospectionResponse | undefined>>();
  const counters = { requests: 0, failures: 0, cache_hits: 0, active: 0, inactive: 0 };

  function remember(token: string, answer: IntrospectionResponse | undefined): void {
    const now = clock();
    let until = now + (answer ? maxAgeMs : negativeMs);
    if (answer && typeof answer.exp === 'number') until = Math.min(until, answer.exp * 1000);
    if (until <= now || maxEntries === 0) return;
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(token, { answer, until });
  }

  async function call(token: string): Promise<IntrospectionResponse | undefined> {
    const started = onEvent ? performance.now() : 0;
    counters.requests++;
    let status: number | undefined;
    try {
      const res = await fetcher
        .fetch(url, {
          method: 'POST',
          headers: {
            authorization,
            accept: 'application/json',
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
          timeoutMs,
          maxBytes: 64 * 1024,
        })
        .catch((err: unknown) => {
          throw new IntrospectionFailed('introspection request failed', { cause: err });
        });
      status = res.status;
      if (res.status !== 200) throw new IntrospectionFailed(`introspection endpoint answered ${res.status}`);
      let body: unknown;
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        throw new IntrospectionFailed('introspection answer is not JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new IntrospectionFailed('introspection answer is not an object');
      const active = (body as Record<string, unknown>).active;
      if (typeof active !== 'boolean')
        throw new IntrospectionFailed('introspection answer lacks a boolean "active"');
      const answer = active ? (Object.freeze({ ...body }) as IntrospectionResponse) : undefined;
      if (answer) counters.active++;
      else counters.inactive++;
      remember(token, answer);
      if (onEvent)
        emit(onEvent, { type: 'introspection', ok: true, ms: performance.now() - started, active, status });
      return answer;
    } catch (err) {
      counters.failures++;
      if (onEvent)
        emit(onEvent, {
          type: 'introspection',
          ok: false,
          ms: performance.now() - started,
          ...(status !== undefined && { status }),
        });
      throw err instanceof TesseraError ? err : new IntrospectionFailed(undefined, { cause: err });
    }
  }

  function settle<P extends JWTPayload>(
    answer: IntrospectionResponse | undefined,
  ): IntrospectionResponse & P {
    if (answer === undefined) throw new TokenInactive();
    // RFC 7662 §4: the server's exp still binds even while the answer is cached.
    if (typeof answer.exp === 'number' && clock() >= answer.exp * 1000) throw new TokenInactive();
    return answer as IntrospectionResponse & P;
  }

  return {
    introspect<P extends JWTPayload = JWTPayload>(token: string): Promise<IntrospectionResponse & P> {
      if (typeof token !== 'string' || token.length === 0) return Promise.reject(new TokenInactive());
      const hit = cache.get(token);
      if (hit !== undefined) {
        if (clock() < hit.until) {
          counters.cache_hits++;
          try {
            return Promise.resolve(settle<P>(hit.answer));
          } catch (err) {
            return Promise.reject(err);
          }
        }
        cache.delete(token);
      }
      let pending = inflight.get(token);
      if (pending === undefined) {
        pending = call(token).finally(() => inflight.delete(token));
        inflight.set(token, pending);
      }
      return pending.then((a) => settle<P>(a));
    },
    stats: () => ({ ...counters, size: cache.size }),
    clear: () => cache.clear(),
  };
}
