import * as nodeCrypto from 'node:crypto';
import { createHash, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { macFunction, type MacFunction } from '@tessera/jwt';

/**
 * Small crypto helpers shared by the OAuth endpoints. Tokens and secrets are random base64url strings;
 * the store only ever sees their hashes.
 */

/**
 * A fresh random token: `bytes` random bytes (default 32 = 256 bits), base64url without padding.
 *
 * @example
 * const refreshToken = randomToken(); // 43 characters
 */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 of a token, hex: how refresh and opaque tokens are stored (a database leak yields no token). */
export function hashToken(token: string): string {
  // crypto.hash (node ≥ 20.12) is one native call, with no Hash object per token.
  if (oneShotHash !== undefined) return oneShotHash('sha256', token);
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string) => string }).hash;

/**
 * The stored form of a client secret: HMAC-SHA-256 keyed with the server pepper, hex. A keyed hash (not
 * bcrypt) because the secret already has ≥ 256 bits of entropy, so checking one costs microseconds; the
 * pepper lives outside the database, so a stolen database alone cannot be used to test guesses.
 *
 * @example
 * const secretHash = hashClientSecret(ctx.pepper, secret);
 */
export function hashClientSecret(pepper: Buffer, secret: string): string {
  let mac = peppers.get(pepper);
  if (mac === undefined) peppers.set(pepper, (mac = macFunction('sha256', createSecretKey(pepper))));
  return Buffer.from(mac(Buffer.from(secret, 'utf8')), 'latin1').toString('hex');
}

// One HMAC function per pepper (the server has one): its padded key is computed once, not per request.
const peppers = new WeakMap<Buffer, MacFunction>();

/** Constant-time comparison of two hex digests (unequal lengths compare false without early exit on content). */
export function equalHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  if (left.length !== right.length || left.length === 0) {
    // Still spend a comparison so a wrong-length stored hash does not answer faster.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
