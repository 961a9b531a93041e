/**
 * The key lifecycle as pure rules: given the stored keys and the time, what should change. No I/O, so the
 * rules are tested alone and every instance, the CLI and the scheduler decide the same way.
 *
 *   next (published, not signing) → current (signing) → retired (published, not signing) → removed
 *   any state → revoked (out of the JWKS at once)
 *
 * Timing (all in milliseconds):
 * - A next key signs only after it has been published for one JWKS max-age plus the reload interval
 *   (the time other instances need to start serving it), so no verifier holding a cached JWKS meets an
 *   unknown `kid` (RFC 7517 key rollover without a flag day).
 * - A retired key stays published until every token it signed has expired: retiredAt + the longest
 *   access-token lifetime + the reload interval (other instances may sign with it until they reload)
 *   + clock tolerance + one JWKS max-age (a verifier's cached copy must still hold it).
 */
import type { KeyRecord, KeyState } from '../store/types.js';

export interface LifecyclePolicy {
  /** The configured signing algorithm. */
  alg: string;
  rotationIntervalMs: number;
  jwksMaxAgeMs: number;
  maxAccessTtlMs: number;
  clockToleranceMs: number;
  /** How long a change in the store takes to reach every instance (the reload interval). */
  propagationMs: number;
}

export type TickAction =
  /** Generate and insert a new key in `state`. */
  | { kind: 'create'; state: 'current' | 'next'; alg: string }
  /** next → current; each of `retire` current → retired. */
  | { kind: 'promote'; kid: string; retire: string[] }
  /** retired or revoked, past removeAfter: delete the record. */
  | { kind: 'delete'; kid: string };

/** States whose public key is in the JWKS. */
export const PUBLISHED_STATES: readonly KeyState[] = ['next', 'current', 'retired'];

export const isPublished = (k: KeyRecord) => PUBLISHED_STATES.includes(k.state);

/** When a key retired at `retiredAt` may leave the JWKS. */
export function removeAfterFor(retiredAt: number, p: LifecyclePolicy): number {
  return retiredAt + p.maxAccessTtlMs + p.propagationMs + p.clockToleranceMs + p.jwksMaxAgeMs;
}

/**
 * The latest moment (ms) at which a token signed by `key` can still be accepted: its last signature
 * (retirement, or `now` for a key still signing) + the longest lifetime + propagation + clock tolerance.
 * Null for a key that never signed.
 */
export function latestTokenExpiry(key: KeyRecord, now: number, p: LifecyclePolicy): number | null {
  if (key.activatedAt === null) return null;
  const lastSignature = key.retiredAt ?? now;
  return lastSignature + p.maxAccessTtlMs + p.propagationMs + p.clockToleranceMs;
}

/**
 * Whether a retired or revoked key's record may go. For a retired key the later of the stored removeAfter
 * and this policy's own bound counts: the record may have been written by a CLI run with shorter lifetimes
 * than the server's, and removing a key early would reject tokens that are still valid.
 */
export function isRemovable(k: KeyRecord, now: number, p: LifecyclePolicy): boolean {
  if (k.state !== 'retired' && k.state !== 'revoked') return false;
  if (k.removeAfter === null) return false;
  const bound = k.state === 'retired' && k.retiredAt !== null ? removeAfterFor(k.retiredAt, p) : 0;
  return Math.max(k.removeAfter, bound) <= now;
}

/** True when a next key has been visible long enough for every cached JWKS to include it. */
export function isPrePublished(next: KeyRecord, now: number, p: LifecyclePolicy): boolean {
  return now - next.publishedAt >= p.jwksMaxAgeMs + p.propagationMs;
}

export function isRotationDue(current: KeyRecord, now: number, p: LifecyclePolicy): boolean {
  return now - (current.activatedAt ?? current.createdAt) >= p.rotationIntervalMs;
}

const byOldestPublished = (a: KeyRecord, b: KeyRecord) =>
  a.publishedAt - b.publishedAt || (a.kid < b.kid ? -1 : 1);
const byNewestActivated = (a: KeyRecord, b: KeyRecord) =>
  (b.activatedAt ?? 0) - (a.activatedAt ?? 0) || (a.kid < b.kid ? -1 : 1);

/** The key that signs for `alg`: the most recently activated current key of that algorithm. */
export function signingKeyFor(keys: readonly KeyRecord[], alg: string): KeyRecord | undefined {
  return keys.filter((k) => k.state === 'current' && k.alg === alg).sort(byNewestActivated)[0];
}

/** The oldest next key of `alg`: the successor a rotation promotes. */
export function successorFor(keys: readonly KeyRecord[], alg: string): KeyRecord | undefined {
  return keys.filter((k) => k.state === 'next' && k.alg === alg).sort(byOldestPublished)[0];
}

/**
 * What one scheduled tick should do. Applied in order; each step is a compare-and-set in the store, so a
 * plan made from a stale read does nothing harmful.
 *
 * @example
 * for (const action of planTick(await store.listKeys(), Date.now(), policy)) await apply(action);
 */
export function planTick(keys: readonly KeyRecord[], now: number, p: LifecyclePolicy): TickAction[] {
  const actions: TickAction[] = [];
  for (const k of keys) if (isRemovable(k, now, p)) actions.push({ kind: 'delete', kid: k.kid });

  const currents = keys.filter((k) => k.state === 'current');
  const mine = signingKeyFor(keys, p.alg);
  const next = successorFor(keys, p.alg);
  let nextUsed = false;

  if (currents.length === 0) {
    // Nothing signs (first start, or every current key was revoked): sign now; waiting would only fail requests.
    if (next) {
      actions.push({ kind: 'promote', kid: next.kid, retire: [] });
      nextUsed = true;
    } else actions.push({ kind: 'create', state: 'current', alg: p.alg });
  } else {
    // Extra current keys (another algorithm after a config change, or a duplicate) are retired at the next
    // promotion; until then they keep signing, since their successor may not be cached by verifiers yet.
    const due = !mine || isRotationDue(mine, now, p) || currents.length > 1;
    if (due && next && isPrePublished(next, now, p)) {
      actions.push({ kind: 'promote', kid: next.kid, retire: currents.map((k) => k.kid) });
      nextUsed = true;
    }
  }
  const nextsLeft = keys.filter((k) => k.state === 'next' && k.alg === p.alg).length - (nextUsed ? 1 : 0);
  if (nextsLeft === 0) actions.push({ kind: 'create', state: 'next', alg: p.alg });
  return actions;
}
