/**
 * Key transitions that write to the store: the scheduled tick, on-demand rotation and emergency revocation.
 * Used by the server's KeyManager and by `tessera keys`, so a CLI command and a running server (or several)
 * change keys the same way. Every write runs under the store lease `key-rotation` and is a compare-and-set
 * (`transitionKey`), so a rotation happens exactly once across instances even when timers coincide.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { calculateJWKThumbprint, exportJWK, importKeyObject, type Alg, type JWK } from '@tessera/jwt';
import type { KeyRecord, Store } from '../store/types.js';
import type { ServerConfig } from '../server/config.js';
import { assertKEKMatches, encryptPrivateJWK, type KEK } from './kek.js';
import {
  isPrePublished,
  latestTokenExpiry,
  planTick,
  removeAfterFor,
  signingKeyFor,
  successorFor,
  type LifecyclePolicy,
} from './lifecycle.js';

export const ROTATION_LEASE = 'key-rotation';

/** The parts of ServerConfig the key operations read. */
export type KeyConfig = Pick<
  ServerConfig,
  'alg' | 'rsaBits' | 'rotationInterval' | 'jwksMaxAge' | 'maxAccessTtl' | 'clockTolerance' | 'reloadInterval'
>;

export interface KeyOperationOptions {
  /** Milliseconds since the epoch; default Date.now(). */
  now?: number;
  /** Lease holder name; default a per-process id. */
  holder?: string;
  /** Appends an audit event; default store.appendAudit. Never given key material. */
  audit?: (type: string, data: Record<string, unknown>) => Promise<void>;
  /** How long to wait for the lease if another instance holds it (ms); default 10 s. */
  leaseWaitMs?: number;
}

/** The key operation could not run (unknown kid, nothing to promote, lease busy). */
export class KeyOperationError extends Error {
  override readonly name = 'KeyOperationError';
  readonly code: 'ERR_KEY_NOT_FOUND' | 'ERR_NO_SUCCESSOR' | 'ERR_LEASE_BUSY' | 'ERR_KEY_NOT_PREPUBLISHED';
  constructor(code: KeyOperationError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** Seconds in ServerConfig to the milliseconds the lifecycle rules use. */
export function policyFromConfig(config: KeyConfig): LifecyclePolicy {
  return {
    alg: config.alg,
    rotationIntervalMs: config.rotationInterval * 1000,
    jwksMaxAgeMs: config.jwksMaxAge * 1000,
    maxAccessTtlMs: config.maxAccessTtl * 1000,
    clockToleranceMs: config.clockTolerance * 1000,
    propagationMs: config.reloadInterval * 1000,
  };
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'r', 't'];

/** A JWK with every private member removed: defence in depth for what reaches the JWKS and the store's public column. */
export function publicMembersOnly(jwk: JWK): JWK {
  const out: JWK = { ...jwk };
  for (const m of PRIVATE_MEMBERS) delete out[m];
  return out;
}

/**
 * Generate a key pair as DER and re-import it. Exporting a KeyObject fresh from generateKeyPairSync as a JWK
 * can deadlock Node 20 (a GC during ExportJWK runs the KeyGenJob destructor, which waits for the mutex the
 * export holds; seen with RSA under load). Keys parsed from DER share nothing with the generation job.
 */
function generateFreshPair(alg: string, rsaBits: number) {
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'der' } as const;
  let pair: { publicKey: Buffer; privateKey: Buffer };
  if (alg.startsWith('RS') || alg.startsWith('PS'))
    pair = generateKeyPairSync('rsa', {
      modulusLength: rsaBits,
      publicExponent: 0x10001,
      publicKeyEncoding,
      privateKeyEncoding,
    });
  else if (alg === 'EdDSA') pair = generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding });
  else {
    const namedCurve = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }[alg];
    if (!namedCurve) throw new TypeError(`cannot generate a key for ${alg}`);
    pair = generateKeyPairSync('ec', { namedCurve, publicKeyEncoding, privateKeyEncoding });
  }
  return {
    privateKey: createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: pair.publicKey, format: 'der', type: 'spki' }),
  };
}

/** Generate a key pair for `alg` and its store record; kid is the RFC 7638 thumbprint. */
export function generateKeyRecord(
  alg: string,
  state: 'current' | 'next',
  config: Pick<KeyConfig, 'rsaBits'>,
  kek: KEK,
  now: number,
): KeyRecord {
  const pair = generateFreshPair(alg, config.rsaBits);
  const bare = publicMembersOnly(pair.publicKey.export({ format: 'jwk' }) as JWK);
  const kid = calculateJWKThumbprint(bare);
  const privateKey = importKeyObject(pair.privateKey, { alg: alg as Alg, kid });
  const publicKey = importKeyObject(pair.publicKey, { alg: alg as Alg, kid });
  const publicJwk = publicMembersOnly({ ...exportJWK(publicKey), kid, alg, use: 'sig' });
  const privateJwk = exportJWK(privateKey, { includePrivate: true });
  return {
    kid,
    alg,
    state,
    publicJwk: JSON.stringify(publicJwk),
    encryptedPrivateKey: encryptPrivateJWK(privateJwk, kek, kid),
    createdAt: now,
    publishedAt: now,
    activatedAt: state === 'current' ? now : null,
    retiredAt: null,
    removeAfter: null,
    revokedAt: null,
  };
}

/**
 * Refuse to write under a KEK other than the one the stored keys were encrypted with: a key added under the
 * wrong KEK would be unreadable to every server using the right one.
 */
function assertSameKEK(keys: readonly KeyRecord[], kek: KEK): void {
  for (const k of keys) assertKEKMatches(k.encryptedPrivateKey, kek);
}

let processHolder: string | undefined;
const defaultHolder = () =>
  (processHolder ??= `pid-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);

/**
 * Run `fn` while holding the rotation lease. The lease is a mutex with a TTL (so a crashed holder frees it),
 * taken for the duration of one decision-and-write, then released.
 */
export async function withRotationLease<T>(
  store: Store,
  options: KeyOperationOptions & { wait?: boolean; ttlMs?: number },
  fn: () => Promise<T>,
): Promise<T | undefined> {
  const holder = options.holder ?? defaultHolder();
  const ttlMs = options.ttlMs ?? 30_000;
  const deadline = Date.now() + (options.wait === false ? 0 : (options.leaseWaitMs ?? 10_000));
  for (;;) {
    if (await store.tryAcquireLease(ROTATION_LEASE, holder, ttlMs, Date.now())) break;
    if (Date.now() >= deadline) {
      if (options.wait === false) return undefined;
      throw new KeyOperationError(
        'ERR_LEASE_BUSY',
        'another instance holds the key-rotation lease; try again',
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    await store.releaseLease(ROTATION_LEASE, holder).catch(() => undefined);
  }
}

const auditWith = (store: Store, options: KeyOperationOptions, now: number) =>
  options.audit ??
  ((type: string, data: Record<string, unknown>) => store.appendAudit({ at: now, type, data }));

/** Promote `next` and retire `retire`; returns false if another writer promoted it first. */
async function promote(
  store: Store,
  next: KeyRecord,
  retire: string[],
  now: number,
  policy: LifecyclePolicy,
  audit: (type: string, data: Record<string, unknown>) => Promise<void>,
  trigger: string,
): Promise<boolean> {
  // Promote before retiring, so that at every instant at least one key is current.
  if (!(await store.transitionKey(next.kid, 'next', { state: 'current', activatedAt: now }))) return false;
  await audit('key.activated', { kid: next.kid, alg: next.alg, trigger });
  for (const kid of retire) {
    const removeAfter = removeAfterFor(now, policy);
    if (await store.transitionKey(kid, 'current', { state: 'retired', retiredAt: now, removeAfter }))
      await audit('key.retired', { kid, removeAfter: new Date(removeAfter).toISOString(), trigger });
  }
  return true;
}

async function insertNew(
  store: Store,
  kek: KEK,
  config: KeyConfig,
  state: 'current' | 'next',
  now: number,
  audit: (type: string, data: Record<string, unknown>) => Promise<void>,
  trigger: string,
): Promise<KeyRecord> {
  const record = generateKeyRecord(config.alg, state, config, kek, now);
  await store.insertKey(record);
  await audit('key.created', { kid: record.kid, alg: record.alg, state, trigger });
  return record;
}

/**
 * One scheduled step: create the first keys, promote a pre-published next key when rotation is due, publish
 * a new next key, delete keys past removeAfter. Returns whether anything changed. With `wait: false` (the
 * timer) it skips when another instance holds the lease: that instance is doing the same work.
 */
export async function runTick(
  store: Store,
  kek: KEK,
  config: KeyConfig,
  options: KeyOperationOptions & { wait?: boolean } = {},
): Promise<boolean> {
  const policy = policyFromConfig(config);
  const changed = await withRotationLease(store, options, async () => {
    const now = options.now ?? Date.now();
    const audit = auditWith(store, options, now);
    // Re-read under the lease: the decision must be made on the state no other writer can change now.
    const keys = await store.listKeys();
    assertSameKEK(keys, kek);
    const byKid = new Map(keys.map((k) => [k.kid, k]));
    let any = false;
    for (const action of planTick(keys, now, policy)) {
      if (action.kind === 'delete') {
        await store.deleteKey(action.kid);
        await audit('key.removed', { kid: action.kid, trigger: 'schedule' });
      } else if (action.kind === 'promote') {
        await promote(store, byKid.get(action.kid)!, action.retire, now, policy, audit, 'schedule');
      } else {
        await insertNew(store, kek, config, action.state, now, audit, 'schedule');
      }
      any = true;
    }
    return any;
  });
  return changed ?? false;
}

export interface RotateResult {
  promoted: string;
  retired: string[];
  next: string;
  /**
   * Set when a forced rotation promoted a key published for less than one JWKS max-age plus the reload
   * interval (verifiers with a cached JWKS meet an unknown kid and must refetch).
   */
  warning: string | undefined;
}

/**
 * On-demand rotation (`tessera keys rotate`): promote the pre-published next key at once, retire the current
 * key and publish a new next key. Without a next key, or with one published for less than one JWKS max-age
 * plus the reload interval (a second rotation within one cache lifetime promotes the key the first one just
 * published), it fails with ERR_NO_SUCCESSOR / ERR_KEY_NOT_PREPUBLISHED unless `force`.
 *
 * @example
 * const { promoted, warning } = await rotateKeys(store, kek, config, { now: Date.now() });
 */
export async function rotateKeys(
  store: Store,
  kek: KEK,
  config: KeyConfig,
  options: KeyOperationOptions & { force?: boolean } = {},
): Promise<RotateResult> {
  const policy = policyFromConfig(config);
  const result = await withRotationLease(store, options, async () => {
    const now = options.now ?? Date.now();
    const audit = auditWith(store, options, now);
    const keys = await store.listKeys();
    assertSameKEK(keys, kek);
    const retire = keys.filter((k) => k.state === 'current').map((k) => k.kid);
    let next = successorFor(keys, config.alg);
    let warning: string | undefined;
    if (!next) {
      if (!options.force)
        throw new KeyOperationError(
          'ERR_NO_SUCCESSOR',
          'there is no pre-published next key to promote; run again with --force to sign with a brand-new key',
        );
      next = await insertNew(store, kek, config, 'next', now, audit, 'manual');
    }
    if (!isPrePublished(next, now, policy)) {
      // RFC 7517 rollover: a verifier caches the JWKS for max-age, so a key must have been published that
      // long (plus the time every instance needs to serve it) before it signs; otherwise verifiers holding
      // the cached set meet a kid they have never seen and reject, or refetch for, every new token.
      const age = Math.max(0, Math.round((now - next.publishedAt) / 1000));
      const needed = config.jwksMaxAge + config.reloadInterval;
      const wait = Math.max(1, Math.ceil(needed - (now - next.publishedAt) / 1000));
      const why =
        `the next key ${next.kid} has been published for ${age}s, less than the JWKS cache lifetime ` +
        `(--jwks-max-age ${config.jwksMaxAge}s) plus the reload interval (${config.reloadInterval}s)`;
      if (!options.force)
        throw new KeyOperationError(
          'ERR_KEY_NOT_PREPUBLISHED',
          `${why}: verifiers holding a cached JWKS have never seen it and would meet an unknown kid on every ` +
            `token it signs. Wait ${wait}s and rotate again, or pass --force to rotate now anyway`,
        );
      warning = `${why}; verifiers with a cached JWKS will refetch on its kid`;
    }
    if (!(await promote(store, next, retire, now, policy, audit, 'manual')))
      throw new KeyOperationError('ERR_NO_SUCCESSOR', 'the next key changed state concurrently; try again');
    const fresh = await insertNew(store, kek, config, 'next', now, audit, 'manual');
    await audit('key.rotated', {
      promoted: next.kid,
      retired: retire,
      next: fresh.kid,
      prePublished: !warning,
    });
    return { promoted: next.kid, retired: retire, next: fresh.kid, warning };
  });
  return result!;
}

export interface RevokeKeyResult {
  kid: string;
  /** The state the key was in. */
  previousState: KeyRecord['state'];
  /** The key that signs now, when the revoked key was current. */
  successor: string | undefined;
  alreadyRevoked: boolean;
}

/**
 * Emergency revocation (`tessera keys revoke KID`): the key leaves the JWKS at once, a successor signs (the
 * next key, or a new one), and a `kid` entry on the revocation feed lets verifiers drop tokens it signed
 * before their cached JWKS expires.
 *
 * @example
 * await revokeKey(store, kek, config, 'Yk3…', { now: Date.now() });
 */
export async function revokeKey(
  store: Store,
  kek: KEK,
  config: KeyConfig,
  kid: string,
  options: KeyOperationOptions = {},
): Promise<RevokeKeyResult> {
  const policy = policyFromConfig(config);
  const result = await withRotationLease(store, options, async () => {
    const now = options.now ?? Date.now();
    const audit = auditWith(store, options, now);
    assertSameKEK(await store.listKeys(), kek);
    const key = await store.getKey(kid);
    if (!key) throw new KeyOperationError('ERR_KEY_NOT_FOUND', `no key with kid ${kid}`);
    if (key.state === 'revoked')
      return { kid, previousState: key.state, successor: undefined, alreadyRevoked: true };
    // Tokens it signed can live until latestTokenExpiry; a leaked unsigned (next) key could be used to forge
    // tokens for as long as a verifier's cached JWKS still lists it.
    const expiresAt =
      Math.max(latestTokenExpiry(key, now, policy) ?? now, now + policy.jwksMaxAgeMs + policy.propagationMs) +
      policy.clockToleranceMs;
    if (
      !(await store.transitionKey(kid, key.state, {
        state: 'revoked',
        revokedAt: now,
        removeAfter: expiresAt,
      }))
    )
      throw new KeyOperationError('ERR_KEY_NOT_FOUND', `key ${kid} changed state concurrently; try again`);
    await store.addRevocation({ kind: 'kid', value: kid, expiresAt, revokedAt: now });
    await audit('key.revoked', { kid, alg: key.alg, previousState: key.state });

    let successor: string | undefined;
    const keys = await store.listKeys();
    if (key.state === 'current' && !signingKeyFor(keys, config.alg)) {
      const next = successorFor(keys, config.alg);
      if (next && (await promote(store, next, [], now, policy, audit, 'revocation'))) successor = next.kid;
      else successor = (await insertNew(store, kek, config, 'current', now, audit, 'revocation')).kid;
    }
    // Keep the pre-publication pipeline full: the next rotation needs a published successor.
    if (!successorFor(await store.listKeys(), config.alg))
      await insertNew(store, kek, config, 'next', now, audit, 'revocation');
    return { kid, previousState: key.state, successor, alreadyRevoked: false };
  });
  return result!;
}
