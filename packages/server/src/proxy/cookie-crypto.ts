/**
 * Sealed cookies: AES-256-GCM over JSON, so the browser holds the proxy's session without being able to read
 * or change it (the tokens inside are bearer credentials; RFC 6265bis §8.6 on cookie integrity). The key is
 * derived with HKDF (RFC 5869) from the client secret: restart-safe and the same on every replica, with no
 * state to share. Each cookie kind gets its own key (`info`), and the cookie's name is the GCM additional
 * data, so a pending sign-in cookie can never be replayed as a session cookie or the other way round.
 */
import { hkdfSync } from 'node:crypto';
import { aeadOpen, aeadSeal, GCM_IV_BYTES, GCM_TAG_BYTES } from '../keys/aead.js';

const VERSION = 1;

/** A sealer for one cookie kind. */
export interface CookieSealer {
  seal(value: object): string;
  /** The value, or undefined for anything forged, truncated, sealed for another cookie or another key. */
  open(sealed: string): Record<string, unknown> | undefined;
}

/**
 * Derive the key for one cookie kind and return its sealer.
 *
 * @example
 * const sessions = createCookieSealer(clientSecret, 'tessera_proxy_session');
 * const value = sessions.open(sessions.seal({ a: 1 })); // { a: 1 }
 */
export function createCookieSealer(secret: string, cookieName: string): CookieSealer {
  const key = Buffer.from(hkdfSync('sha256', secret, 'tessera proxy cookies v1', `cookie:${cookieName}`, 32));
  return {
    seal(value) {
      const { iv, ct, tag } = aeadSeal(key, JSON.stringify(value), cookieName);
      return Buffer.concat([Buffer.of(VERSION), iv, ct, tag]).toString('base64url');
    },
    open(sealed) {
      if (sealed.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
      const raw = Buffer.from(sealed, 'base64url');
      if (raw.length < 1 + GCM_IV_BYTES + GCM_TAG_BYTES || raw[0] !== VERSION) return undefined;
      try {
        const text = aeadOpen(
          key,
          {
            iv: raw.subarray(1, 1 + GCM_IV_BYTES),
            ct: raw.subarray(1 + GCM_IV_BYTES, raw.length - GCM_TAG_BYTES),
            tag: raw.subarray(raw.length - GCM_TAG_BYTES),
          },
          cookieName,
        ).toString('utf8');
        const value: unknown = JSON.parse(text);
        return value !== null && typeof value === 'object' && !Array.isArray(value)
          ? (value as Record<string, unknown>)
          : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
