/** The shape of a simulation report (`--json`), shared by the runner, the table and the HTML page. */
import type { Percentiles, SeriesPoint } from './metrics.js';
import type { ScenarioName } from './scenarios.js';
import type { SkippedStrategy, StrategyName } from './strategies.js';

/** How long after revocation a strategy first refused each revoked credential. */
export interface RevocationFigures {
  revoked: number;
  /** Revoked credentials the strategy refused before the run ended. */
  rejected: number;
  /** Lag percentiles over the rejected ones (ms); null when none was rejected. */
  lag_ms: { p50: number; max: number } | null;
  /** Credentials still accepted at the end of the run. */
  never: number;
  /** For those: seconds each still had to live (min over them): how long a stolen token keeps working. */
  remaining_lifetime_s: number | null;
  /** Requests the load sent with a revoked credential that were still accepted. */
  accepted_after_revocation: number;
}

/**
 * jwt-exchange: the cost of delegation beyond `token_validation_ms`. The exchange calls are inside
 * `token_validation_ms` (a miss waits for one); the downstream call and the downstream's own validation
 * are not, and are here.
 */
export interface ExchangeFigures {
  /** RFC 8693 calls to the issuer's token endpoint during the phase (also counted in issuer_calls). */
  exchange_calls: number;
  exchange_calls_per_request: number;
  exchange_failures: number;
  /** Requests served with an exchanged token from the cache / requests (= the row's cache_hit_ratio). */
  exchanged_token_hit_ratio: number;
  /** One exchange call, round trip (the misses' share of token_validation_ms). */
  exchange_ms: Percentiles;
  /** The API's call to the downstream service, round trip, including the downstream's validation. */
  downstream_call_ms: Percentiles;
  /** The downstream service's own validation of the exchanged token. */
  downstream_validation_ms: Percentiles;
  downstream_calls: number;
  downstream_refused: number;
  /** Seconds before expiry an exchanged token stops being reused. */
  refresh_margin_s: number;
}

export interface StrategyReport {
  name: StrategyName;
  /** Where the validation looks: issuer (JWKS/introspection), redis, sqlite, postgresql. */
  store: string;
  /** Bloat scenario: the token-size tier (`300B`, `1KiB`, `4KiB`). */
  token_size?: string;
  /** Mean length of the credential itself (characters = bytes, all ASCII). */
  credential_bytes: number;
  token_validation_ms: Percentiles;
  /** End-to-end latency seen by the load generator (autocannon). */
  latency_ms: { p50: number; p97_5: number; p99: number; max: number; mean: number };
  throughput_rps: number;
  /** Mean bytes of the credential's header lines per request: `Authorization: …`, plus `DPoP: …` for jwt-dpop. */
  payload_size_bytes: number;
  /** Request line + headers, all requests of the phase. */
  bytes_sent_total: number;
  bytes_sent_per_request: number;
  /**
   * Cache hits / requests for the cached strategies (jwt-cached, introspect-cached; jwt-exchange: requests
   * served with a cached exchanged token); null otherwise.
   */
  cache_hit_ratio: number | null;
  requests: number;
  /** Requests refused or not decided (a revoked credential refused in the revocation scenario is not one). */
  errors: number;
  /** Of those, the ones where validation could not decide (issuer or store unreachable, timeout): HTTP 503. */
  errors_unavailable: number;
  error_rate: number;
  issuer_calls: number;
  issuer_calls_per_request: number;
  timeseries: SeriesPoint[];
  details: Record<string, unknown>;
  /** jwt-exchange only. */
  exchange?: ExchangeFigures;
  /** idp-outage */
  errors_before_outage?: number;
  errors_after_outage?: number;
  error_rate_after_outage?: number;
  /** rotation: every credential sent was valid, so every 401 is a rejected valid token (503s are counted apart). */
  rejected_valid_tokens?: number;
  /** revocation */
  revocation?: RevocationFigures;
}

export interface SimulationReport {
  scenario: ScenarioName;
  command: string;
  started_at: string;
  finished_at: string;
  /** The machine, and its 1/5/15-minute load average when the run started (other work skews the figures). */
  machine: {
    cpus: number;
    cpu_model: string;
    node: string;
    platform: string;
    load_average_at_start: number[];
  };
  settings: {
    strategies: StrategyName[];
    duration_s: number | null;
    requests: number | null;
    connections: number;
    users: number;
    /** sequential: one strategy at a time with every connection; concurrent: all at once, connections split. */
    mode: 'sequential' | 'concurrent';
    jwks_max_age_s: number;
    revocation_poll_interval_s: number;
    introspection_cache_age_s: number;
    access_token_ttl_s: number;
  };
  issuer: { url: string; store: 'sqlite' };
  skipped: SkippedStrategy[];
  strategies: StrategyReport[];
  /** idp-outage: seconds into the run when the issuer was stopped. */
  outage_at_s?: number;
  /** rotation: each rotation, seconds into the run, and the key that signs from then on. */
  rotations?: Array<{ at_s: number; kid: string }>;
  /** revocation: seconds into the run when the first revocation was sent (the others follow, spread over one feed poll interval). */
  revoked_at_s?: number;
  /** bloat: per size tier, the mean JWT size. */
  bloat?: Array<{ token_size: string; target_bytes: number; jwt_bytes: number }>;
}
