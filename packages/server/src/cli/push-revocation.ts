import type { ServerConfig } from '../server/config.js';
import type { RevocationRecord } from '../store/types.js';
import type { CommandIO } from './main.js';

/**
 * With `--redis`, push a deny-list entry a command wrote on `<prefix>revocations`, as the server does for a
 * revoked token, so subscribed verifiers act at once instead of at their next pull. Best effort: the entry
 * is in the store, and the pull feed delivers it anyway.
 *
 * @example await pushRevocation(io, config, record); // after `clients delete` or `keys revoke`
 */
export async function pushRevocation(
  io: CommandIO,
  config: ServerConfig,
  record: RevocationRecord,
): Promise<void> {
  if (!config.redis) return;
  try {
    const { revocationChannel, toFeedEntry } = await import('../oauth/revocation-feed.js');
    const { openRedisClient } = await import('../store/redis-ephemeral.js');
    const redis = await openRedisClient(config.redis);
    try {
      await redis.publish(revocationChannel(config.redisPrefix), JSON.stringify(toFeedEntry(record)));
    } finally {
      redis.disconnect();
    }
  } catch (err) {
    io.stderr.write(
      `tessera: warning: could not push the revocation through Redis (verifiers still pull it): ${(err as Error).message}\n`,
    );
  }
}
