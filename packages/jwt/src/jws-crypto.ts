import { createHmac, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject, SignKeyObjectInput, VerifyKeyObjectInput } from 'node:crypto';
import type { AlgSpec } from './alg.js';
import type { TesseraKey } from './types.js';

type KeyInput = KeyObject | SignKeyObjectInput | VerifyKeyObjectInput;

// The node:crypto key argument for each (key, alg), built once: ECDSA needs raw R‖S (RFC 7518 §3.4, never DER:
// A07), PSS needs salt length = hash length and MGF1 with the same hash (RFC 7518 §3.5).
const keyInputs = new WeakMap<KeyObject, Map<string, KeyInput>>();

function keyInput(spec: AlgSpec, keyObject: KeyObject): KeyInput {
  let perAlg = keyInputs.get(keyObject);
  if (perAlg === undefined) keyInputs.set(keyObject, (perAlg = new Map()));
  let input = perAlg.get(spec.alg);
  if (input === undefined) {
    if (spec.kty === 'EC') input = { key: keyObject, dsaEncoding: 'ieee-p1363' };
    else if (spec.saltLength !== undefined)
      input = { key: keyObject, padding: spec.padding!, saltLength: spec.saltLength };
    else if (spec.kty === 'RSA') input = { key: keyObject, padding: spec.padding! };
    else input = keyObject;
    perAlg.set(spec.alg, input);
  }
  return input;
}

/** The exact signature length in bytes for this key and algorithm. */
export function signatureLength(spec: AlgSpec, key: TesseraKey): number {
  return spec.sigBytes ?? Math.ceil((key.bits ?? 0) / 8);
}

/** Sign `data` (the ASCII signing input). */
export function signBytes(spec: AlgSpec, key: TesseraKey, data: Buffer): Buffer {
  if (spec.kty === 'oct') return createHmac(spec.hash!, key.keyObject).update(data).digest();
  return cryptoSign(spec.hash ?? null, data, keyInput(spec, key.keyObject) as SignKeyObjectInput);
}

// A06: reject r or s equal to zero or not below the group order n before OpenSSL sees them (CVE-2022-21449
// "psychic signatures" was exactly this missing check). Cheap, and defence in depth.
function ecdsaScalarsInRange(sig: Buffer, order: Buffer): boolean {
  const half = sig.length >>> 1;
  const r = sig.subarray(0, half);
  const s = sig.subarray(half);
  return !isZero(r) && !isZero(s) && Buffer.compare(r, order) < 0 && Buffer.compare(s, order) < 0;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

// Keep the ECDSA order at the coordinate width: P-521 uses 66-byte scalars.
const paddedOrders = new WeakMap<Buffer, Map<number, Buffer>>();
function orderAt(order: Buffer, width: number): Buffer {
  if (order.length === width) return order;
  let m = paddedOrders.get(order);
  if (!m) paddedOrders.set(order, (m = new Map()));
  let padded = m.get(width);
  if (!padded) {
    padded = Buffer.alloc(width);
    order.copy(padded, width - order.length);
    m.set(width, padded);
  }
  return padded;
}

/**
 * Verify `sig` over `data`. The caller has already checked that `sig` has exactly signatureLength() bytes
 * (A07, A24) and that the key may serve `spec.alg`.
 */
export function verifyBytes(spec: AlgSpec, key: TesseraKey, data: Buffer, sig: Buffer): boolean {
  if (spec.kty === 'oct') {
    // A24: lengths are equal (checked by the caller), so timingSafeEqual cannot throw; constant-time compare.
    const mac = createHmac(spec.hash!, key.keyObject).update(data).digest();
    return mac.length === sig.length && timingSafeEqual(mac, sig);
  }
  if (spec.order !== undefined && !ecdsaScalarsInRange(sig, orderAt(spec.order, sig.length >>> 1)))
    return false;
  return cryptoVerify(spec.hash ?? null, data, keyInput(spec, key.keyObject) as VerifyKeyObjectInput, sig);
}

/** Thread-pool variant of verifyBytes for asymmetric keys: node:crypto runs the check off the main thread. */
export function verifyBytesAsync(
  spec: AlgSpec,
  key: TesseraKey,
  data: Buffer,
  sig: Buffer,
): Promise<boolean> {
  if (spec.kty === 'oct') return Promise.resolve(verifyBytes(spec, key, data, sig));
  if (spec.order !== undefined && !ecdsaScalarsInRange(sig, orderAt(spec.order, sig.length >>> 1))) {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    cryptoVerify(
      spec.hash ?? null,
      data,
      keyInput(spec, key.keyObject) as VerifyKeyObjectInput,
      sig,
      (err, ok) => resolve(err ? false : ok),
    );
  });
}
