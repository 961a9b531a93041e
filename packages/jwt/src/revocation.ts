import { toSeconds } from './duration.js';
import { InvalidOptions, RevocationStale, TokenRevoked } from './errors.js';
import { emit, type EventListener, type RevocationStats } from './events.js';
import { basicAuthorization, checkEndpoint, createHTTPFetcher, type Fetcher } from './http-fetch.js';
import type { Clock, JWSHeader, JWTPayload, TesseraKey } from './types.js';

/** One entry of the revocation feed (docs/revocation.md), pulled or pushed. Times in seconds. */
export interface RevocationEntry {
  seq: number;
  /** `client`: every token whose `client_id` is `value` and whose `iat` is at or before `revoked_at`. */
  type: 'jti' | 'sub' | 'kid' | 'client';
  value: string;
  /** When the entry stops mattering: the latest `exp` an affected token can have. */
  exp: number;
  revoked_at: number;
}

/** A deny-list the verifier consults after the signature and claims held, and on every cache hit. */
export interface RevocationSource {
  /** Throw TokenRevoked (or RevocationStale under fail-closed) to refuse; synchronous and O(1). */
  check(payload: JWTPayload, header: JWSHeader, key: TesseraKey): void;
  stats?(): RevocationStats;
  close?(): void;
}

/**
 * A push channel (Redis pub/sub in the scale-out deployment). `subscribe` delivers each published entry to
 * `onEntry` and calls `onReconnect` after every (re)connection, upon which the list pulls from its cursor,
 * so nothing published while disconnected is lost. Returns an unsubscribe function.
 */
export interface RevocationTransport {
  subscribe(onEntry: (entry: unknown) => void, onReconnect: () => void): () => void;
}

/** Options for createRevocationList. Durations are seconds or strings such as "30s". */
export interface RevocationListOptions {
  /** The pull endpoint, e.g. https://auth.example.com/oauth/revocations. */
  feedUrl: string | URL;
  clientId: string;
  clientSecret: string;
  /** What to do when the data is older than `staleAfter`: reject everything, or accept and report. No default. */
  policy: 'fail-closed' | 'fail-open';
  /** Pull interval. Default 30 s. */
  pollInterval?: number | string;
  /** The data counts as stale when the last successful pull is older than this. Default 3 × pollInterval. */
  staleAfter?: number | string;
  /** Page size asked for (`limit`). Default 1000. */
  pageSize?: number;
  transport?: RevocationTransport;
  /** Request timeout. Default 5 s. */
  timeout?: number | string;
  fetcher?: Fetcher;
  clock?: Clock;
  onEvent?: EventListener;
}

/** A revocation list fed by the authorization server. */
export interface RevocationList extends RevocationSource {
  /** Resolves after the first successful pull (rejects if it fails). */
  ready(): Promise<void>;
  /** Pull now, following `more` pages (joins a pull in flight). */
  sync(): Promise<void>;
  stats(): RevocationStats;
  close(): void;
}

const TYPES = new Set(['jti', 'sub', 'kid', 'client']);
const MAX_VALUE_LENGTH = 1024;
const MAX_PAGES_PER_SYNC = 1000;

/** Validate one entry from the wire; a malformed entry is ignored rather than trusted. */
function parseEntry(raw: unknown): RevocationEntry | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as Record<string, unknown>;
  if (typeof e.type !== 'string' || !TYPES.has(e.type)) return undefined;
  if (typeof e.value !== 'string' || e.value.length === 0 || e.value.length > MAX_VALUE_LENGTH)
    return undefined;
  if (typeof e.exp !== 'number' || !Number.isFinite(e.exp)) return undefined;
  const seq = typeof e.seq === 'number' && Number.isSafeInteger(e.seq) ? e.seq : 0;
  const revokedAt =
    typeof e.revoked_at === 'number' && Number.isFinite(e.revoked_at) ? e.revoked_at : Infinity;
  return { seq, type: e.type as RevocationEntry['type'], value: e.value, exp: e.exp, revoked_at: revokedAt };
}

/** The in-memory sets behind every revocation source. */
class DenySet {
  readonly jti = new Map<string, number>();
  readonly kid = new Map<string, number>();
  readonly sub = new Map<string, { revokedAt: number; exp: number }>();
  /** Deleted clients (the server cannot list every JWT it issued to one): by `client_id`. */
  readonly client = new Map<string, { revokedAt: number; exp: number }>();

  get size(): number {
    return this.jti.size + this.kid.size + this.sub.size + this.client.size;
  }

  add(e: RevocationEntry, nowSec: number): boolean {
    if (e.exp <= nowSec) return false;
    if (e.type === 'jti') this.jti.set(e.value, Math.max(e.exp, this.jti.get(e.value) ?? 0));
    else if (e.type === 'kid') this.kid.set(e.value, Math.max(e.exp, this.kid.get(e.value) ?? 0));
    else {
      const map = e.type === 'sub' ? this.sub : this.client;
      const prev = map.get(e.value);
      // A later revocation of the same subject or client covers more tokens: keep the latest instant and exp.
      map.set(e.value, {
        revokedAt: Math.max(e.revoked_at, prev?.revokedAt ?? -Infinity),
        exp: Math.max(e.exp, prev?.exp ?? 0),
      });
    }
    return true;
  }

  /** Drop entries whose `exp` has passed: the tokens they deny have expired anyway. */
  prune(nowSec: number): void {
    for (const [k, exp] of this.jti) if (exp <= nowSec) this.jti.delete(k);
    for (const [k, exp] of this.kid) if (exp <= nowSec) this.kid.delete(k);
    for (const [k, v] of this.sub) if (v.exp <= nowSec) this.sub.delete(k);
    for (const [k, v] of this.client) if (v.exp <= nowSec) this.client.delete(k);
  }

  clear(): void {
    this.jti.clear();
    this.kid.clear();
    this.sub.clear();
    this.client.clear();
  }

  /** Whether the token is denied. At most four Map lookups. */
  denies(payload: JWTPayload, header: JWSHeader, key: TesseraKey): boolean {
    const { jti, sub, iat } = payload;
    if (jti !== undefined && this.jti.has(jti)) return true;
    if (this.kid.size !== 0) {
      if (header.kid !== undefined && this.kid.has(header.kid)) return true;
      if (key.kid !== undefined && this.kid.has(key.kid)) return true;
    }
    if (sub !== undefined && this.sub.size !== 0) {
      const s = this.sub.get(sub);
      // Every token of the subject issued at or before the revocation; without iat, no proof it is newer.
      if (s !== undefined && (typeof iat !== 'number' || iat <= s.revokedAt)) return true;
    }
    if (this.client.size !== 0) {
      const clientId = payload.client_id;
      const c = typeof clientId === 'string' ? this.client.get(clientId) : undefined;
      // A deleted client (issue 12 #6): its tokens up to the deletion; a client recreated later under the
      // same id issues tokens with a later iat, which pass.
      if (c !== undefined && (typeof iat !== 'number' || iat <= c.revokedAt)) return true;
    }
    return false;
  }
}

/** What createStaticRevocationList accepts: entries, or bare jti strings. */
export type StaticRevocationInput = ReadonlyArray<Omit<RevocationEntry, 'seq'> | string>;

/** A fixed or hand-fed deny-list (tests, or a service that learns revocations another way). */
export interface StaticRevocationList extends RevocationSource {
  /** Add an entry (a bare string is a `jti` that never expires). */
  add(entry: Omit<RevocationEntry, 'seq'> | string): void;
  stats(): RevocationStats;
}

/**
 * An in-memory deny-list that never goes stale.
 *
 * @example const revocations = createStaticRevocationList(['3f1c…']); // jti values
 */
export function createStaticRevocationList(
  entries: StaticRevocationInput = [],
  options: { clock?: Clock } = {},
): StaticRevocationList {
  const set = new DenySet();
  const clock = options.clock ?? Date.now;
  let revoked = 0;
  const add = (e: Omit<RevocationEntry, 'seq'> | string) => {
    // A bare string is a jti revoked for good; an entry object is validated like one from the wire.
    const parsed =
      typeof e === 'string' && e !== ''
        ? { seq: 0, type: 'jti' as const, value: e, exp: Infinity, revoked_at: 0 }
        : parseEntry(e);
    if (parsed === undefined) throw new InvalidOptions('invalid revocation entry');
    set.add(parsed, Math.floor(clock() / 1000));
  };
  entries.forEach(add);
  return {
    add,
    check(payload, header, key) {
      if (set.size !== 0 && set.denies(payload, header, key)) {
        revoked++;
        throw new TokenRevoked();
      }
    },
    stats: () => ({
      size: set.size,
      cursor: 0,
      pulls: 0,
      failures: 0,
      pushed: 0,
      lag_ms: 0,
      stale: false,
      revoked,
      fail_open_accepts: 0,
    }),
  };
}

/**
 * A revocation list that pulls the authorization server's feed (docs/revocation.md) with its cursor,
 * optionally also fed by a push transport, and keeps jti/sub/kid deny-sets in memory whose entries leave at
 * their `exp`. `check` is synchronous and O(1). When the last successful pull is older than `staleAfter`,
 * `fail-closed` rejects every token with RevocationStale and `fail-open` accepts and reports a
 * `revocation_fail_open` event; the policy has no default, it must be chosen.
 *
 * @example
 * const revocations = createRevocationList({
 *   feedUrl: 'https://auth.example.com/oauth/revocations', clientId: 'orders-api', clientSecret,
 *   policy: 'fail-closed', pollInterval: '15s',
 * });
 * await revocations.ready();
 * const verifier = createVerifier({ ...options, revocations });
 */
export function createRevocationList(options: RevocationListOptions): RevocationList {
  if (typeof options !== 'object' || options === null) throw new InvalidOptions('options are required');
  const url = checkEndpoint(options.feedUrl, 'feedUrl');
  if (typeof options.clientId !== 'string' || options.clientId === '')
    throw new InvalidOptions('"clientId" is required');
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '')
    throw new InvalidOptions('"clientSecret" is required');
  if (options.policy !== 'fail-closed' && options.policy !== 'fail-open') {
    throw new InvalidOptions('"policy" is required: "fail-closed" or "fail-open"');
  }
  const failClosed = options.policy === 'fail-closed';
  const pollMs = toSeconds(options.pollInterval ?? 30, 'pollInterval') * 1000;
  if (pollMs < 100) throw new InvalidOptions('"pollInterval" is too short');
  const staleMs =
    options.staleAfter === undefined ? 3 * pollMs : toSeconds(options.staleAfter, 'staleAfter') * 1000;
  const timeoutMs = toSeconds(options.timeout ?? 5, 'timeout') * 1000;
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
    throw new InvalidOptions('"pageSize" must be 1…1000');
  const fetcher = options.fetcher ?? createHTTPFetcher();
  const clock = options.clock ?? Date.now;
  const onEvent = options.onEvent;
  const authorization = basicAuthorization(options.clientId, options.clientSecret);

  const set = new DenySet();
  let cursor = 0;
  let lastSync = -Infinity;
  // Until the first pull succeeds the list knows nothing: stale by definition.
  let staleAt = -Infinity;
  let inflight: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let announcedStale = false;
  const counters = { pulls: 0, failures: 0, pushed: 0, revoked: 0, fail_open_accepts: 0 };

  async function pullPage(
    since: number,
  ): Promise<{ cursor: number; more: boolean; reset: boolean; entries: unknown[] }> {
    const target = new URL(url);
    target.searchParams.set('since', String(since));
    target.searchParams.set('limit', String(pageSize));
    const res = await fetcher.fetch(target, {
      headers: { accept: 'application/json', authorization },
      timeoutMs,
      maxBytes: 4 * 1024 * 1024,
    });
    if (res.status !== 200) throw new Error(`revocation feed answered ${res.status}`);
    const body = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || !Array.isArray(body.entries))
      throw new Error('malformed revocation feed page');
    const next = typeof body.cursor === 'number' && Number.isSafeInteger(body.cursor) ? body.cursor : since;
    return { cursor: next, more: body.more === true, reset: body.reset === true, entries: body.entries };
  }

  async function pullAll(): Promise<void> {
    const started = onEvent ? performance.now() : 0;
    counters.pulls++;
    let applied = 0;
    let wasReset = false;
    try {
      for (let page = 0; page < MAX_PAGES_PER_SYNC; page++) {
        const r = await pullPage(cursor);
        if (r.reset) {
          // The server's log was replaced: our set and cursor mean nothing any more.
          if (wasReset) throw new Error('revocation feed reset twice in one sync');
          wasReset = true;
          set.clear();
          cursor = 0;
          continue;
        }
        const nowSec = Math.floor(clock() / 1000);
        for (const raw of r.entries) {
          const e = parseEntry(raw);
          if (e !== undefined && set.add(e, nowSec)) applied++;
        }
        const before = cursor;
        cursor = Math.max(cursor, r.cursor);
        if (!r.more) break;
        // `more` without progress would loop forever against a broken server.
        if (cursor === before) throw new Error('revocation feed reported more pages without advancing');
      }
      const now = clock();
      set.prune(Math.floor(now / 1000));
      lastSync = now;
      staleAt = now + staleMs;
      announcedStale = false;
      if (onEvent) {
        emit(onEvent, {
          type: 'revocation_sync',
          ok: true,
          applied,
          size: set.size,
          cursor,
          ms: performance.now() - started,
          ...(wasReset && { reset: true }),
        });
        emit(onEvent, { type: 'revocation_lag', lagMs: 0, stale: false });
      }
    } catch (err) {
      counters.failures++;
      if (onEvent) {
        const now = clock();
        emit(onEvent, {
          type: 'revocation_sync',
          ok: false,
          applied,
          size: set.size,
          cursor,
          ms: performance.now() - started,
        });
        emit(onEvent, {
          type: 'revocation_lag',
          lagMs: Number.isFinite(lastSync) ? now - lastSync : -1,
          stale: now >= staleAt,
        });
      }
      throw err;
    }
  }

  function sync(): Promise<void> {
    if (inflight === undefined) {
      inflight = pullAll().finally(() => {
        inflight = undefined;
      });
    }
    return inflight;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      sync()
        .catch(() => {})
        .finally(schedule);
    }, pollMs);
    timer.unref();
  }

  const unsubscribe = options.transport?.subscribe(
    (raw) => {
      const e = parseEntry(raw);
      // Pushed entries are applied at once; the cursor advances only by pulls, so a gap is never skipped.
      if (e !== undefined && set.add(e, Math.floor(clock() / 1000))) counters.pushed++;
    },
    () => {
      sync().catch(() => {});
    },
  );

  sync().catch(() => {});
  schedule();

  return {
    check(payload: JWTPayload, header: JWSHeader, key: TesseraKey): void {
      if (set.size !== 0 && set.denies(payload, header, key)) {
        counters.revoked++;
        throw new TokenRevoked();
      }
      if (clock() >= staleAt) {
        if (failClosed) throw new RevocationStale();
        counters.fail_open_accepts++;
        if (onEvent) {
          const lagMs = Number.isFinite(lastSync) ? clock() - lastSync : -1;
          if (!announcedStale) {
            announcedStale = true;
            emit(onEvent, { type: 'revocation_lag', lagMs, stale: true });
          }
          emit(onEvent, { type: 'revocation_fail_open', lagMs });
        }
      }
    },
    ready(): Promise<void> {
      return Number.isFinite(lastSync) ? Promise.resolve() : (inflight ?? sync());
    },
    sync,
    stats(): RevocationStats {
      const now = clock();
      return {
        size: set.size,
        cursor,
        ...counters,
        lag_ms: Number.isFinite(lastSync) ? now - lastSync : -1,
        stale: now >= staleAt,
      };
    },
    close(): void {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      unsubscribe?.();
    },
  };
}
