/**
 * Key-change push between instances. Polling (every reload interval) is the guarantee the lifecycle timings
 * are built on; with Redis configured, a change is also announced on `tessera:keys` so other instances
 * reload at once instead of at their next poll. A lost message costs nothing but that speed-up.
 */
import type { Redis } from 'ioredis';

/** The key-change channel for a Redis prefix (`--redis-prefix`). */
export const keyChannel = (prefix: string): string => `${prefix}keys`;

export const KEY_CHANNEL = keyChannel('tessera:');

export interface KeyChangeNotifier {
  /** Tell other instances the key set changed. Never throws: push is best effort. */
  publish(): Promise<void>;
  /** Call `onChange` whenever another instance or the CLI announces a change. */
  subscribe(onChange: () => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * A notifier over Redis pub/sub; the message carries only the sender's id, never key material.
 *
 * @example
 * const notifier = await openRedisKeyNotifier('redis://127.0.0.1:6379', instanceId);
 * await notifier.subscribe(() => void keys.reload());
 */
export async function openRedisKeyNotifier(
  url: string,
  senderId: string,
  prefix = 'tessera:',
): Promise<KeyChangeNotifier> {
  const channel = keyChannel(prefix);
  const { openRedisClient } = await import('../store/redis-ephemeral.js');
  const pub: Redis = await openRedisClient(url);
  let sub: Redis | undefined;
  return {
    async publish() {
      await pub.publish(channel, senderId).catch(() => undefined);
    },
    async subscribe(onChange) {
      // A subscribed connection can run no other commands, hence a second client.
      sub = await openRedisClient(url, { enableOfflineQueue: true, commandTimeout: undefined });
      sub.on('message', (_channel: string, sender: string) => {
        if (sender !== senderId) onChange();
      });
      await sub.subscribe(channel);
    },
    async close() {
      sub?.disconnect();
      pub.disconnect();
    },
  };
}
