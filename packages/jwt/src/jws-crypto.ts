import { sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject, SignKeyObjectInput, VerifyKeyObjectInput } from 'node:crypto';
import type { AlgSpec } from './alg.js';
import { macEquals, macFunction, type MacFunction } from './hmac.js';
import type { TesseraKey } from './types.js';

type KeyInput = KeyObject | SignKeyObjectInput | VerifyKeyObjectInput;

// The node:crypto key argument for a (key, alg), built once per plan: ECDSA signs raw R‖S (RFC 7518 §3.4,
// never DER: A07), PSS needs salt length = hash length and MGF1 with the same hash (RFC 7518 §3.5).
function keyInput(spec: AlgSpec, keyObject: KeyObject): KeyInput {
  if (spec.kty === 'EC') return { key: keyObject, dsaEncoding: 'ieee-p1363' };
  if (spec.saltLength !== undefined)
    return { key: keyObject, padding: spec.padding!, saltLength: spec.saltLength };
  if (spec.kty === 'RSA') return { key: keyObject, padding: spec.padding! };
  return keyObject;
}

/** The exact signature length in bytes for this key and algorithm. */
export function signatureLength(spec: AlgSpec, key: TesseraKey): number {
  return spec.sigBytes ?? Math.ceil((key.bits ?? 0) / 8);
}

/** Sign `data` (the ASCII signing input). */
/** Sign `data` (the ASCII signing input). */
export function signBytes(spec: AlgSpec, key: TesseraKey, data: Uint8Array): Buffer {
  return signWithPlan(signPlan(spec, key), data);
}

/** What signing needs about one (key, algorithm) pair, derived once per signer. */
export interface SignPlan {
  readonly keyObject: KeyObject;
  /** The HMAC under this key, for HS*; undefined for asymmetric keys. */
  readonly mac: MacFunction | undefined;
  readonly hash: AlgSpec['hash'];
  readonly input: KeyInput;
}

export function signPlan(spec: AlgSpec, key: TesseraKey): SignPlan {
  return {
    keyObject: key.keyObject,
    mac: spec.kty === 'oct' ? macFunction(spec.hash!, key.keyObject) : undefined,
    hash: spec.hash,
    input: keyInput(spec, key.keyObject),
  };
}

/** signBytes with a plan; `data` may be a view of scratch memory (used synchronously). */
export function signWithPlan(plan: SignPlan, data: Uint8Array): Buffer {
  if (plan.mac !== undefined) return Buffer.from(plan.mac(data), 'latin1');
  return cryptoSign(plan.hash ?? null, data, plan.input as SignKeyObjectInput);
}

/** signWithPlan on node's thread pool for asymmetric keys; `data` must not be scratch memory (it is read later). */
export function signWithPlanAsync(plan: SignPlan, data: Uint8Array): Promise<Buffer> {
  if (plan.mac !== undefined) return Promise.resolve(Buffer.from(plan.mac(data), 'latin1'));
  return new Promise((resolve, reject) => {
    cryptoSign(plan.hash ?? null, data, plan.input as SignKeyObjectInput, (err, sig) => {
      if (err) reject(err);
      else resolve(sig);
    });
  });
}

// A06: reject r or s equal to zero or not below the group order n before OpenSSL sees them (CVE-2022-21449
// "psychic signatures" was exactly this missing check). Cheap, and defence in depth. Compared in place on
// the R‖S bytes (no views), against the order left-padded to the coordinate width.
function ecdsaScalarsInRange(sig: Uint8Array, order: Buffer): boolean {
  const w = order.length;
  return sig.length === 2 * w && scalarInRange(sig, 0, order) && scalarInRange(sig, w, order);
}

/** 1 ≤ sig[off, off + order.length) < order, both big-endian. */
function scalarInRange(sig: Uint8Array, off: number, order: Buffer): boolean {
  const w = order.length;
  let i = 0;
  while (i < w && sig[off + i] === 0) i++;
  if (i === w) return false; // zero
  // Leading zeros of the scalar may still be below leading nonzero bytes of the order: compare from the start.
  for (let j = 0; j < w; j++) {
    const a = sig[off + j]!;
    const b = order[j]!;
    if (a !== b) return a < b;
  }
  return false; // equal to the order
}

// The ECDSA order at the coordinate width (P-521 uses 66-byte scalars); built once per plan.
function orderAt(order: Buffer, width: number): Buffer {
  if (order.length === width) return order;
  const padded = Buffer.alloc(width);
  order.copy(padded, width - order.length);
  return padded;
}

/**
 * Everything verification needs about one (key, algorithm) pair, derived once: the exact signature length
 * in bytes and in base64url characters (A07, A24), the node:crypto key argument, the ECDSA order at the
 * scalar width (A06). The key's algorithm binding is still checked by the caller on every token.
 */
export interface VerifyPlan {
  readonly spec: AlgSpec;
  readonly keyObject: KeyObject;
  /** The HMAC under this key, for HS*. */
  readonly mac: MacFunction | undefined;
  readonly hash: AlgSpec['hash'];
  readonly input: KeyInput;
  readonly sigBytes: number;
  readonly sigChars: number;
  readonly order: Buffer | undefined;
}

const plans = new WeakMap<TesseraKey, Map<string, VerifyPlan>>();

/** The verification plan for `key` under `spec`, built once per (key, alg). */
export function verifyPlan(spec: AlgSpec, key: TesseraKey): VerifyPlan {
  let perAlg = plans.get(key);
  if (perAlg === undefined) plans.set(key, (perAlg = new Map()));
  let plan = perAlg.get(spec.alg);
  if (plan === undefined) {
    const sigBytes = signatureLength(spec, key);
    plan = {
      spec,
      keyObject: key.keyObject,
      mac: spec.kty === 'oct' ? macFunction(spec.hash!, key.keyObject) : undefined,
      hash: spec.hash,
      input: keyInput(spec, key.keyObject),
      sigBytes,
      sigChars: Math.ceil((sigBytes * 4) / 3),
      order: spec.order === undefined ? undefined : orderAt(spec.order, sigBytes >>> 1),
    };
    perAlg.set(spec.alg, plan);
  }
  return plan;
}

/**
 * Verify `sig` over `data` with a plan. The caller has checked that `sig` has exactly `plan.sigBytes` bytes
 * (A07, A24) and that the key may serve the algorithm. `data` and `sig` may be views of scratch memory:
 * everything here is synchronous and copies what it keeps.
 */
export function verifyWithPlan(plan: VerifyPlan, data: Uint8Array, sig: Uint8Array): boolean {
  if (plan.mac !== undefined) {
    // A24: constant-time compare (macEquals).
    return macEquals(plan.mac(data), sig);
  }
  if (plan.order !== undefined) {
    if (!ecdsaScalarsInRange(sig, plan.order)) return false;
    // Handing node the DER form (with the plain key, node's default encoding) skips its own R‖S → DER
    // conversion, which costs more than this one.
    const n = ecdsaDER(sig, plan.order.length);
    return cryptoVerify(plan.hash!, data, plan.keyObject, (derViews[n] ??= derScratch.subarray(0, n)));
  }
  return cryptoVerify(plan.hash ?? null, data, plan.input as VerifyKeyObjectInput, sig);
}

// X9.62 ECDSA-Sig-Value of the last signature (at most 2 × (2 + 67) bytes plus a 3-byte header for P-521).
const derScratch = new Uint8Array(160);
// Views of its first n bytes, made once per length (a fresh view per verification measured ~40 ns).
const derViews: Uint8Array[] = [];

/**
 * Write SEQUENCE { INTEGER r, INTEGER s } (DER, X.690 §8.3: minimal big-endian, a 0x00 in front of a high bit)
 * for the R‖S signature `sig` with scalars `w` bytes wide into derScratch; returns its length. Only called after
 * ecdsaScalarsInRange (A06), so neither scalar is zero and the zero-skipping loops stop inside each scalar. The
 * JWS format stays R‖S of the exact length (RFC 7518 §3.4, A07): DER here is only how node is handed the values.
 */
function ecdsaDER(sig: Uint8Array, w: number): number {
  let r = 0;
  while (sig[r] === 0) r++;
  let s = w;
  while (sig[s] === 0) s++;
  const rPad = sig[r]! >= 0x80 ? 1 : 0;
  const sPad = sig[s]! >= 0x80 ? 1 : 0;
  const rLen = w - r + rPad;
  const sLen = 2 * w - s + sPad;
  const body = 4 + rLen + sLen;
  const out = derScratch;
  let o = 0;
  out[o++] = 0x30;
  if (body > 0x7f) out[o++] = 0x81; // long form: only P-521 gets here, and its body stays below 256
  out[o++] = body;
  out[o++] = 0x02;
  out[o++] = rLen;
  if (rPad === 1) out[o++] = 0;
  for (let i = r; i < w; i++) out[o++] = sig[i]!;
  out[o++] = 0x02;
  out[o++] = sLen;
  if (sPad === 1) out[o++] = 0;
  for (let i = s; i < 2 * w; i++) out[o++] = sig[i]!;
  return o;
}

/**
 * Verify `sig` over `data`. The caller has already checked that `sig` has exactly signatureLength() bytes
 * (A07, A24) and that the key may serve `spec.alg`. The same code as the hot path (verifyWithPlan), so the
 * Wycheproof vectors test exactly what verifies tokens.
 */
export function verifyBytes(spec: AlgSpec, key: TesseraKey, data: Uint8Array, sig: Uint8Array): boolean {
  return verifyWithPlan(verifyPlan(spec, key), data, sig);
}

/**
 * verifyWithPlan with the asymmetric check on node's thread pool (the callback form of crypto.verify), so
 * several run in parallel across cores. `data` and `sig` are read after this returns: never scratch memory.
 */
export function verifyWithPlanAsync(plan: VerifyPlan, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  if (plan.mac !== undefined) return Promise.resolve(verifyWithPlan(plan, data, sig));
  if (plan.order !== undefined && !ecdsaScalarsInRange(sig, plan.order)) return Promise.resolve(false);
  return new Promise((resolve) => {
    cryptoVerify(plan.hash ?? null, data, plan.input as VerifyKeyObjectInput, sig, (err, ok) =>
      resolve(err ? false : ok),
    );
  });
}
