/**
 * The server's view of its signing keys: an in-memory snapshot of the store, refreshed every reload
 * interval, from which it signs and serves the JWKS. Requests never wait on the store for keys, so the JWKS
 * and token signing keep working on the last good snapshot while the store is down.
 *
 * Multi-instance: every instance runs the same timer; writes happen only under the store lease and as
 * compare-and-set transitions (see rotation.ts), and every instance sees them within one reload interval,
 * which the lifecycle timings include as the propagation delay.
 */
import { createHash } from 'node:crypto';
import { createLocalKeySet, type Alg, type JWK, type KeySource } from '@tessera/jwt';
import type { Logger } from 'pino';
import type { KeyRecord, Store } from '../store/types.js';
import type { ServerConfig } from '../server/config.js';
import type { KeyManager, PublishedJWKS, TokenSigner } from '../server/context.js';
import type { ServerMetrics } from '../server/metrics.js';
import { unavailable } from '../server/errors.js';
import { assertKEKMatches, decryptPrivateJWK, type KEK } from './kek.js';
import { isPublished, planTick, signingKeyFor } from './lifecycle.js';
import { createLocalSigner } from './local-signer.js';
import { policyFromConfig, publicMembersOnly, runTick } from './rotation.js';
import type { KeyChangeNotifier } from './notify.js';

export {
  rotateKeys,
  revokeKey,
  runTick,
  generateKeyRecord,
  policyFromConfig,
  KeyOperationError,
  type RotateResult,
  type RevokeKeyResult,
  type KeyOperationOptions,
} from './rotation.js';

export interface KeyManagerOptions {
  store: Store;
  kek: KEK;
  config: ServerConfig;
  log: Logger;
  metrics?: ServerMetrics;
  /** Names this instance as the holder of the rotation lease. */
  instanceId: string;
  clock?: () => number;
  audit?: (type: string, data: Record<string, unknown>) => Promise<void>;
  /** Run tick() on a timer every reload interval (default true; tests drive it by hand when false). */
  schedule?: boolean;
  /** Push channel to other instances (Redis); owned and closed by the manager. Polling still runs. */
  notifier?: KeyChangeNotifier;
}

/** The KeyManager plus what the CLI, metrics and tests may read. */
export interface LocalKeyManager extends KeyManager {
  /** The last snapshot of key records (no private material). */
  records(): readonly KeyRecord[];
}

const STATE_ORDER = { current: 0, next: 1, retired: 2, revoked: 3 } as const;

function buildJWKS(records: readonly KeyRecord[], maxAge: number): PublishedJWKS {
  const keys = records
    .filter(isPublished)
    .sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.publishedAt - a.publishedAt)
    .map((r) => publicMembersOnly(JSON.parse(r.publicJwk) as JWK));
  const body = JSON.stringify({ keys });
  // Strong ETag (RFC 9110 §8.8.3): byte-identical bodies, so a hash of the body.
  const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
  // delta-seconds is an integer (RFC 9111 §1.2.2); rounding down keeps caches inside the pre-publication window.
  return { keys, body, etag, maxAge: Math.floor(maxAge) };
}

/** A fingerprint of what the snapshot depends on, so an unchanged reload rebuilds nothing. */
const fingerprint = (records: readonly KeyRecord[]) =>
  records
    .map((r) => `${r.kid}:${r.state}`)
    .sort()
    .join(',');

/**
 * Create the key manager: checks the KEK against the stored keys first (a wrong KEK fails here, before
 * anything is written), then runs the first tick (a fresh store gets one current and one next key), then
 * loads the snapshot and starts the timer.
 *
 * @example
 * const keys = await createKeyManager({ store, kek, config, log, instanceId });
 * const jws = keys.signer().sign({ sub: 'svc' }, { typ: 'at+jwt' });
 */
export async function createKeyManager(options: KeyManagerOptions): Promise<LocalKeyManager> {
  const { store, kek, config, log } = options;
  const clock = options.clock ?? Date.now;
  const policy = policyFromConfig(config);
  const audit =
    options.audit ??
    ((type: string, data: Record<string, unknown>) => store.appendAudit({ at: clock(), type, data }));

  const initial = await store.listKeys();
  for (const r of initial) assertKEKMatches(r.encryptedPrivateKey, kek);

  let records: readonly KeyRecord[] = [];
  let lastFingerprint = '';
  let jwks = buildJWKS([], config.jwksMaxAge);
  let keySet: KeySource = createLocalKeySet({ keys: [] });
  const signers = new Map<string, TokenSigner>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let closed = false;
  let lastSigner: { records: readonly KeyRecord[]; alg: Alg | undefined; signer: TokenSigner } | undefined;

  function apply(next: KeyRecord[]): void {
    records = next;
    const fp = fingerprint(next);
    if (fp === lastFingerprint) return;
    for (const kid of signers.keys())
      if (!next.some((r) => r.kid === kid && r.state === 'current')) signers.delete(kid);
    for (const r of next) {
      if (r.state !== 'current' || signers.has(r.kid)) continue;
      try {
        signers.set(
          r.kid,
          createLocalSigner(decryptPrivateJWK(r.encryptedPrivateKey, kek, r.kid) as JWK, r.alg as Alg, r.kid),
        );
      } catch (err) {
        // Keep serving with the other keys; a key this instance cannot decrypt must not take it down.
        log.error({ kid: r.kid, err: (err as Error).message }, 'cannot load a current signing key');
      }
    }
    jwks = buildJWKS(next, config.jwksMaxAge);
    keySet = createLocalKeySet({ keys: jwks.keys });
    const changed = lastFingerprint !== '';
    lastFingerprint = fp;
    if (changed) log.info({ keys: next.map((r) => ({ kid: r.kid, state: r.state })) }, 'key set changed');
  }

  async function reload(): Promise<void> {
    let next: KeyRecord[];
    try {
      next = await store.listKeys();
    } catch (err) {
      // The last good key set keeps serving: JWKS and signing do not depend on the store being up.
      log.warn({ err: (err as Error).message }, 'key reload failed; serving the last key set');
      return;
    }
    apply(next);
  }

  async function tick(): Promise<void> {
    await reload();
    // Nothing due on this snapshot: skip the lease round trip (most ticks on most instances).
    if (planTick(records, clock(), policy).length === 0) return;
    try {
      const changed = await runTick(store, kek, config, {
        holder: options.instanceId,
        audit,
        wait: false,
        now: clock(),
      });
      if (changed) await options.notifier?.publish();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'key rotation tick failed; will retry');
      return;
    }
    await reload();
  }

  // First start: make sure keys exist. If another instance holds the lease it is creating them; wait for it.
  // (A restart with nothing due skips the lease: N instances restarting together do not queue on it.)
  if (planTick(initial, clock(), policy).length > 0) {
    const changed = await runTick(store, kek, config, {
      holder: options.instanceId,
      audit,
      wait: true,
      now: clock(),
    });
    if (changed) await options.notifier?.publish();
  }
  await reload();
  if (!signingKeyFor(records, config.alg) && !records.some((r) => r.state === 'current'))
    throw new Error('no current signing key after the first key-rotation tick');

  options.metrics?.observeKeys(() => records);

  if (options.notifier) {
    // Coalesce bursts: one reload in flight, at most one more queued behind it.
    let again = false;
    let pushReload: Promise<void> | undefined;
    const onPush = (): void => {
      if (closed) return;
      if (pushReload) {
        again = true;
        return;
      }
      pushReload = reload().finally(() => {
        pushReload = undefined;
        if (again) {
          again = false;
          onPush();
        }
      });
    };
    await options.notifier.subscribe(onPush);
  }

  if (options.schedule !== false) {
    timer = setInterval(
      () => {
        if (running || closed) return;
        running = tick().finally(() => (running = undefined));
      },
      Math.max(50, config.reloadInterval * 1000),
    );
    timer.unref();
  }

  return {
    signer(alg?: Alg): TokenSigner {
      // Every token asks; `records` and `signers` only change together in apply(), so the answer for one
      // records snapshot is reused until the next one.
      if (lastSigner !== undefined && lastSigner.records === records && lastSigner.alg === alg)
        return lastSigner.signer;
      // Without an explicit alg, fall back to any current key: after an --alg change the old algorithm's key
      // keeps signing until the new one has been pre-published.
      const record =
        signingKeyFor(records, alg ?? config.alg) ??
        (alg === undefined ? records.find((r) => r.state === 'current') : undefined);
      const signer = record && signers.get(record.kid);
      if (!signer) throw unavailable('no signing key is available');
      lastSigner = { records, alg, signer };
      return signer;
    },
    published: () => jwks,
    keySource: () => keySet,
    records: () => records,
    reload,
    tick,
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await running;
      await options.notifier?.close();
    },
  };
}
