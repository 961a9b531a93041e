import * as nodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/**
 * HMAC of `data` under one fixed key, as a latin1 string (one character per byte: a string costs far less to
 * make than a Buffer). `data` may be a view of scratch memory (read synchronously).
 */
export type MacFunction = (data: Uint8Array) => string;

type Digest = 'sha256' | 'sha384' | 'sha512';
type OneShotHash = (algorithm: string, data: Uint8Array, outputEncoding: 'latin1') => string;

// crypto.hash (node ≥ 20.12) digests in one native call, with no Hash or Hmac object per use.
const oneShot = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;
// RFC 2104 §2: B, the hash's input block size, and L, its output size.
const BLOCK: Readonly<Record<Digest, number>> = { sha256: 64, sha384: 128, sha512: 128 };
const OUTPUT: Readonly<Record<Digest, number>> = { sha256: 32, sha384: 48, sha512: 64 };

// The inner hash input (K ⊕ ipad) ‖ data is assembled here; shared, filled and consumed synchronously.
let scratch = Buffer.allocUnsafeSlow(1024);
const RETAINED = 65536;
const grow = (n: number) => Buffer.allocUnsafeSlow(Math.min(RETAINED, Math.max(n, 2 * scratch.length)));

/**
 * HMAC per RFC 2104, H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ data)), from two one-shot digests with the padded keys
 * computed once per key. `createHmac` builds and keys an Hmac object on every call, which costs more than the
 * digests of a token's signing input; this is what keeps HS256 verification near the bare HMAC. The padded
 * keys stay in memory for the key's life, as the KeyObject's secret does. Results equal createHmac's (tested
 * against it and the Wycheproof HMAC vectors); without crypto.hash (node < 20.12) createHmac is used.
 */
export function macFunction(hash: Digest, keyObject: KeyObject): MacFunction {
  if (typeof oneShot !== 'function')
    return (data) => nodeCrypto.createHmac(hash, keyObject).update(data).digest('binary'); // 'binary' is latin1
  const digest = oneShot;
  const block = BLOCK[hash];
  let k: Buffer = keyObject.export();
  // RFC 2104 §2: a key longer than B is replaced by H(K); shorter ones are padded with zeros to B.
  if (k.length > block) k = Buffer.from(digest(hash, k, 'latin1'), 'latin1');
  const ipad = Buffer.alloc(block, 0x36);
  const outer = Buffer.alloc(block + OUTPUT[hash], 0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i]! ^= k[i]!;
    outer[i]! ^= k[i]!;
  }
  k.fill(0);
  return (data) => {
    const n = block + data.length;
    // Inputs beyond the retained size (possible only with a raised maxTokenLength) get an area that is not kept.
    const area =
      n <= RETAINED ? (scratch.length >= n ? scratch : (scratch = grow(n))) : Buffer.allocUnsafe(n);
    area.set(ipad, 0);
    area.set(data, block);
    outer.write(digest(hash, new Uint8Array(area.buffer, area.byteOffset, n), 'latin1'), block, 'latin1');
    area.fill(0, 0, block); // the padded key does not linger in shared memory
    return digest(hash, outer, 'latin1');
  };
}

/**
 * Constant-time comparison of a MAC (latin1 string) with the received bytes (RFC 7518 §3.2, A24: a
 * comparison that stops at the first difference lets an attacker forge a MAC byte by byte from timings).
 * Fixed iteration count, no data-dependent branch; lengths are public and checked first.
 */
export function macEquals(mac: string, sig: Uint8Array): boolean {
  const n = mac.length;
  if (n !== sig.length) return false;
  let diff = 0;
  for (let i = 0; i < n; i++) diff |= mac.charCodeAt(i) ^ sig[i]!;
  return diff === 0;
}
