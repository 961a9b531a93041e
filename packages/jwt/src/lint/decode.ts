/**
 * A browser-safe, UNVERIFIED decoder for the web debugger (the CLI uses the core's `decodeJWT`). It is as
 * strict about the encoding as the core: canonical base64url only, fatal UTF-8, JSON objects only.
 */

/** A compact JWS split and decoded, without any signature check. */
export interface DecodedToken {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The three base64url segments as they appear in the token. */
  segments: [string, string, string];
  /** The signature bytes. */
  signature: Uint8Array;
  /** Size of the compact token in bytes. */
  size: number;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
// A debugger needs no bigger tokens than a server would ever accept.
const MAX_TOKEN_BYTES = 64 * 1024;

/** Decode canonical unpadded base64url (RFC 7515 §2) or throw. */
export function decodeBase64urlBytes(s: string): Uint8Array {
  if ((s.length & 3) === 1) throw new Error('segment is not canonical base64url');
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? VALUE[c]! : -1;
    if (v < 0) throw new Error('segment is not canonical base64url');
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  // Non-zero spare bits would let two strings decode to the same bytes.
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) throw new Error('segment is not canonical base64url');
  return out;
}

function decodeJSONObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(decodeBase64urlBytes(segment)),
    );
  } catch {
    throw new Error(`${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Split and decode a compact JWS without verifying it. Errors never repeat the input.
 *
 * @example decodeUnverified(token).payload.sub
 */
export function decodeUnverified(token: string): DecodedToken {
  const compact = token.trim();
  const size = new TextEncoder().encode(compact).length;
  if (size > MAX_TOKEN_BYTES) throw new Error('token is larger than 64 KiB');
  const parts = compact.split('.');
  if (parts.length === 5) throw new Error('token is a JWE (encrypted): it cannot be decoded without the key');
  if (parts.length !== 3) throw new Error('token is not a compact JWS (three dot-separated parts)');
  const [h, p, s] = parts as [string, string, string];
  return {
    header: decodeJSONObject(h, 'header'),
    payload: decodeJSONObject(p, 'payload'),
    segments: [h, p, s],
    signature: decodeBase64urlBytes(s),
    size,
  };
}
