/**
 * AES-256-GCM, the one authenticated cipher of the server: private keys under the KEK (kek.ts), upstream
 * client secrets (federation/secret-box.ts), `tessera proxy`'s sealed cookies (proxy/cookie-crypto.ts). Each
 * caller binds its ciphertext to where it belongs with the additional data (a kid, a provider id, a cookie
 * name), so a blob moved elsewhere fails authentication instead of being used (NIST SP 800-38D §5.2.1.2).
 * A fresh 96-bit random IV per message: well within GCM's random-IV bound for the volumes at hand.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** The three parts of a sealed message; each caller stores them in its own format. */
export interface SealedParts {
  iv: Buffer;
  ct: Buffer;
  tag: Buffer;
}

export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/**
 * Encrypt and authenticate `plaintext` with `aad` bound to it.
 *
 * @example const { iv, ct, tag } = aeadSeal(key, JSON.stringify(jwk), kid);
 */
export function aeadSeal(key: Buffer, plaintext: string | Buffer, aad: string): SealedParts {
  const iv = randomBytes(GCM_IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([
    typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext),
    cipher.final(),
  ]);
  return { iv, ct, tag: cipher.getAuthTag() };
}

/**
 * Decrypt a sealed message; throws when it fails authentication (another key, other additional data, a
 * changed byte). Callers turn that into their own error, never echoing the ciphertext.
 *
 * @example const plaintext = aeadOpen(key, { iv, ct, tag }, kid).toString('utf8');
 */
export function aeadOpen(key: Buffer, parts: SealedParts, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, parts.iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(parts.tag);
  return Buffer.concat([decipher.update(parts.ct), decipher.final()]);
}

/** The parts as base64url text, for JSON blobs (kek.ts, federation/secret-box.ts). */
export interface EncodedParts {
  iv: string;
  tag: string;
  ct: string;
}

/**
 * @example const blob = { v: 1, alg: 'A256GCM', ...encodeParts(aeadSeal(key, text, aad)) };
 */
export function encodeParts(parts: SealedParts): EncodedParts {
  return {
    iv: parts.iv.toString('base64url'),
    tag: parts.tag.toString('base64url'),
    ct: parts.ct.toString('base64url'),
  };
}

/**
 * @example const plaintext = aeadOpen(key, decodeParts(blob), aad);
 */
export function decodeParts(encoded: EncodedParts): SealedParts {
  return {
    iv: Buffer.from(encoded.iv, 'base64url'),
    tag: Buffer.from(encoded.tag, 'base64url'),
    ct: Buffer.from(encoded.ct, 'base64url'),
  };
}
