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
  // Node's decoder reads only the low byte of each UTF-16 unit, so 'Ł' (U+0141) decodes as 'A' (A15):
  // anything non-ASCII is refused first (the UTF-8 length of a string equals its length only for ASCII).
  if (rem === 1 || Buffer.byteLength(s, 'utf8') !== s.length) return undefined;
  if (s.indexOf('+') !== -1 || s.indexOf('/') !== -1 || s.indexOf('=') !== -1) return undefined;
  const out = Buffer.from(s, 'base64url');
  if (out.length !== (s.length * 3) >>> 2) return undefined;
  if (rem !== 0) {
    const last = VALUE[s.charCodeAt(s.length - 1)]!;
    if ((last & (rem === 2 ? 0x0f : 0x03)) !== 0) return undefined;
  }
  return out;
}

/** Node's Buffer with the per-encoding methods its public read/write API dispatches to (stable since v6). */
export interface FastBuffer extends Buffer {
  base64urlWrite(s: string, offset: number, length: number): number;
  latin1Write(s: string, offset: number, length: number): number;
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
  utf8Write(s: string, offset: number): number;
  base64urlSlice(start: number, end: number): string;
}

/**
 * A Buffer whose contents are overwritten by the next call: for the synchronous verify hot path only. The
 * views handed out never outlive one synchronous verification (nothing is returned or kept).
 */
export interface Scratch {
  buf: FastBuffer;
  ab: ArrayBuffer;
  /** The last view handed out by viewOf, reused while the length repeats (token lengths mostly do). */
  view: Uint8Array;
}

/** A scratch area of at least `size` bytes (grown, never shrunk). */
export function scratchOf(s: Scratch | undefined, size: number): Scratch {
  if (s !== undefined && s.buf.length >= size) return s;
  const buf = Buffer.allocUnsafeSlow(Math.max(size, 1024)) as FastBuffer;
  const ab = buf.buffer as ArrayBuffer;
  return { buf, ab, view: new Uint8Array(ab, 0, 0) };
}

/** A view of the first `len` bytes of a scratch area (valid until the area is next written). */
export function viewOf(s: Scratch, len: number): Uint8Array {
  if (s.view.length === len) return s.view;
  return (s.view = new Uint8Array(s.ab, 0, len));
}

/**
 * Decode `token[start, end)` as canonical unpadded base64url into the start of `out`; the byte count, or -1
 * when the text is not canonical. The caller has already made sure that `token` is ASCII and holds no `+`,
 * `/` or `=` in that range (see decodeCanonicalBase64url for why those, and non-ASCII lookalikes, must be
 * excluded up front: Node's decoder accepts them). Every other character outside the alphabet is skipped by
 * Node, so the output comes out shorter than ⌊3·len/4⌋ bytes; trailing bits are checked on the last char.
 */
export function decodeCanonicalInto(token: string, start: number, end: number, out: Scratch): number {
  const len = end - start;
  const rem = len & 3;
  if (rem === 1) return -1;
  const expected = (len * 3) >>> 2;
  if (out.buf.length < expected) return -1;
  if (out.buf.base64urlWrite(token.slice(start, end), 0, expected) !== expected) return -1;
  if (rem !== 0) {
    const last = VALUE[token.charCodeAt(end - 1)]!;
    if ((last & (rem === 2 ? 0x0f : 0x03)) !== 0) return -1;
  }
  return expected;
}

/** Copy the ASCII `token[0, end)` into the start of `out` (caller checked it is ASCII); returns `end`. */
export function writeLatin1(token: string, end: number, out: Scratch): number {
  return out.buf.latin1Write(token, 0, end);
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
