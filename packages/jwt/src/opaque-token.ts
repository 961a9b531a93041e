import { createHash, randomBytes } from 'node:crypto';

/**
 * Tessera's opaque token format, shared by the server (which mints them) and the SDK (which refuses any
 * string that cannot be one before spending an introspection call on it):
 *
 *   <prefix> <43 chars: 32 random bytes, base64url> <6 chars: first 4 bytes of SHA-256(prefix + random), base64url>
 *
 * The prefix names the kind (`tsa_` access token, `tsr_` refresh token), so a refresh token handed to an API
 * is refused without a call, and secret scanners can find leaked tokens. The checksum is no secret (anyone
 * can compute it): it only makes a typo or a random string cost nothing. Security rests on the 256 random
 * bits and on the server's lookup by hash, never on the shape.
 */

/** Prefix of opaque access tokens. */
export const OPAQUE_ACCESS_TOKEN_PREFIX = 'tsa_';
/** Prefix of refresh tokens. */
export const OPAQUE_REFRESH_TOKEN_PREFIX = 'tsr_';

export type OpaqueTokenPrefix = typeof OPAQUE_ACCESS_TOKEN_PREFIX | typeof OPAQUE_REFRESH_TOKEN_PREFIX;

const RANDOM_BYTES = 32;
const RANDOM_CHARS = 43; // ceil(32 * 4 / 3), no padding
const CHECK_CHARS = 6; // 4 bytes
/** Length of every Tessera opaque token. */
export const OPAQUE_TOKEN_LENGTH = 4 + RANDOM_CHARS + CHECK_CHARS;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function checksum(text: string): string {
  return createHash('sha256').update(text, 'latin1').digest().subarray(0, 4).toString('base64url');
}

/**
 * A fresh opaque token of the given kind.
 *
 * @example
 * const token = createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX); // 'tsa_…', 53 characters
 */
export function createOpaqueToken(prefix: OpaqueTokenPrefix): string {
  const body = prefix + randomBytes(RANDOM_BYTES).toString('base64url');
  return body + checksum(body);
}

/**
 * True when `token` has the exact shape of a Tessera opaque token of the given kind: prefix, length,
 * base64url alphabet and checksum. A false answer means the token service would certainly answer
 * `active: false`, so no call is needed.
 *
 * @example
 * if (!isOpaqueTokenShape(token)) return unauthorized();
 */
export function isOpaqueTokenShape(
  token: string,
  prefix: OpaqueTokenPrefix = OPAQUE_ACCESS_TOKEN_PREFIX,
): boolean {
  if (typeof token !== 'string' || token.length !== OPAQUE_TOKEN_LENGTH || !token.startsWith(prefix))
    return false;
  if (!BASE64URL.test(token.slice(prefix.length))) return false;
  const body = token.slice(0, OPAQUE_TOKEN_LENGTH - CHECK_CHARS);
  return checksum(body) === token.slice(OPAQUE_TOKEN_LENGTH - CHECK_CHARS);
}
