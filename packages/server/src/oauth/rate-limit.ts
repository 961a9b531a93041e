import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { rateLimited } from '../server/errors.js';
import { oauthSettings } from './settings.js';

/** The endpoints that count requests; each has its own windows. */
export type LimitedEndpoint = 'token' | 'introspect' | 'revoke' | 'revocations';

/**
 * Count one request against a fixed window in `ctx.ephemeral` (memory, or Redis across instances) and
 * refuse with 429 `slow_down` and `Retry-After` once the window is full.
 *
 * Failure direction: if the ephemeral store errors (Redis down), rate limiting fails OPEN: the request is
 * served and the error logged. Limits protect capacity, not secrets; every request is still authenticated,
 * and refusing all token requests because Redis is down would turn a cache outage into a full outage.
 */
async function countHit(ctx: ServerContext, key: string, limit: number): Promise<void> {
  const { rateLimitWindowMs } = oauthSettings(ctx);
  let result;
  try {
    result = await ctx.ephemeral.hit(key, limit, rateLimitWindowMs);
  } catch (err) {
    ctx.log.warn({ err, limit: key.split(':')[0] }, 'rate limit store unavailable; failing open');
    return;
  }
  if (!result.allowed) throw rateLimited(Math.max(1, result.resetMs / 1000));
}

/**
 * Per-IP limit, checked before client authentication so unauthenticated floods are cut off early.
 *
 * @example
 * await limitByIp(ctx, request, 'token');
 */
export function limitByIp(
  ctx: ServerContext,
  request: FastifyRequest,
  endpoint: LimitedEndpoint,
): Promise<void> | undefined {
  const limit = oauthSettings(ctx).rateLimitPerIp;
  // 0 switches the limit off: nothing to count, and no promise to await.
  return limit > 0 ? countHit(ctx, `rl:ip:${endpoint}:${request.ip}`, limit) : undefined;
}

/**
 * Per-client limit, checked after authentication so nobody can exhaust another client's budget by
 * sending requests in its name.
 *
 * @example
 * await limitByClient(ctx, client.id, 'introspect');
 */
export function limitByClient(
  ctx: ServerContext,
  clientId: string,
  endpoint: LimitedEndpoint,
): Promise<void> | undefined {
  const limit = oauthSettings(ctx).rateLimitPerClient;
  return limit > 0 ? countHit(ctx, `rl:client:${endpoint}:${clientId}`, limit) : undefined;
}
