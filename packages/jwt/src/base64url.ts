import { JWSInvalid } from './errors.js';

// RFC 7515 §2 / RFC 7519 §7.2: base64url with no padding, no line breaks, whitespace or other characters.
// Node's decoder is lenient (it accepts '=' '+' '/', skips whitespace, ignores trailing bits), so a
// different string could verify as the same token (ATTACKS A15). We check the alphabet and the canonical
// trailing bits ourselves, then let Buffer do the fast decode.
const ALPHABET = /^[A-Za-z0-9_-]*$/;

// Value of each base64url character, or -1.
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;
}

/** True when `s` is canonical unpadded base64url: alphabet, length and zero trailing bits. */
export function isCanonicalBase64url(s: string): boolean {
  const rem = s.length & 3;
  if (rem === 1) return false;
  if (!ALPHABET.test(s)) return false;
  if (rem === 0) return true;
  const last = VALUE[s.charCodeAt(s.length - 1)]!;
  // rem 2 → 1 byte from 12 bits: 4 spare bits; rem 3 → 2 bytes from 18 bits: 2 spare bits.
  return (last & (rem === 2 ? 0x0f : 0x03)) === 0;
}

/**
 * Decode canonical base64url, or return undefined when `s` is not canonical. Same rules as
 * isCanonicalBase64url, checked the fast way for the verify hot path: Node's decoder skips every character
 * outside its alphabets, and each skipped character makes the output shorter than ⌊3·len/4⌋ bytes, so a
 * length comparison catches them all; `+`, `/` (which Node accepts from the other alphabet) and `=` are
 * looked for with indexOf, and the trailing bits are checked on the last character.
 */
export function decodeCanonicalBase64url(s: string): Buffer | undefined {
  const rem = s.length & 3;
  if (rem === 1 || s.indexOf('+') !== -1 || s.indexOf('/') !== -1 || s.indexOf('=') !== -1) return undefined;
  const out = Buffer.from(s, 'base64url');
  if (out.length !== (s.length * 3) >>> 2) return undefined;
  if (rem !== 0) {
    const last = VALUE[s.charCodeAt(s.length - 1)]!;
    if ((last & (rem === 2 ? 0x0f : 0x03)) !== 0) return undefined;
  }
  return out;
}

/**
 * Decode strict base64url or throw `JWSInvalid`. The message never repeats the input.
 *
 * @example decodeBase64url('eyJhbGciOiJFUzI1NiJ9') // Buffer of '{"alg":"ES256"}'
 */
export function decodeBase64url(s: string, what = 'segment'): Buffer {
  if (!isCanonicalBase64url(s)) throw new JWSInvalid(`${what} is not canonical base64url`);
  return Buffer.from(s, 'base64url');
}

/** Encode bytes or a UTF-8 string as unpadded base64url. */
export function encodeBase64url(input: Uint8Array | string): string {
  return (typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input)).toString('base64url');
}

/** The exact length of the unpadded base64url encoding of `bytes` bytes. */
export function base64urlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}
