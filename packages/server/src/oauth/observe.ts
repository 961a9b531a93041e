import type { FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import type { ServerContext } from '../server/context.js';
import type { RevocationKind } from '../store/types.js';

const GRANT_LABELS = new Set([
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
  'refresh_token',
]);

/** The grant label of a token request: one we serve, or `other` (labels never carry client input). */
function grantLabel(request: FastifyRequest, grant: string | undefined): string {
  if (grant !== undefined) return grant;
  const body = request.body as { get?: (name: string) => string | undefined } | undefined;
  const requested = typeof body?.get === 'function' ? body.get('grant_type') : undefined;
  return requested !== undefined && GRANT_LABELS.has(requested) ? requested : 'other';
}

const tokenChildren = new WeakMap<Counter<'grant' | 'result'>, Map<string, Counter.Internal>>();

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
  const label = grantLabel(request, grant);
  // One labelled child per (grant, result), kept per counter: labels are bounded (grants we serve or
  // `other`; OAuth error codes), and a cached child skips building a label object on every request.
  let children = tokenChildren.get(counter);
  if (children === undefined) {
    children = new Map();
    tokenChildren.set(counter, children);
  }
  const key = `${label} ${result}`;
  let child = children.get(key);
  if (child === undefined) {
    child = counter.labels(label, result);
    children.set(key, child);
  }
  child.inc();
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
  // Cached labelled children, as for token results: formats and results are fixed sets.
  let children = introspectionChildren.get(counter);
  if (children === undefined) {
    children = new Map();
    introspectionChildren.set(counter, children);
  }
  const result = active ? 'active' : 'inactive';
  const key = `${result} ${format}`;
  let child = children.get(key);
  if (child === undefined) {
    child = counter.labels(result, format);
    children.set(key, child);
  }
  child.inc();
}

const introspectionChildren = new WeakMap<Counter<'result' | 'format'>, Map<string, Counter.Internal>>();
