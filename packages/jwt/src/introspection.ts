import { toSeconds } from './duration.js';
import {
  IntrospectionFailed,
  InvalidOptions,
  JWTClaimInvalid,
  TesseraError,
  TokenInactive,
} from './errors.js';
import { emit, type EventListener, type IntrospectionStats } from './events.js';
import { basicAuthorization, checkEndpoint, createHTTPFetcher, type Fetcher } from './http-fetch.js';
import { isOpaqueTokenShape } from './opaque-token.js';
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
  /**
   * Which strings are worth a call. `'tessera'` (default): only Tessera opaque access tokens (`tsa_…`,
   * length, alphabet and checksum), so random strings, typos and refresh tokens cost nothing. `'any'` for
   * another authorization server's tokens, or your own predicate.
   */
  tokenShape?: 'tessera' | 'any' | ((token: string) => boolean);
  /**
   * Most introspection calls per second (a token bucket of this size, refilled continuously). Default 50.
   * Beyond it a token that needs a call fails with IntrospectionFailed and `retryAfter` (503 in the
   * middleware), so a flood of distinct tokens cannot spend the API's own rate limit at the token service.
   * `Infinity` turns the budget off (a 429 from the server is still honoured).
   */
  maxCallsPerSecond?: number;
  /**
   * Accept only answers whose `token_type` names an access token (`access_token`, `Bearer`, `DPoP`).
   * Default true: an answer without `token_type` is refused. Set false only for a server that never sends
   * it and never answers for refresh tokens.
   */
  requireTokenType?: boolean;
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

/** RFC 7662 §2.2 `token_type` values of an access token (RFC 6750 Bearer, RFC 9449 DPoP). */
const ACCESS_TOKEN_TYPES = new Set(['access_token', 'bearer', 'dpop']);

/** Retry-After when the server gave none we can use, and the longest we honour (seconds). */
const DEFAULT_RETRY_AFTER = 1;
const MAX_RETRY_AFTER = 300;

/** Retry-After as delay-seconds (RFC 9110 §10.2.3); an HTTP-date or garbage gives the default. */
function retryAfterOf(header: string | undefined): number {
  if (header === undefined || !/^\d{1,6}$/.test(header.trim())) return DEFAULT_RETRY_AFTER;
  return Math.min(MAX_RETRY_AFTER, Math.max(DEFAULT_RETRY_AFTER, Number(header.trim())));
}

function shapeCheck(
  shape: IntrospectionClientOptions['tokenShape'],
): ((token: string) => boolean) | undefined {
  if (shape === undefined || shape === 'tessera') return (token) => isOpaqueTokenShape(token);
  if (shape === 'any') return undefined;
  if (typeof shape === 'function') return shape;
  throw new InvalidOptions('"tokenShape" must be "tessera", "any" or a function');
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
  const worthACall = shapeCheck(options.tokenShape);
  const rate = options.maxCallsPerSecond ?? 50;
  if (typeof rate !== 'number' || !(rate > 0))
    throw new InvalidOptions('"maxCallsPerSecond" must be a positive number');
  const requireTokenType = options.requireTokenType ?? true;
  if (typeof requireTokenType !== 'boolean') throw new InvalidOptions('"requireTokenType" must be a boolean');
  const fetcher = options.fetcher ?? createHTTPFetcher();
  const clock = options.clock ?? Date.now;
  const onEvent = options.onEvent;
  const authorization = basicAuthorization(options.clientId, options.clientSecret);

  // Positive and negative answers in separate maps: a flood of inactive tokens evicts only its own kind,
  // never the answers that keep legitimate users from needing a call.
  const cache = new Map<string, CacheEntry>();
  const negative = new Map<string, CacheEntry>();
  const inflight = new Map<string, Promise<IntrospectionResponse | undefined>>();
  const counters = {
    requests: 0,
    failures: 0,
    cache_hits: 0,
    active: 0,
    inactive: 0,
    refused_shape: 0,
    rationed: 0,
  };
  // Token bucket: `rate` calls of burst, refilled at `rate` per second; `pausedUntil` honours a 429.
  let tokens = rate;
  let refilledAt = clock();
  let pausedUntil = 0;

  /** Take one call from the budget, or fail with the seconds until one is available. */
  function ration(): void {
    if (rate === Infinity) return;
    const now = clock();
    if (now < pausedUntil) {
      counters.rationed++;
      throw new IntrospectionFailed('the token service asked to slow down', {
        retryAfter: Math.ceil((pausedUntil - now) / 1000),
      });
    }
    tokens = Math.min(rate, tokens + ((now - refilledAt) / 1000) * rate);
    refilledAt = now;
    if (tokens < 1) {
      counters.rationed++;
      throw new IntrospectionFailed('introspection budget spent', {
        retryAfter: Math.max(DEFAULT_RETRY_AFTER, Math.ceil((1 - tokens) / rate)),
      });
    }
    tokens -= 1;
  }

  function remember(token: string, answer: IntrospectionResponse | undefined): void {
    const now = clock();
    let until = now + (answer ? maxAgeMs : negativeMs);
    if (answer && typeof answer.exp === 'number') until = Math.min(until, answer.exp * 1000);
    if (until <= now || maxEntries === 0) return;
    const map = answer ? cache : negative;
    if (map.size >= maxEntries) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
    map.set(token, { answer, until });
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
      if (res.status === 429) {
        // The token service's rate limit: stop calling until its Retry-After has passed.
        const retryAfter = retryAfterOf(res.headers['retry-after']);
        pausedUntil = clock() + retryAfter * 1000;
        throw new IntrospectionFailed('introspection endpoint answered 429', { retryAfter });
      }
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
    // Issue 12 #3: an active refresh token (token_type "refresh_token") is not an access token.
    const type = answer.token_type;
    if (typeof type === 'string' ? !ACCESS_TOKEN_TYPES.has(type.toLowerCase()) : requireTokenType)
      throw new JWTClaimInvalid('token_type', type === undefined ? 'is missing' : 'is not an access token');
    return answer as IntrospectionResponse & P;
  }

  return {
    introspect<P extends JWTPayload = JWTPayload>(token: string): Promise<IntrospectionResponse & P> {
      if (typeof token !== 'string' || token.length === 0) return Promise.reject(new TokenInactive());
      // Issue 12 #4: a string that cannot be one of the server's access tokens costs no call.
      if (worthACall !== undefined && !worthACall(token)) {
        counters.refused_shape++;
        return Promise.reject(new TokenInactive());
      }
      const hit = cache.get(token) ?? negative.get(token);
      if (hit !== undefined) {
        if (clock() < hit.until) {
          counters.cache_hits++;
          try {
            return Promise.resolve(settle<P>(hit.answer));
          } catch (err) {
            return Promise.reject(err);
          }
        }
        (hit.answer ? cache : negative).delete(token);
      }
      // Single flight: concurrent requests for one token share one call and one unit of the budget.
      let pending = inflight.get(token);
      if (pending === undefined) {
        try {
          ration();
        } catch (err) {
          return Promise.reject(err);
        }
        pending = call(token).finally(() => inflight.delete(token));
        inflight.set(token, pending);
      }
      return pending.then((a) => settle<P>(a));
    },
    stats: () => ({ ...counters, size: cache.size + negative.size }),
    clear: () => {
      cache.clear();
      negative.clear();
    },
  };
}
