import { isAlg } from './alg.js';
import { decodeBase64url } from './base64url.js';
import { JOSEAlgNotAllowed, JOSENotSupported, JWSInvalid } from './errors.js';
import { decodeUTF8, parseStrictJSONObject } from './json.js';
import type { Alg, JWSHeader } from './types.js';

/** A 4 KiB header is already absurd; bound the work before decoding (A14). */
export const MAX_HEADER_SEGMENT = 4096;
export const MAX_JSON_DEPTH = 16;
const MAX_KID_LENGTH = 256;

/**
 * Decode and check a protected header segment. Everything the verifier refuses about a header is here, in
 * checklist order (ATTACKS "verify path" steps 3–6):
 * - strict base64url, fatal UTF-8, duplicate-free JSON object (A10, A13, A15, A27);
 * - `alg` a case-sensitive string on the caller's list; `none` never (A01, RFC 8725 §3.1);
 * - no key material or key URLs from the token: `jwk`, `jku`, `x5u`, `x5c` (A03, A04, RFC 8725 §3.10);
 * - `crit` names nothing we implement, so any `crit` fails (RFC 7515 §4.1.11, A16);
 * - `b64` is refused outright: JWTs must not use unencoded payloads (RFC 7797 §7, A17); `zip` and `enc`
 *   belong to JWE (A19, A25);
 * - `kid` an opaque string of bounded length (A05).
 */
export function parseProtectedHeader(segment: string, allowed: ReadonlySet<string> | undefined): JWSHeader {
  if (segment.length === 0) throw new JWSInvalid('empty protected header');
  if (segment.length > MAX_HEADER_SEGMENT) throw new JWSInvalid('protected header too large');
  const text = decodeUTF8(decodeBase64url(segment, 'protected header'), 'protected header');
  const header = parseStrictJSONObject(text, { maxDepth: MAX_JSON_DEPTH }, 'protected header');
  const alg = header.alg;
  if (typeof alg !== 'string') throw new JWSInvalid('"alg" header parameter missing or not a string');
  if (alg.toLowerCase() === 'none')
    throw new JOSEAlgNotAllowed('unsecured JWS ("alg": "none") is never accepted');
  if (allowed !== undefined && !allowed.has(alg)) throw new JOSEAlgNotAllowed();
  if (!isAlg(alg)) throw new JOSEAlgNotAllowed('unsupported algorithm');
  if (
    Object.hasOwn(header, 'jwk') ||
    Object.hasOwn(header, 'jku') ||
    Object.hasOwn(header, 'x5u') ||
    Object.hasOwn(header, 'x5c')
  ) {
    throw new JWSInvalid(
      'token names its own key or key URL (jwk/jku/x5u/x5c); keys come only from configuration',
    );
  }
  if (Object.hasOwn(header, 'crit')) {
    const crit = header.crit;
    if (!Array.isArray(crit) || crit.length === 0 || !crit.every((c) => typeof c === 'string')) {
      throw new JWSInvalid('"crit" must be a non-empty array of strings');
    }
    throw new JOSENotSupported('"crit" names an extension Tessera does not process');
  }
  if (Object.hasOwn(header, 'b64')) throw new JOSENotSupported('"b64" is not allowed in a JWT (RFC 7797 §7)');
  if (Object.hasOwn(header, 'zip') || Object.hasOwn(header, 'enc')) {
    throw new JWSInvalid('JWE header parameters in a JWS');
  }
  if (Object.hasOwn(header, 'kid')) {
    const kid = header.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
      throw new JWSInvalid('"kid" must be a non-empty string of bounded length');
    }
  }
  if (Object.hasOwn(header, 'typ') && typeof header.typ !== 'string')
    throw new JWSInvalid('"typ" must be a string');
  return Object.freeze(header) as JWSHeader;
}

/**
 * RFC 7515 §4.1.9: media types compare case-insensitively and `application/` may be omitted, so
 * `at+jwt`, `AT+JWT` and `application/at+jwt` are one type (RFC 9068 §4).
 */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice(12) : lower;
}

export type { Alg };
