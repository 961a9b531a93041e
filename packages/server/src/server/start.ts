/**
 * Start a server from a config: store, KEK, key manager, app, listen, and a graceful shutdown that stops
 * accepting, lets in-flight requests finish and then closes timers and the store.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { openStore } from '../store/open-store.js';
import { createMemoryEphemeral } from '../store/memory-ephemeral.js';
import type { EphemeralState } from '../store/ephemeral.js';
import type { Store } from '../store/types.js';
import { derivePepper, loadKEK, type KEK } from '../keys/kek.js';
import { createKeyManager, type LocalKeyManager } from '../keys/key-manager.js';
import type { KeyChangeNotifier } from '../keys/notify.js';
import type { RevocationPublisher } from '../oauth/revocation-feed.js';
import { buildApp, createLogger } from './app.js';
import { assertIssuerForHost, type ServerConfig } from './config.js';
import type { ServerContext } from './context.js';
import { createMetrics } from './metrics.js';

export interface StartServerOptions {
  /** A logger to use instead of one built from config.logLevel (tests pass a silent one). */
  log?: Logger;
  clock?: () => number;
  /** Close on SIGINT/SIGTERM (the `serve` command); default false so tests and embedders own the process. */
  handleSignals?: boolean;
  /** Run the key-rotation timer (default true). */
  scheduleKeys?: boolean;
}

export interface ServerHandle {
  /** Where it listens, e.g. `http://127.0.0.1:7070`. */
  url: string;
  /** The context (config with the final issuer, store, key manager …). */
  ctx: ServerContext;
  keys: LocalKeyManager;
  app: FastifyInstance;
  kek: KEK;
  /** Stop accepting, finish in-flight requests, stop timers, close the store. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the server has closed (after close() or a signal). */
  closed: Promise<void>;
}

/**
 * Open a KEK for an opened store: generated only when the store has no keys yet (a fresh KEK next to
 * existing encrypted keys would orphan them).
 */
export async function openKEK(config: ServerConfig, store: Store, log?: Logger): Promise<KEK> {
  const hasKeys = (await store.listKeys()).length > 0;
  return loadKEK({ env: config.kek, file: config.kekFile, allowCreate: !hasKeys, ...(log && { log }) });
}

/** How often expired rows (refresh tokens, revocations, opaque tokens, used ids, sessions, codes, pending) are purged. */
const HOUSEKEEPING_INTERVAL_MS = 5 * 60_000;

/**
 * Purge expired rows now and then, on one instance at a time (lease `housekeeping`): the tables of
 * short-lived records would otherwise grow forever. Returns a stop function.
 */
function startHousekeeping(store: Store, log: Logger, clock: () => number, holder: string): () => void {
  const run = async () => {
    const now = clock();
    try {
      if (!(await store.tryAcquireLease('housekeeping', holder, HOUSEKEEPING_INTERVAL_MS, now))) return;
      const removed =
        (await store.purgeRefresh(now)) +
        (await store.purgeRevocations(now)) +
        (await store.purgeOpaqueTokens(now)) +
        (await store.purgeUsedIds(now)) +
        (await store.purgeSessions(now)) +
        (await store.purgeAuthCodes(now)) +
        (await store.purgePending(now));
      if (removed > 0) log.info({ removed }, 'purged expired records');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'housekeeping failed; will retry');
    }
  };
  const timer = setInterval(() => void run(), HOUSEKEEPING_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Start listening.
 *
 * @example
 * const server = await startServer(loadConfig({ values: { port: '0', 'data-dir': dir } }));
 * console.log(server.url);
 * await server.close();
 */
export async function startServer(
  config: ServerConfig,
  options: StartServerOptions = {},
): Promise<ServerHandle> {
  assertIssuerForHost(config);
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? Date.now;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });

  const store = await openStore(config.store, { dataDir: config.dataDir });
  let ephemeral: EphemeralState | undefined;
  let keys: LocalKeyManager | undefined;
  let notifier: KeyChangeNotifier | undefined;
  let publisher: (RevocationPublisher & { disconnect(): void }) | undefined;
  try {
    const kek = await openKEK(config, store, log);
    // ioredis loads only when Redis is configured: the zero-config server does not pay for it.
    ephemeral = config.redis
      ? await (
          await import('../store/redis-ephemeral.js')
        ).openRedisEphemeral({
          url: config.redis,
          prefix: config.redisPrefix,
        })
      : createMemoryEphemeral({ clock });
    const metrics = createMetrics({ clock });
    const instanceId = `${process.pid}-${randomUUID()}`;
    const audit = async (type: string, data: Record<string, unknown>) => {
      log.info({ audit: type, ...data }, `audit: ${type}`);
      await store.appendAudit({ at: clock(), type, data });
    };
    // With Redis, key changes are pushed to the other instances at once; polling remains the bound.
    notifier = config.redis
      ? await (
          await import('../keys/notify.js')
        ).openRedisKeyNotifier(config.redis, instanceId, config.redisPrefix)
      : undefined;
    // With Redis, every new deny-list entry is pushed on `<prefix>revocations` (publishRevocation); a
    // publish runs on its own connection and fails fast (no offline queue) when Redis is down.
    publisher = config.redis
      ? await (await import('../store/redis-ephemeral.js')).openRedisClient(config.redis)
      : undefined;
    keys = await createKeyManager({
      ...(notifier && { notifier }),
      store,
      kek,
      config,
      log,
      metrics,
      instanceId,
      clock,
      audit,
      schedule: options.scheduleKeys !== false,
    });
    const ctx: ServerContext & { revocationPublisher?: RevocationPublisher } = {
      ...(publisher && { revocationPublisher: publisher }),
      config,
      store,
      ephemeral,
      keys,
      metrics,
      log,
      pepper: derivePepper(kek),
      instanceId,
      clock,
      audit,
    };
    const app = await buildApp(ctx);
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `${config.tlsCert !== undefined ? 'https' : 'http'}://${host}:${port}`;
    // With port 0 the default issuer named port 0; tokens and metadata must carry the real one.
    if (config.issuerIsDefault) config.issuer = url;

    const stopHousekeeping = startHousekeeping(store, log, clock, instanceId);

    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    let closing: Promise<void> | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'shutting down');
      void close();
    };
    const close = () =>
      (closing ??= (async () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        stopHousekeeping();
        try {
          await app.close();
        } finally {
          await keys!.close();
          await ephemeral!.close();
          publisher?.disconnect();
          await store.close();
          resolveClosed();
        }
      })());
    if (options.handleSignals) {
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }
    return { url, ctx, keys, app, kek, close, closed };
  } catch (err) {
    // Nothing half-open stays behind: a failed start (wrong KEK, port in use) releases the store.
    // The manager owns the notifier once it exists; before that, close it here.
    await (keys ?? notifier)?.close().catch(() => undefined);
    await ephemeral?.close().catch(() => undefined);
    publisher?.disconnect();
    await store.close().catch(() => undefined);
    throw err;
  }
}
