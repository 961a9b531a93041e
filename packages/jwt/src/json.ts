import { isAscii, isUtf8 } from 'node:buffer';
import { JWSInvalid } from './errors.js';

/** Limits for untrusted JSON (ATTACKS A10, A13, A14, A27). */
export interface StrictJSONOptions {
  /** Deepest nesting of objects and arrays allowed. */
  maxDepth: number;
}

/**
 * Decode bytes as UTF-8, failing on invalid sequences instead of substituting U+FFFD (RFC 8725 §3.7, A27:
 * `"admin\xff"` must not turn into `"admin\uFFFD"`). A BOM is kept, so JSON.parse rejects it.
 */
export function decodeUTF8(bytes: Buffer, what: string): string {
  // Pure ASCII is the common case; latin1 decoding of it is exact and the cheapest.
  if (isAscii(bytes)) return bytes.toString('latin1');
  if (!isUtf8(bytes)) throw new JWSInvalid(`${what} is not valid UTF-8`);
  return bytes.toString('utf8');
}

interface SliceableBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/**
 * decodeUTF8 over the first `len` bytes of `buf` (a scratch area on the verify hot path). The bytes are read
 * as latin1 first: that is exact for ASCII, and the string's UTF-8 length equals its length only when every
 * byte was below 0x80; otherwise the bytes are validated and decoded as UTF-8.
 */
export function decodeUTF8Range(buf: Buffer, len: number, what: string): string {
  const b = buf as SliceableBuffer;
  const text = b.latin1Slice(0, len);
  if (Buffer.byteLength(text, 'utf8') === len) return text;
  if (!isUtf8(new Uint8Array(buf.buffer, buf.byteOffset, len)))
    throw new JWSInvalid(`${what} is not valid UTF-8`);
  return b.utf8Slice(0, len);
}

/**
 * Parse `text` as a JSON object, rejecting what `JSON.parse` lets through: duplicate member names at any
 * depth, compared after unescaping (RFC 7515 §4, RFC 7519 §4; A10: `{"alg":"RS256","\u0061lg":"none"}`),
 * prototype keys (A13) and nesting beyond `maxDepth` (A14).
 *
 * How duplicates are caught without a second parser: in valid JSON every `:` outside a string separates one
 * member, so counting them gives the number of members written. JSON.parse keeps one property per distinct
 * name, so the parsed objects hold fewer own keys than that count exactly when some name was repeated. Both
 * passes are linear and non-recursive. Flat texts (one object, no escapes: most claim sets) are checked more
 * cheaply by their commas instead (see flatCommaCount); the depth bound holds on both paths.
 *
 * @example parseStrictJSONObject('{"alg":"ES256"}', { maxDepth: 16 }, 'header')
 */
export function parseStrictJSONObject(
  text: string,
  options: StrictJSONOptions,
  what: string,
): Record<string, unknown> {
  const commas = flatCommaCount(text, options.maxDepth);
  const members = commas < 0 ? scanText(text, options.maxDepth, what) : 0;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JWSInvalid(`${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JWSInvalid(`${what} is not a JSON object`);
  }
  if (commas >= 0) {
    if (commas !== flatCommasExpected(value, what, commas, text.indexOf('[') !== -1))
      throw new JWSInvalid(`${what} has a duplicate member name`);
    return value as Record<string, unknown>;
  }
  // Fast path for a single object whose text needed the full scan: its own keys are all the keys there are.
  const total = scannedObjects === 1 ? ownKeys(value, what).length : countOwnKeys(value, what);
  if (total !== members) throw new JWSInvalid(`${what} has a duplicate member name`);
  return value as Record<string, unknown>;
}

/**
 * For a "flat" text, the number of `,` in it; otherwise -1. Flat: no backslash (so every string's content is
 * written literally), a `{` first and nowhere else (so, once JSON.parse accepts it, the root is the only
 * object and arrays hold only primitives and arrays), and few enough `[` that the nesting cannot exceed
 * `maxDepth` (each `[` adds at most one level, whether or not it sits inside a string). Native indexOf hops
 * only; a claim set has a handful of commas.
 */
function flatCommaCount(text: string, maxDepth: number): number {
  if (text.charCodeAt(0) !== OPEN_BRACE || text.indexOf('{', 1) !== -1 || text.indexOf('\\') !== -1)
    return -1;
  let depth = 1;
  for (let p = text.indexOf('['); p !== -1; p = text.indexOf('[', p + 1)) depth++;
  if (depth > maxDepth) return -1;
  let commas = 0;
  for (let p = text.indexOf(','); p !== -1; p = text.indexOf(',', p + 1)) commas++;
  return commas;
}

/**
 * The commas a flat text must hold if it wrote the parsed object `root` with no name repeated: one between
 * each two members and each two array elements, plus those inside names and string values (written
 * literally, as the text has no escapes). A text that repeated a name wrote at least one member more, so it
 * holds more commas than this (a repeated member adds its separator, and its name and value add none or
 * more); it can never hold fewer. The commas inside strings are counted only when `written` shows there are
 * any: when the separators alone account for every comma, the text has exactly what it must.
 */
function flatCommasExpected(root: object, what: string, written: number, hasArrays: boolean): number {
  const keys = ownKeys(root, what);
  let separators = keys.length > 0 ? keys.length - 1 : 0;
  // Without a `[` in the text there are no arrays, so no element separators to count.
  const values = hasArrays || separators !== written ? Object.values(root) : [];
  if (hasArrays) for (const v of values) if (Array.isArray(v)) separators += arraySeparators(v, 0);
  if (separators === written) return written;
  let inStrings = 0;
  for (let i = 0; i < keys.length; i++) inStrings += commasIn(keys[i]!) + commasInValue(values[i]);
  return separators + inStrings;
}

/** Commas between elements, through nested arrays. */
function arraySeparators(list: readonly unknown[], depth: number): number {
  // Depth is already bounded by the `[` count; the guard only keeps this function obviously finite.
  if (depth > 64) throw new JWSInvalid('nested too deeply');
  let n = list.length > 0 ? list.length - 1 : 0;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (Array.isArray(v)) n += arraySeparators(v, depth + 1);
  }
  return n;
}

/** Commas inside the strings of a value (a string, or arrays of them; other values write none). */
function commasInValue(v: unknown): number {
  if (typeof v === 'string') return commasIn(v);
  if (!Array.isArray(v)) return 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) n += commasInValue(v[i]);
  return n;
}

function commasIn(s: string): number {
  let n = 0;
  for (let p = s.indexOf(','); p !== -1; p = s.indexOf(',', p + 1)) n++;
  return n;
}

/** Own keys of a single object, refusing prototype-bending names (A13). */
function ownKeys(v: object, what: string): string[] {
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') {
      throw new JWSInvalid(`${what} uses a forbidden member name`);
    }
  }
  return keys;
}

const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

// `{` outside strings seen by the last scanText call (read right after it; everything is synchronous).
let scannedObjects = 0;

/**
 * Count members (`:` outside strings: the number of members written) and objects (`{` outside strings, left
 * in scannedObjects) and bound the nesting depth. It hops from quote to quote with indexOf (native and
 * fast) and looks at characters only in the short gaps between strings.
 */
function scanText(text: string, maxDepth: number, what: string): number {
  let members = 0;
  let objects = 0;
  let depth = 0;
  const n = text.length;
  let pos = 0;
  while (pos < n) {
    const open = text.indexOf('"', pos);
    const gapEnd = open === -1 ? n : open;
    for (let i = pos; i < gapEnd; i++) {
      const c = text.charCodeAt(i);
      if (c === COLON) members++;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (c === OPEN_BRACE) objects++;
        if (++depth > maxDepth) throw new JWSInvalid(`${what} is nested too deeply`);
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    }
    if (open === -1) break;
    let close = text.indexOf('"', open + 1);
    while (close !== -1 && text.charCodeAt(close - 1) === BACKSLASH && isEscaped(text, close))
      close = text.indexOf('"', close + 1);
    if (close === -1) break; // unterminated string: JSON.parse rejects it
    pos = close + 1;
  }
  scannedObjects = objects;
  return members;
}

/** A quote at `j` is escaped when an odd number of backslashes precede it. */
function isEscaped(text: string, j: number): boolean {
  let k = j - 1;
  while (text.charCodeAt(k) === BACKSLASH) k--;
  return ((j - 1 - k) & 1) === 1;
}

/** Own keys over every object in the value, refusing prototype-bending names (A13). Iterative (A14). */
function countOwnKeys(root: object, what: string): number {
  let total = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop() as object;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e: unknown = v[i];
        if (typeof e === 'object' && e !== null) stack.push(e);
      }
      continue;
    }
    const keys = Object.keys(v);
    total += keys.length;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') {
        throw new JWSInvalid(`${what} uses a forbidden member name`);
      }
      const e = (v as Record<string, unknown>)[k];
      if (typeof e === 'object' && e !== null) stack.push(e);
    }
  }
  return total;
}
