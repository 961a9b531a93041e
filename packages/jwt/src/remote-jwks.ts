import { toSeconds } from './duration.js';
import {
  InvalidOptions,
  JWKSCooldown,
  JWKSFetchFailed,
  JWKSInvalid,
  JWKSNoMatchingKey,
  JWKSStale,
  TesseraError,
} from './errors.js';
import { emit, type EventListener, type JWKSFetchEvent, type JWKSStats } from './events.js';
import {
  checkEndpoint,
  createHTTPFetcher,
  describeFetchFailure,
  displayURL,
  FetchError,
  parseMaxAge,
  type Fetcher,
} from './http-fetch.js';
import { MAX_JSON_DEPTH } from './header.js';
import { decodeUTF8, parseStrictJSONObject } from './json.js';
import { importJWKS, keySetFrom, type LocalKeySet } from './key-set.js';
import { toPublicKey } from './keys.js';
import type { Alg, Clock, JWKS, KeyLookup, KeySource, TesseraKey } from './types.js';

/** A JWK Set as last confirmed by the issuer, as kept by a JWKSCacheStore. */
export interface JWKSCacheEntry {
  jwks: JWKS;
  etag?: string;
  /** When the issuer last confirmed it (ms since the epoch). */
  confirmedAt: number;
  /** Its freshness lifetime in ms (Cache-Control max-age, clamped). */
  maxAgeMs: number;
}

/** Storage for the last good set, e.g. to survive a restart during an issuer outage. Synchronous on purpose. */
export interface JWKSCacheStore {
  get(uri: string): JWKSCacheEntry | undefined;
  set(uri: string, entry: JWKSCacheEntry): void;
}

/** The penalty box for unknown-kid refetches: one refetch, then none until the cooldown has passed. */
export interface JWKSCooldownBox {
  /** Whether a refetch for an unknown kid may go out at `now` (ms). */
  allows(now: number): boolean;
  /** An unknown-kid refetch ended at `now` (ms) without finding the kid. */
  record(now: number): void;
}

/**
 * The default penalty box: a single timestamp.
 *
 * @example createRemoteJWKSet(uri, { cooldown: createCooldownBox(60_000) });
 */
export function createCooldownBox(cooldownMs: number): JWKSCooldownBox {
  let last = -Infinity;
  return {
    allows: (now) => now >= last + cooldownMs,
    record: (now) => {
      last = now;
    },
  };
}

/** Options for createRemoteJWKSet. Durations are seconds or strings such as "30s". */
export interface RemoteJWKSetOptions {
  /** Keep only keys that can serve one of these algorithms; others are skipped and counted. */
  algorithms?: readonly Alg[];
  /** Whole-request timeout. Default 5 s. */
  timeout?: number | string;
  /** Largest response accepted, in bytes, counted while streaming. Default 512 KiB. */
  maxBytes?: number;
  /** Lower bound for Cache-Control max-age. Default 30 s. */
  minCacheAge?: number | string;
  /** Upper bound for Cache-Control max-age. Default 1 h. */
  maxCacheAge?: number | string;
  /** Freshness when the issuer sends no max-age. Default 10 min (then clamped). */
  defaultCacheAge?: number | string;
  /**
   * Cooldown after an unknown-kid refetch that did not find the kid, during which unknown kids are refused
   * without a request. Default 30 s. Routine refreshes and refetches that found their kid start none.
   */
  cooldown?: number | string | JWKSCooldownBox;
  /** How long past its freshness the last good set stays in use while the issuer fails. Default 24 h. */
  staleIfError?: number | string;
  fetcher?: Fetcher;
  clock?: Clock;
  cache?: JWKSCacheStore;
  onEvent?: EventListener;
}

/** A remote JWK Set: a KeySource that fetches, caches, refreshes and reports. */
export interface RemoteJWKSet extends KeySource {
  readonly uri: string;
  /** Fetch now (joining any fetch in flight); use it to warm the set at start-up. */
  refresh(): Promise<void>;
  stats(): JWKSStats;
  close(): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function seconds(value: number | string | undefined, fallback: number, name: string): number {
  return value === undefined ? fallback : toSeconds(value, name);
}

/**
 * A key source over an issuer's JWKS URI. HTTPS only (plain HTTP on loopback for development); redirects
 * are never followed, so a compromised or misconfigured host cannot steer the fetch elsewhere (SSRF); 5 s
 * timeout and a 512 KiB cap bound what a hostile endpoint can cost (ATTACKS A14). The set is cached per
 * Cache-Control max-age (clamped), revalidated with ETag, and refreshed in the background before it
 * expires, so in steady state no verification waits on the network. An unknown kid triggers one shared
 * refetch, then a cooldown: a flood of random kids costs at most one request per cooldown. While the
 * issuer fails, the last good set stays in use for `staleIfError`; a key the issuer removes stops
 * verifying (and `isTrusted` turns false) at the next successful refresh.
 *
 * @example
 * const keys = createRemoteJWKSet('https://auth.example.com/.well-known/jwks.json', { algorithms: ['ES256'] });
 * const verifier = createVerifier({ algorithms: ['ES256'], issuer, audience, keys });
 */
export function createRemoteJWKSet(uri: string | URL, options: RemoteJWKSetOptions = {}): RemoteJWKSet {
  const url = checkEndpoint(uri, 'jwksUri');
  const href = url.href;
  // Errors name the URL and the cause (issue 13), never userinfo or query, never token data.
  const shownURL = displayURL(url);
  const failedFrom = `JWKS fetch from ${shownURL} failed`;
  const timeoutMs = seconds(options.timeout, 5, 'timeout') * 1000;
  const maxBytes = options.maxBytes ?? 512 * 1024;
  if (!Number.isInteger(maxBytes) || maxBytes <= 0)
    throw new InvalidOptions('"maxBytes" must be a positive integer');
  const minAge = seconds(options.minCacheAge, 30, 'minCacheAge');
  const maxAge = seconds(options.maxCacheAge, 3600, 'maxCacheAge');
  if (minAge > maxAge) throw new InvalidOptions('"minCacheAge" must not exceed "maxCacheAge"');
  const defaultAge = seconds(options.defaultCacheAge, 600, 'defaultCacheAge');
  const staleMs = seconds(options.staleIfError, 86400, 'staleIfError') * 1000;
  const cooldownMs =
    typeof options.cooldown === 'object'
      ? 30_000
      : seconds(options.cooldown as number | string | undefined, 30, 'cooldown') * 1000;
  const box = typeof options.cooldown === 'object' ? options.cooldown : createCooldownBox(cooldownMs);
  const failureBackoffMs = Math.min(cooldownMs, 5000);
  const fetcher = options.fetcher ?? createHTTPFetcher();
  const clock = options.clock ?? Date.now;
  const store = options.cache;
  const onEvent = options.onEvent;
  const algorithms = options.algorithms;

  let current: LocalKeySet | undefined;
  // Raw JWK text → imported key, so an unchanged key keeps its identity across refreshes and the
  // verified-token cache does not lose its entries on every refresh.
  let identities = new Map<string, TesseraKey>();
  let etag: string | undefined;
  let lastJWKS: JWKS = { keys: [] };
  let confirmedAt = -Infinity;
  let freshUntil = -Infinity;
  let refreshAt = -Infinity;
  let failing = false;
  let lastError: TesseraError | undefined;
  let lastFailureAt = -Infinity;
  let inflight: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const counters = { fetches: 0, failures: 0, not_modified: 0, skipped_keys: 0, cooldown_rejections: 0 };

  const hardExpiry = () => freshUntil + staleMs;

  function install(jwks: JWKS, confirmed: number, maxAgeMs: number, tag: string | undefined): number {
    const skippedAt = new Set<number>();
    const { keys } = importJWKS(jwks, {
      ...(algorithms && { algorithms }),
      onSkip: (s) => skippedAt.add(s.index),
    });
    // importJWKS keeps the order of the keys it did not skip, so each key's raw JWK is recoverable.
    const next = new Map<string, TesseraKey>();
    const imported: TesseraKey[] = [];
    let k = 0;
    jwks.keys.forEach((jwk, i) => {
      if (skippedAt.has(i)) return;
      const id = JSON.stringify(jwk);
      const chosen = identities.get(id) ?? toPublicKey(keys[k]!);
      k++;
      next.set(id, chosen);
      imported.push(chosen);
    });
    current = keySetFrom(imported);
    identities = next;
    lastJWKS = jwks;
    etag = tag;
    confirmedAt = confirmed;
    freshUntil = confirmed + maxAgeMs;
    refreshAt = confirmed + maxAgeMs * 0.8;
    counters.skipped_keys += skippedAt.size;
    return skippedAt.size;
  }

  function loadStored(): void {
    const entry = store?.get(href);
    if (entry === undefined) return;
    try {
      install(entry.jwks, entry.confirmedAt, entry.maxAgeMs, entry.etag);
    } catch {
      // A corrupt stored set is ignored; the network decides.
    }
  }

  function schedule(): void {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(1000, refreshAt - clock()));
    timer = setTimeout(() => {
      timer = undefined;
      load('refresh').catch(() => {});
    }, delay);
    timer.unref();
  }

  function load(reason: JWKSFetchEvent['reason']): Promise<void> {
    if (inflight === undefined) {
      inflight = fetchOnce(reason).finally(() => {
        inflight = undefined;
      });
    }
    return inflight;
  }

  async function fetchOnce(reason: JWKSFetchEvent['reason']): Promise<void> {
    const started = onEvent ? performance.now() : 0;
    counters.fetches++;
    const headers: Record<string, string> = { accept: 'application/jwk-set+json, application/json' };
    if (etag !== undefined && current !== undefined) headers['if-none-match'] = etag;
    let status: number | undefined;
    try {
      let res;
      try {
        res = await fetcher.fetch(url, { headers, timeoutMs, maxBytes });
      } catch (err) {
        throw new JWKSFetchFailed(`${failedFrom}: ${describeFetchFailure(err, timeoutMs, maxBytes)}`, {
          cause: err,
        });
      }
      status = res.status;
      const now = clock();
      const age =
        Math.min(maxAge, Math.max(minAge, parseMaxAge(res.headers['cache-control']) ?? defaultAge)) * 1000;
      if (res.status === 304 && current !== undefined) {
        counters.not_modified++;
        confirmedAt = now;
        freshUntil = now + age;
        refreshAt = now + age * 0.8;
        store?.set(href, {
          jwks: lastJWKS,
          confirmedAt: now,
          maxAgeMs: age,
          ...(etag !== undefined && { etag }),
        });
        succeed(reason, started, status, true, 0);
        return;
      }
      // 3xx included: redirects are never followed (a JWKS URI that moves is a configuration change).
      if (res.status !== 200) throw new JWKSFetchFailed(`${failedFrom}: HTTP ${res.status}`);
      if (res.body.length > maxBytes)
        throw new JWKSFetchFailed(
          `${failedFrom}: ${describeFetchFailure(new FetchError('too_large', ''), timeoutMs, maxBytes)}`,
        );
      let jwks: JWKS;
      try {
        jwks = parseStrictJSONObject(
          decodeUTF8(res.body, 'JWKS'),
          { maxDepth: MAX_JSON_DEPTH },
          'JWKS',
        ) as unknown as JWKS;
      } catch (err) {
        throw new JWKSInvalid(`JWKS from ${shownURL} is not a JSON object`, { cause: err });
      }
      const tag = res.headers['etag'];
      const skipped = install(jwks, now, age, tag);
      store?.set(href, { jwks, confirmedAt: now, maxAgeMs: age, ...(tag !== undefined && { etag: tag }) });
      succeed(reason, started, status, false, skipped);
    } catch (err) {
      fail(reason, started, status, err);
      throw lastError;
    } finally {
      schedule();
    }
  }

  function succeed(
    reason: JWKSFetchEvent['reason'],
    started: number,
    status: number,
    notModified: boolean,
    skipped: number,
  ) {
    failing = false;
    lastError = undefined;
    if (onEvent) {
      emit(onEvent, {
        type: 'jwks_fetch',
        uri: href,
        ok: true,
        ms: performance.now() - started,
        status,
        reason,
        keys: current?.keys.length ?? 0,
        skipped,
        ...(notModified && { notModified }),
      });
    }
  }

  function fail(reason: JWKSFetchEvent['reason'], started: number, status: number | undefined, err: unknown) {
    const now = clock();
    counters.failures++;
    failing = true;
    lastFailureAt = now;
    lastError = err instanceof TesseraError ? err : new JWKSFetchFailed(undefined, { cause: err });
    // Retry soon, but not in a tight loop.
    refreshAt = now + failureBackoffMs;
    if (onEvent) {
      emit(onEvent, {
        type: 'jwks_fetch',
        uri: href,
        ok: false,
        ms: performance.now() - started,
        reason,
        code: lastError.code,
        ...(status !== undefined && { status }),
      });
      if (current !== undefined && now >= freshUntil) {
        emit(onEvent, {
          type: 'jwks_stale',
          uri: href,
          ageMs: now - confirmedAt,
          usable: now < hardExpiry(),
        });
      }
    }
  }

  function lookupAfterFetch(lookup: KeyLookup): TesseraKey {
    if (current === undefined) throw lastError ?? new JWKSFetchFailed();
    return current.resolve(lookup);
  }

  function waitForSet(lookup: KeyLookup, now: number): Promise<TesseraKey> {
    const hadSet = current !== undefined;
    if (hadSet) {
      // Beyond stale-if-error: the set is no longer trusted at all.
      if (onEvent) emit(onEvent, { type: 'jwks_stale', uri: href, ageMs: now - confirmedAt, usable: false });
      current = undefined;
      identities = new Map();
    }
    if (inflight === undefined && lastError !== undefined && now < lastFailureAt + failureBackoffMs) {
      return Promise.reject(hadSet ? new JWKSStale(undefined, { cause: lastError }) : lastError);
    }
    return load(hadSet ? 'refresh' : 'initial').then(
      () => lookupAfterFetch(lookup),
      (err: unknown) => {
        throw hadSet ? new JWKSStale(undefined, { cause: err }) : err;
      },
    );
  }

  function unknownKid(lookup: KeyLookup, now: number): Promise<TesseraKey> {
    // Join a fetch already in flight: it may bring the key, and it costs nothing extra.
    if (inflight !== undefined)
      return inflight.then(
        () => lookupAfterFetch(lookup),
        () => lookupAfterFetch(lookup),
      );
    if (!box.allows(now)) {
      counters.cooldown_rejections++;
      throw new JWKSCooldown();
    }
    const afterRefetch = (): TesseraKey => {
      try {
        return lookupAfterFetch(lookup);
      } catch (err) {
        // Only a refetch that still did not find the kid starts the cooldown (as aws-jwt-verify's penalty
        // box does): a routine refresh never does, so a key published just after it is found at once,
        // while a flood of random kids still costs at most one request per cooldown.
        box.record(clock());
        throw err;
      }
    };
    return load('unknown_kid').then(afterRefetch, afterRefetch);
  }

  if (store !== undefined) loadStored();

  return {
    uri: href,
    resolve(lookup: KeyLookup): TesseraKey | Promise<TesseraKey> {
      const now = clock();
      if (current === undefined || now >= hardExpiry()) return waitForSet(lookup, now);
      if (now >= refreshAt && inflight === undefined && !closed) load('refresh').catch(() => {});
      try {
        return current.resolve(lookup);
      } catch (err) {
        if (!(err instanceof JWKSNoMatchingKey)) throw err;
        return unknownKid(lookup, now);
      }
    },
    isTrusted(key: TesseraKey): boolean {
      return current !== undefined && current.isTrusted(key) && clock() < hardExpiry();
    },
    refresh(): Promise<void> {
      return load(current === undefined ? 'initial' : 'refresh');
    },
    stats(): JWKSStats {
      const now = clock();
      return {
        uri: href,
        keys: current?.keys.length ?? 0,
        ...counters,
        stale: current !== undefined && failing && now >= freshUntil,
        age_ms: Number.isFinite(confirmedAt) ? now - confirmedAt : -1,
        ...(lastError !== undefined && { last_error: lastError.code }),
      };
    },
    close(): void {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
