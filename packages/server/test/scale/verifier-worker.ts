/**
 * A verifier in its own process, for revocation-latency.test.ts: a resource service's @tessera/jwt verifier
 * (remote JWKS, revocation list pulled every second and fed by the Redis push transport). The parent sends
 * tokens to watch over IPC; the worker verifies every watched token in a tight loop (one pass per
 * setImmediate turn, so the Redis socket and the pull timer still get their turn) and reports the wall-clock
 * time at which each one is first rejected as revoked.
 *
 * argv: a JSON object { issuer, audience, jwksUri, feedUrl, clientId, clientSecret, redisUrl }.
 */
import { setPriority } from 'node:os';
import { TEST_REVOCATION_CHANNEL } from '../helpers/services.js';
import {
  createRedisRevocationTransport,
  createRevocationList,
  createVerifier,
  type RevocationTransport,
} from '@tessera/jwt';

/** Parent → worker. */
export type WorkerCommand = { type: 'watch'; id: number; token: string } | { type: 'close' };

/** Worker → parent. Times are milliseconds since the epoch with sub-millisecond precision. */
export type WorkerReport =
  | { type: 'ready' }
  | { type: 'subscribed'; at: number }
  | { type: 'watching'; id: number }
  | { type: 'invalid'; id: number; code: string }
  | { type: 'rejected'; id: number; at: number; code: string; pushed: number; pulls: number };

export interface WorkerOptions {
  issuer: string;
  audience: string;
  jwksUri: string;
  feedUrl: string;
  clientId: string;
  clientSecret: string;
  redisUrl: string;
  /** OS priority for the spinning loop (on a small shared machine the verifiers stand in for other hosts). */
  nice?: number;
}

/** Wall clock with sub-millisecond resolution, comparable across processes on one machine. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

const send = (report: WorkerReport): void => {
  process.send?.(report);
};

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as WorkerOptions;
  if (options.nice !== undefined) setPriority(options.nice);
  const redis = createRedisRevocationTransport({
    url: options.redisUrl,
    channel: TEST_REVOCATION_CHANNEL,
    maxBackoffMs: 500,
  });
  // Wrapped only to tell the parent when the subscription is live (after each (re)connection).
  const transport: RevocationTransport = {
    subscribe: (onEntry, onReconnect) =>
      redis.subscribe(onEntry, () => {
        send({ type: 'subscribed', at: wallClock() });
        onReconnect();
      }),
  };
  const revocations = createRevocationList({
    feedUrl: options.feedUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    policy: 'fail-closed',
    pollInterval: '1s',
    transport,
  });
  await revocations.ready();
  const verifier = createVerifier({
    algorithms: ['ES256'],
    issuer: options.issuer,
    audience: options.audience,
    typ: 'at+jwt',
    jwksUri: options.jwksUri,
    revocations,
  });

  const watched = new Map<number, { token: string; seenValid: boolean }>();
  let looping = false;

  const pass = async (): Promise<void> => {
    for (const [id, w] of watched) {
      try {
        await verifier.verify(w.token);
        if (!w.seenValid) {
          w.seenValid = true;
          send({ type: 'watching', id });
        }
      } catch (err) {
        const at = wallClock();
        const code = String((err as { code?: unknown }).code ?? (err as Error).name);
        watched.delete(id);
        if (!w.seenValid) send({ type: 'invalid', id, code });
        else {
          const s = revocations.stats();
          send({ type: 'rejected', id, at, code, pushed: s.pushed, pulls: s.pulls });
        }
      }
    }
  };
  const loop = (): void => {
    if (watched.size === 0) {
      looping = false; // idle until the next watch: no spinning between measurements
      return;
    }
    void pass().then(() => setImmediate(loop));
  };

  process.on('message', (msg: WorkerCommand) => {
    if (msg.type === 'watch') {
      watched.set(msg.id, { token: msg.token, seenValid: false });
      if (!looping) {
        looping = true;
        setImmediate(loop);
      }
    } else if (msg.type === 'close') {
      verifier.close();
      revocations.close();
      process.disconnect?.();
    }
  });
  send({ type: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(`verifier worker failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
