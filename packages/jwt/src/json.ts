import { JWSInvalid } from './errors.js';

/** Limits for untrusted JSON (ATTACKS A10, A13, A14, A27). */
export interface StrictJSONOptions {
  /** Deepest nesting of objects and arrays allowed. */
  maxDepth: number;
}

// RFC 8725 §3.7: UTF-8 only, and invalid bytes must fail rather than become U+FFFD (A27).
// ignoreBOM keeps a BOM in the text so that JSON.parse rejects it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// A13: these names let a later merge or `for…in` copy rewrite prototypes; rejecting is simpler than stripping.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Decode bytes as fatal UTF-8 or throw `JWSInvalid`. */
export function decodeUTF8(bytes: Uint8Array, what: string): string {
  // Pure ASCII is the common case and latin1 decoding of it is exact and cheaper.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    throw new JWSInvalid(`${what} is not valid UTF-8`);
  }
}

/**
 * Parse `text` as a JSON object, rejecting what `JSON.parse` lets through: duplicate member names at any
 * depth, compared after unescaping (RFC 7515 §4, RFC 7519 §4; A10: `{"alg":"RS256","\u0061lg":"none"}`),
 * prototype keys (A13) and nesting beyond `maxDepth` (A14). One linear, non-recursive scan, then the native
 * parser builds the value.
 *
 * @example parseStrictJSONObject('{"alg":"ES256"}', { maxDepth: 16 }, 'header')
 */
export function parseStrictJSONObject(
  text: string,
  options: StrictJSONOptions,
  what: string,
): Record<string, unknown> {
  scanJSON(text, options.maxDepth, what);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JWSInvalid(`${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JWSInvalid(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * Walks the text once, tracking containers on an explicit stack. It validates only what JSON.parse cannot
 * see (duplicates, forbidden names, depth); syntax errors are left to JSON.parse, and the scan stays linear
 * and bounded on any input.
 */
function scanJSON(text: string, maxDepth: number, what: string): void {
  // Per depth: null for arrays, the set of member names (created lazily) for objects.
  const stack: (Set<string> | null | undefined)[] = [];
  const isObject: boolean[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      i++;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) {
          escaped = true;
          i++;
        } else if (d === QUOTE) break;
      }
      if (expectKey) {
        expectKey = false;
        let key: string;
        if (escaped) {
          try {
            key = JSON.parse(text.slice(start, i + 1)) as string;
          } catch {
            throw new JWSInvalid(`${what} is not valid JSON`);
          }
        } else key = text.slice(start + 1, i);
        if (FORBIDDEN_KEYS.has(key)) throw new JWSInvalid(`${what} uses a forbidden member name`);
        const top = stack.length - 1;
        let seen = stack[top];
        if (seen === undefined) stack[top] = seen = new Set();
        if (seen === null) continue;
        if (seen.has(key)) throw new JWSInvalid(`${what} has a duplicate member name`);
        seen.add(key);
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (stack.length >= maxDepth) throw new JWSInvalid(`${what} is nested too deeply`);
      const obj = c === OPEN_BRACE;
      stack.push(obj ? undefined : null);
      isObject.push(obj);
      expectKey = obj;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      stack.pop();
      isObject.pop();
      expectKey = false;
    } else if (c === COMMA) {
      expectKey = isObject[isObject.length - 1] === true;
    }
  }
}
