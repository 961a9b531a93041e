import type { FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import type { ServerContext } from '../server/context.js';
import type { RevocationKind } from '../store/types.js';

const GRANT_LABELS = new Set([
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:token-exchange',
]);

/** The grant label of a token request: one we serve, or `other` (labels never carry client input). */
function grantLabel(request: FastifyRequest, grant: string | undefined): string {
  if (grant !== undefined) return grant;
  const body = request.body as { get?: (name: string) => string | undefined } | undefined;
  const requested = typeof body?.get === 'function' ? body.get('grant_type') : undefined;
  return requested !== undefined && GRANT_LABELS.has(requested) ? requested : 'other';
}

// One labelled child per counter and pair of label values, kept: the labels are bounded sets (grants we
// serve or `other`, OAuth error codes, introspection results and formats), and a cached child skips building
// a label object on every request.
const children = new WeakMap<Counter<string>, Map<string, Counter.Internal>>();

function labelledChild(counter: Counter<string>, a: string, b: string): Counter.Internal {
  let byLabels = children.get(counter);
  if (byLabels === undefined) {
    byLabels = new Map();
    children.set(counter, byLabels);
  }
  const key = `${a} ${b}`;
  let child = byLabels.get(key);
  if (child === undefined) {
    child = counter.labels(a, b);
    byLabels.set(key, child);
  }
  return child;
}

/**
 * Count a token endpoint outcome: `success` or the OAuth error code.
 *
 * @example
 * recordTokenResult(ctx, request, 'success', 'client_credentials');
 */
export function recordTokenResult(
  ctx: ServerContext,
  request: FastifyRequest,
  result: string,
  grant?: string,
): void {
  const counter = ctx.metrics?.tokensIssued;
  if (counter === undefined) return;
  labelledChild(counter, grantLabel(request, grant), result).inc();
}

/** Count one refresh-token reuse detection. */
export function recordRefreshReuse(ctx: ServerContext): void {
  ctx.metrics?.refreshReuse.inc();
}

/** Count one revocation by kind (jti, sub, kid, refresh_family, opaque). */
export function recordRevocation(
  ctx: ServerContext,
  kind: RevocationKind | 'refresh_family' | 'opaque',
): void {
  ctx.metrics?.revocations.inc({ kind });
}

/** Count one introspection by result and token format. */
export function recordIntrospection(ctx: ServerContext, active: boolean, format: string): void {
  const counter = ctx.metrics?.introspections;
  if (counter === undefined) return;
  labelledChild(counter, active ? 'active' : 'inactive', format).inc();
}
