import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { invalidRequest } from '../server/errors.js';
import type { RevocationRecord } from '../store/types.js';
import { authenticateBasicClient } from './client-auth.js';
import { limitByClient, limitByIp } from './rate-limit.js';

/** The Redis channel every new deny-list entry is published on (docs/revocation.md "Push"). */
/** The pub/sub channel of new deny-list entries for a Redis prefix (`--redis-prefix`). */
export const revocationChannel = (prefix: string): string => `${prefix}revocations`;

/** The channel with the default prefix, which the SDK's Redis transport subscribes to by default. */
export const REVOCATION_CHANNEL = revocationChannel('tessera:');

/** Page size bounds of the pull feed (docs/revocation.md). */
export const FEED_DEFAULT_LIMIT = 1000;
export const FEED_MAX_LIMIT = 1000;

/** One element of the feed's `entries`, and the message published on Redis. */
export interface RevocationFeedEntry {
  seq: number;
  type: RevocationRecord['kind'];
  value: string;
  /** Seconds: when the entry stops mattering. */
  exp: number;
  /** Seconds. */
  revoked_at: number;
}

export interface RevocationFeedPage {
  cursor: number;
  more: boolean;
  reset: boolean;
  now: number;
  entries: RevocationFeedEntry[];
}

/** Anything with a Redis-style `publish`; ioredis fits. */
export interface RevocationPublisher {
  publish(channel: string, message: string): Promise<unknown> | unknown;
}

/** The wire form of a stored entry. */
export function toFeedEntry(record: RevocationRecord): RevocationFeedEntry {
  return {
    seq: record.seq,
    type: record.kind,
    value: record.value,
    exp: Math.ceil(record.expiresAt / 1000),
    revoked_at: Math.floor(record.revokedAt / 1000),
  };
}

/**
 * The publisher of a context, if it has one: `ctx.revocationPublisher`, or `ctx.redis` when that has a
 * `publish` method. Without Redis there is none and publishing is a no-op (verifiers pull the feed).
 */
function publisherOf(ctx: ServerContext): RevocationPublisher | undefined {
  const extra = ctx as ServerContext & { revocationPublisher?: unknown; redis?: unknown };
  for (const candidate of [extra.revocationPublisher, extra.redis]) {
    if (candidate && typeof (candidate as RevocationPublisher).publish === 'function') {
      return candidate as RevocationPublisher;
    }
  }
  return undefined;
}

/**
 * Push a new deny-list entry to subscribed verifiers (Redis pub/sub, channel `tessera:revocations`). Best
 * effort: a failed publish is logged, never thrown — the entry is already in the store, and verifiers catch
 * up from the pull feed on reconnect, so nothing is lost.
 *
 * @example
 * publishRevocation(ctx, await ctx.store.addRevocation({ kind: 'jti', value: jti, expiresAt, revokedAt }));
 */
export async function publishRevocation(ctx: ServerContext, record: RevocationRecord): Promise<void> {
  const publisher = publisherOf(ctx);
  if (!publisher) return;
  try {
    await publisher.publish(revocationChannel(ctx.config.redisPrefix), JSON.stringify(toFeedEntry(record)));
  } catch (err) {
    ctx.log.warn(
      { err, seq: record.seq },
      'revocation publish failed; verifiers will catch up from the feed',
    );
  }
}

/** A query parameter as a non-negative integer; absent gives the default, anything else is invalid_request. */
function integerParam(query: unknown, name: string, fallback: number): number {
  const raw = (query as Record<string, unknown> | undefined)?.[name];
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw))
    throw invalidRequest(`"${name}" must be a non-negative integer`);
  return Number(raw);
}

/**
 * `GET /oauth/revocations?since=SEQ&limit=N` exactly as docs/revocation.md specifies: rate-limited per IP and
 * per client, Basic-authenticated,
 * entries after `since` in seq order (at most `limit`, default and maximum 1000), `more` when another page
 * waits, `reset` when `since` is ahead of the store's log.
 *
 * @example
 * const page = await serveRevocationFeed(ctx, request);
 */
export async function serveRevocationFeed(
  ctx: ServerContext,
  request: FastifyRequest,
): Promise<RevocationFeedPage> {
  // Issue 12: the feed is Basic-authenticated like the other endpoints, so it is rate-limited like them —
  // per IP before authentication (a wrong-secret flood is cut off), per client after.
  const ipLimit = limitByIp(ctx, request, 'revocations');
  if (ipLimit !== undefined) await ipLimit;
  const client = await authenticateBasicClient(ctx, request);
  const clientLimit = limitByClient(ctx, client.id, 'revocations');
  if (clientLimit !== undefined) await clientLimit;
  const since = integerParam(request.query, 'since', 0);
  const limit = Math.min(integerParam(request.query, 'limit', FEED_DEFAULT_LIMIT), FEED_MAX_LIMIT);
  if (limit < 1) throw invalidRequest('"limit" must be at least 1');
  const now = ctx.clock();
  const latest = await ctx.store.latestRevocationSeq();
  const page: RevocationFeedPage = {
    cursor: since,
    more: false,
    reset: false,
    now: Math.floor(now / 1000),
    entries: [],
  };
  if (since > latest) {
    page.reset = true;
    return page;
  }
  const records = await ctx.store.listRevocations(since, limit + 1, now);
  page.more = records.length > limit;
  page.entries = records.slice(0, limit).map(toFeedEntry);
  if (page.entries.length > 0) page.cursor = page.entries[page.entries.length - 1]!.seq;
  return page;
}
