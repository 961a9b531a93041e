/**
 * What every strategy shares: its name and credential kind, the request it validates, the verdict, and the
 * helpers that turn an SDK error into one. Kept apart from strategies.ts so the builders of the delegated
 * and sender-constrained strategies (strategy-dpop.ts, strategy-exchange.ts) do not import their caller.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { TesseraError } from '@tessera/jwt';
import type { SimIssuer } from './issuer.js';
import type { Percentiles } from './metrics.js';

export const STRATEGY_NAMES = [
  'jwt',
  'jwt-cached',
  'jwt-denylist',
  'jwt-dpop',
  'jwt-exchange',
  'introspect',
  'introspect-cached',
  'session-redis',
  'session-sql',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/**
 * Which credential a strategy is sent: a bearer JWT, a DPoP-bound JWT with its holder's key (the load
 * generator signs a proof per request), an opaque access token, or a session id.
 */
export type CredentialKind = 'jwt' | 'dpop' | 'opaque' | 'session';

export const KIND_OF: Record<StrategyName, CredentialKind> = {
  jwt: 'jwt',
  'jwt-cached': 'jwt',
  'jwt-denylist': 'jwt',
  'jwt-dpop': 'dpop',
  // The user's own bearer JWT: the exchange happens behind the API, not in the client.
  'jwt-exchange': 'jwt',
  introspect: 'opaque',
  'introspect-cached': 'opaque',
  'session-redis': 'session',
  'session-sql': 'session',
};

/**
 * One request as the resource API received it. Most strategies read `credential` alone; DPoP needs the
 * method, the URL the client addressed and the `DPoP` header too (RFC 9449 §4.3: `htm`, `htu`).
 */
export interface SimRequest {
  /** The credential after `Bearer ` or `DPoP ` in the Authorization header; '' when there is none. */
  credential: string;
  method: string;
  /** Absolute URL as the client addressed it: `http://127.0.0.1:PORT/<route>`. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** The verdict of one validation. `code` names the failure; `unavailable` means "could not decide". */
export interface Outcome {
  ok: boolean;
  cacheHit: boolean;
  code?: string;
  unavailable?: boolean;
  /**
   * Work the API does for this request after validation and outside `token_validation_ms` (jwt-exchange:
   * the call to the downstream service). Its verdict replaces this one.
   */
  next?: () => Promise<Outcome>;
}

export interface Strategy {
  name: StrategyName;
  kind: CredentialKind;
  /** The backing store, for the report: `redis`, `sqlite`, `postgresql` or `issuer`. */
  store: string;
  /** Whether a cache exists, so cache_hit_ratio means something (null otherwise). */
  cached: boolean;
  validate(request: SimRequest): Promise<Outcome>;
  /** Calls made to the issuer so far (JWKS, introspection, revocation feed, token exchange). */
  issuerCalls(): number;
  /** Strategy-specific figures for the report (JWKS and feed stats, cache settings). */
  details(): Record<string, unknown>;
  /** Start of a phase: strategies that keep per-phase figures of their own reset them here. */
  beginPhase?(): void;
  /** jwt-exchange: the delegation figures of the phase so far. */
  exchangeFigures?(): ExchangePhaseFigures;
  close(): Promise<void>;
}

/** What jwt-exchange counts during a phase (the report's `exchange` entry is made from it). */
export interface ExchangePhaseFigures {
  exchange_calls: number;
  exchange_failures: number;
  /** Requests served with an exchanged token from the cache. */
  cache_hits: number;
  exchange_ms: Percentiles;
  downstream_calls: number;
  downstream_refused: number;
  downstream_call_ms: Percentiles;
  downstream_validation_ms: Percentiles;
  refresh_margin_s: number;
}

export interface StrategyContext {
  issuer: SimIssuer;
  /** JWKS freshness the verifiers accept from the issuer's max-age (seconds, lower bound). */
  jwksMinCacheAge: number;
  /** Revocation feed poll interval, seconds. */
  pollInterval: number;
  /** Positive answer lifetime of the introspection cache, seconds. */
  introspectionCacheAge: number;
  redisUrl: string;
  /** PostgreSQL URL for session-sql, or undefined for SQLite. */
  postgresUrl: string | undefined;
}

export const OK_MISS: Outcome = { ok: true, cacheHit: false };
export const OK_HIT: Outcome = { ok: true, cacheHit: true };

/** SDK codes that mean "could not decide" (HTTP 503) rather than "refused" (401). */
const UNAVAILABLE_CODES = new Set([
  'ERR_INTROSPECTION_FAILED',
  'ERR_JWKS_FETCH_FAILED',
  'ERR_JWKS_STALE',
  'ERR_REVOCATION_STALE',
  'ERR_DPOP_REPLAY_CHECK_FAILED',
  'ERR_EXCHANGE_UNAVAILABLE',
  'ERR_DOWNSTREAM_UNAVAILABLE',
  'ERR_UNEXPECTED',
]);

/** The verdict for a failed validation: the SDK's code, or ERR_UNEXPECTED for anything else. */
export function failure(err: unknown): Outcome {
  const code = err instanceof TesseraError ? err.code : 'ERR_UNEXPECTED';
  return { ok: false, cacheHit: false, code, unavailable: UNAVAILABLE_CODES.has(code) };
}

/** The verdict for a credential refused with `code`; `unavailable` when the refusal is "could not decide". */
export const rejected = (code: string, unavailable = false): Outcome => ({
  ok: false,
  cacheHit: false,
  code,
  ...(UNAVAILABLE_CODES.has(code) || unavailable ? { unavailable: true } : {}),
});
