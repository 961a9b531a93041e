/**
 * Prometheus metrics: one prom-client Registry per server (never the global one, so two servers in one
 * test process do not share counters). Other modules increment through the typed fields of ServerMetrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KeyRecord } from '../store/types.js';

export interface ServerMetrics {
  readonly registry: Registry;
  /** `metrics.tokensIssued.inc({ grant: 'client_credentials', result: 'success' })`; result is an OAuth error code otherwise. */
  readonly tokensIssued: Counter<'grant' | 'result'>;
  /** Observed by the onResponse hook in app.ts. */
  readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
  /** Refresh-token reuse detections (each revokes a family). */
  readonly refreshReuse: Counter<never>;
  /** Revocations by kind: jti, sub, kid, refresh_family, opaque. */
  readonly revocations: Counter<'kind'>;
  /** JWKS responses by status (200, 304). */
  readonly jwksRequests: Counter<'status'>;
  /** Introspection requests by result (active, inactive) and token format. */
  readonly introspections: Counter<'result' | 'format'>;
  /** Sign-in attempts by result: success, failure, throttled, disabled. */
  readonly signIns: Counter<'result'>;
  /**
   * Sign-ins through an upstream identity provider, by provider id and result: linked, provisioned,
   * link_pending, or a failure reason (an ERR_UPSTREAM_* code, domain_not_allowed, …).
   */
  readonly federatedSignIns: Counter<'idp' | 'result'>;
  /** Passkey sign-ins by result: success, throttled, or the refusal's reason (counter_regressed, …). */
  readonly passkeySignIns: Counter<'result'>;
  /** Authorization requests by outcome: code, login, consent, or the OAuth error code sent back. */
  readonly authorizations: Counter<'result'>;
  /** Sessions ended by reason: logout, user_deleted, user_disabled. */
  readonly sessionsEnded: Counter<'reason'>;
  /** Tell the key gauges where to read the current key records (set by the key manager). */
  observeKeys(source: () => readonly KeyRecord[]): void;
  /** Prometheus text exposition. */
  render(): Promise<string>;
}

/**
 * Create the registry and every metric.
 *
 * @example
 * const metrics = createMetrics({ clock: Date.now });
 * metrics.tokensIssued.inc({ grant: 'refresh_token', result: 'invalid_grant' });
 */
export function createMetrics(
  options: { clock?: () => number; defaultMetrics?: boolean } = {},
): ServerMetrics {
  const clock = options.clock ?? Date.now;
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'tessera_' });
  let keySource: () => readonly KeyRecord[] = () => [];

  const tokensIssued = new Counter({
    name: 'tessera_tokens_issued_total',
    help: 'Token endpoint outcomes by grant type and result (success or the OAuth error code).',
    labelNames: ['grant', 'result'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP request latency by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const refreshReuse = new Counter({
    name: 'tessera_refresh_reuse_detected_total',
    help: 'Refresh tokens presented after they were used (the family was revoked).',
    registers: [registry],
  });
  const revocations = new Counter({
    name: 'tessera_revocations_total',
    help: 'Revocations by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const jwksRequests = new Counter({
    name: 'tessera_jwks_requests_total',
    help: 'JWKS responses by status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const signIns = new Counter({
    name: 'tessera_signins_total',
    help: 'Sign-in attempts by result (success, failure, throttled, disabled).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const federatedSignIns = new Counter({
    name: 'tessera_federated_signins_total',
    help: 'Sign-ins through an upstream identity provider, by provider and result (or failure reason).',
    labelNames: ['idp', 'result'] as const,
    registers: [registry],
  });
  const passkeySignIns = new Counter({
    name: 'tessera_passkey_signins_total',
    help: 'Passkey sign-ins by result (success, throttled, or why one was refused).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const authorizations = new Counter({
    name: 'tessera_authorizations_total',
    help: 'Authorization requests by outcome (code, login, consent, or the OAuth error code).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const sessionsEnded = new Counter({
    name: 'tessera_sessions_ended_total',
    help: 'Sign-in sessions ended, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const introspections = new Counter({
    name: 'tessera_introspections_total',
    help: 'Introspection requests by result and token format.',
    labelNames: ['result', 'format'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'tessera_keys',
    help: 'Signing keys by state and algorithm.',
    labelNames: ['state', 'alg'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const k of keySource()) this.inc({ state: k.state, alg: k.alg });
    },
  });
  new Gauge({
    name: 'tessera_key_age_seconds',
    help: 'Age of each key since it entered its current state.',
    labelNames: ['kid', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const now = clock();
      for (const k of keySource()) {
        const since = {
          next: k.publishedAt,
          current: k.activatedAt,
          retired: k.retiredAt,
          revoked: k.revokedAt,
        }[k.state];
        this.set({ kid: k.kid, state: k.state }, Math.max(0, (now - (since ?? k.createdAt)) / 1000));
      }
    },
  });

  return {
    registry,
    tokensIssued,
    httpDuration,
    refreshReuse,
    revocations,
    jwksRequests,
    introspections,
    signIns,
    federatedSignIns,
    passkeySignIns,
    authorizations,
    sessionsEnded,
    observeKeys(source) {
      keySource = source;
    },
    render: () => registry.metrics(),
  };
}
