import { KeyObject } from 'node:crypto';
import { JWKInvalid, JWKSInvalid, JWKSMultipleMatchingKeys, JWKSNoMatchingKey } from './errors.js';
import { importJWK, importKeyObject, toPublicKey } from './keys.js';
import type { Alg, JWK, JWKS, KeyLookup, KeySource, TesseraKey } from './types.js';

/** At most this many keys in one set (A14: a JWKS with 10⁴ keys). */
export const MAX_JWKS_KEYS = 100;

/** Why a JWK was left out of a set. */
export interface SkippedKey {
  index: number;
  kid?: string;
  reason: string;
}

export interface ImportJWKSOptions {
  /** Keep only keys that can serve at least one of these. */
  algorithms?: readonly Alg[];
  /** Called for every key left out; remote sets count these instead of failing. */
  onSkip?: (skipped: SkippedKey) => void;
}

/**
 * Import a JWK Set. Unusable keys (unknown kty, `use` other than `sig`, an `alg` outside the allowed list,
 * unsafe parameters) are skipped and reported; structural problems fail the whole set: not an object with a
 * `keys` array, more than MAX_JWKS_KEYS keys, a repeated kid within one key type (A05), or secret keys mixed
 * with public ones (A02: a set that can answer an HS256 token must not hold an RSA key, and vice versa).
 *
 * @example const { keys } = importJWKS(await (await fetch(url)).json(), { algorithms: ['ES256'] });
 */
export function importJWKS(
  jwks: JWKS,
  options: ImportJWKSOptions = {},
): { keys: TesseraKey[]; skipped: SkippedKey[] } {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) {
    throw new JWKSInvalid('a JWK Set is an object with a "keys" array');
  }
  if (jwks.keys.length > MAX_JWKS_KEYS)
    throw new JWKSInvalid(`a JWK Set may hold at most ${MAX_JWKS_KEYS} keys`);
  checkRawSet(jwks.keys);
  const keys: TesseraKey[] = [];
  const skipped: SkippedKey[] = [];
  jwks.keys.forEach((jwk: JWK, index) => {
    try {
      const key = importJWK(jwk);
      if (options.algorithms && !key.algorithms.some((a) => options.algorithms!.includes(a))) {
        throw new JWKInvalid('key serves none of the allowed algorithms');
      }
      keys.push(key);
    } catch (err) {
      const kid = typeof jwk?.kid === 'string' ? jwk.kid : undefined;
      const entry = { index, ...(kid !== undefined && { kid }), reason: (err as Error).message };
      skipped.push(entry);
      options.onSkip?.(entry);
    }
  });
  checkSet(keys);
  return { keys, skipped };
}

/**
 * The set-level rules also hold over the raw entries, before unusable keys are skipped: otherwise a
 * duplicate kid whose twin happens to be malformed would slip through (Wycheproof json_web_key tcId 4).
 */
function checkRawSet(entries: readonly unknown[]): void {
  const seen = new Set<string>();
  let secret = false;
  let asymmetric = false;
  for (const e of entries) {
    if (typeof e !== 'object' || e === null) continue;
    const { kty, kid } = e as { kty?: unknown; kid?: unknown };
    if (kty === 'oct') secret = true;
    else if (kty === 'RSA' || kty === 'EC' || kty === 'OKP') asymmetric = true;
    if (typeof kid !== 'string' || typeof kty !== 'string') continue;
    const id = `${kty}\u0000${kid}`;
    if (seen.has(id)) throw new JWKSInvalid('duplicate "kid" in key set');
    seen.add(id);
  }
  if (secret && asymmetric) throw new JWKSInvalid('a key set must not mix HMAC secrets with asymmetric keys');
}

function checkSet(keys: readonly TesseraKey[]): void {
  const secret = keys.some((k) => k.type === 'secret');
  if (secret && keys.some((k) => k.type !== 'secret')) {
    throw new JWKSInvalid('a key set must not mix HMAC secrets with asymmetric keys');
  }
  const seen = new Set<string>();
  for (const k of keys) {
    if (k.kid === undefined) continue;
    // RFC 7520 §4.8 has one kid on an RSA and an EC key; kid + kty must still be unique.
    const id = `${k.kty}\u0000${k.kid}`;
    if (seen.has(id)) throw new JWKSInvalid('duplicate "kid" in key set');
    seen.add(id);
  }
}

/** A key source over a fixed list of keys, answering synchronously. */
export interface LocalKeySet extends KeySource {
  readonly keys: readonly TesseraKey[];
  resolve(lookup: KeyLookup): TesseraKey;
}

/** What createLocalKeySet accepts: a JWK Set or a list of JWKs, KeyObjects or imported keys. */
export type KeyInput = JWKS | ReadonlyArray<TesseraKey | KeyObject | JWK>;

function isTesseraKey(k: unknown): k is TesseraKey {
  return typeof k === 'object' && k !== null && 'keyObject' in k && 'algorithms' in k;
}

/**
 * Build a key source from trusted keys. Private keys are reduced to their public halves. Lookup is an exact
 * match on `kid` in an in-memory map, never a path or a query (A05); without a `kid`, a token is accepted
 * only when exactly one key can serve its algorithm.
 *
 * @example const keys = createLocalKeySet(JSON.parse(fs.readFileSync('jwks.json', 'utf8')));
 */
export function createLocalKeySet(input: KeyInput, options: ImportJWKSOptions = {}): LocalKeySet {
  let keys: TesseraKey[];
  if (Array.isArray(input)) {
    if (input.length > MAX_JWKS_KEYS)
      throw new JWKSInvalid(`a key set may hold at most ${MAX_JWKS_KEYS} keys`);
    keys = input.map((k) =>
      isTesseraKey(k)
        ? toPublicKey(k)
        : k instanceof KeyObject
          ? toPublicKey(importKeyObject(k))
          : toPublicKey(importJWK(k as JWK)),
    );
    if (options.algorithms)
      keys = keys.filter((k) => k.algorithms.some((a) => options.algorithms!.includes(a)));
    checkSet(keys);
  } else {
    keys = importJWKS(input as JWKS, options).keys.map(toPublicKey);
  }
  return keySetFrom(keys);
}

/** Index a checked list of public/secret keys for lookup by kid and by algorithm. */
export function keySetFrom(keys: readonly TesseraKey[]): LocalKeySet {
  const byKid = new Map<string, TesseraKey[]>();
  const byAlg = new Map<Alg, TesseraKey[]>();
  for (const key of keys) {
    if (key.kid !== undefined) {
      const list = byKid.get(key.kid);
      if (list) list.push(key);
      else byKid.set(key.kid, [key]);
    }
    for (const alg of key.algorithms) {
      const list = byAlg.get(alg);
      if (list) list.push(key);
      else byAlg.set(alg, [key]);
    }
  }
  const trusted = new Set(keys);
  const frozen = Object.freeze([...keys]);
  return {
    keys: frozen,
    resolve({ kid, alg }: KeyLookup): TesseraKey {
      if (kid !== undefined) {
        const list = byKid.get(kid);
        if (list) {
          for (const key of list) if (key.algorithms.includes(alg)) return key;
        }
        throw new JWKSNoMatchingKey();
      }
      const candidates = byAlg.get(alg);
      if (!candidates || candidates.length === 0) throw new JWKSNoMatchingKey();
      if (candidates.length > 1) throw new JWKSMultipleMatchingKeys();
      return candidates[0]!;
    },
    isTrusted(key: TesseraKey): boolean {
      return trusted.has(key);
    },
  };
}
