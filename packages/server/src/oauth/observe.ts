import type { FastifyRequest } from 'fastify';
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
  ctx.metrics?.tokensIssued.inc({ grant: grantLabel(request, grant), result });
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
  ctx.metrics?.introspections.inc({ result: active ? 'active' : 'inactive', format });
}
