import { JWTClaimInvalid, JWTExpired, JWTNotYetValid } from './errors.js';
import type { JWTPayload } from './types.js';

/** Claim rules, validated once when the verifier is created. Times in seconds. */
export interface ClaimRules {
  /** Accepted `iss` values (distinct), or null when the check is switched off on purpose. */
  issuers: readonly string[] | null;
  /** Accepted `aud` values (distinct), or null when the check is switched off on purpose. */
  audiences: readonly string[] | null;
  subject: string | undefined;
  clockTolerance: number;
  maxTokenAge: number | undefined;
  allowMissingExp: boolean;
  requiredClaims: readonly string[];
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Exact membership in a short configured list. Claim strings are fresh from JSON.parse, so a Set would hash
 * each one first (measured ~140 ns for iss and aud together); === stops at the first differing length or
 * character.
 */
function oneOf(list: readonly string[], value: string): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === value) return true;
  return false;
}

/**
 * Check the registered claims. Types come first and apply whether or not a check was asked for: a wrong
 * type is a rejection, never "absent" (A11: `"exp":"never"`, `"aud":{"0":"api"}`, CVE-2026-25537,
 * CVE-2020-26160). Comparisons are exact string equality, never substring or `in` (A11, CVE-2024-53861).
 * Times follow RFC 7519 §4.1.4–4.1.6 with a small, non-negative tolerance (A12).
 */
export function validateClaims(payload: JWTPayload, rules: ClaimRules, now: number): void {
  const { iss, sub, jti, aud, exp, nbf, iat } = payload;
  if (iss !== undefined && typeof iss !== 'string') throw new JWTClaimInvalid('iss', 'must be a string');
  if (sub !== undefined && typeof sub !== 'string') throw new JWTClaimInvalid('sub', 'must be a string');
  if (jti !== undefined && typeof jti !== 'string') throw new JWTClaimInvalid('jti', 'must be a string');
  if (aud !== undefined) {
    if (Array.isArray(aud)) {
      if (aud.length === 0 || !aud.every((a) => typeof a === 'string')) {
        throw new JWTClaimInvalid('aud', 'must be a string or a non-empty array of strings');
      }
    } else if (typeof aud !== 'string')
      throw new JWTClaimInvalid('aud', 'must be a string or a non-empty array of strings');
  }
  if (exp !== undefined && !isTime(exp)) throw new JWTClaimInvalid('exp', 'must be a number');
  if (nbf !== undefined && !isTime(nbf)) throw new JWTClaimInvalid('nbf', 'must be a number');
  if (iat !== undefined && !isTime(iat)) throw new JWTClaimInvalid('iat', 'must be a number');

  // RFC 8725 §3.8/§3.9 (A22): issuer and audience must match unless switched off explicitly.
  if (rules.issuers !== null) {
    if (iss === undefined) throw new JWTClaimInvalid('iss', 'is missing');
    if (!oneOf(rules.issuers, iss)) throw new JWTClaimInvalid('iss', 'does not match an accepted issuer');
  }
  if (rules.audiences !== null) {
    if (aud === undefined) throw new JWTClaimInvalid('aud', 'is missing');
    let ok = false;
    if (typeof aud === 'string') ok = oneOf(rules.audiences, aud);
    else for (const a of aud) if (oneOf(rules.audiences, a)) ok = true;
    if (!ok) throw new JWTClaimInvalid('aud', 'does not contain an accepted audience');
  }
  if (rules.subject !== undefined && sub !== rules.subject) {
    throw new JWTClaimInvalid(
      'sub',
      sub === undefined ? 'is missing' : 'does not match the expected subject',
    );
  }

  const tol = rules.clockTolerance;
  if (exp === undefined) {
    if (!rules.allowMissingExp) throw new JWTClaimInvalid('exp', 'is missing');
  } else if (now >= exp + tol) {
    // RFC 7519 §4.1.4: on or after exp the token MUST NOT be accepted.
    throw new JWTExpired();
  }
  if (nbf !== undefined && now < nbf - tol) throw new JWTNotYetValid('nbf');
  // A12: an iat in the future makes "age" meaningless; refuse it.
  if (iat !== undefined && iat > now + tol) throw new JWTNotYetValid('iat');
  if (rules.maxTokenAge !== undefined) {
    if (iat === undefined) throw new JWTClaimInvalid('iat', 'is missing (maxTokenAge requires it)');
    if (now - iat > rules.maxTokenAge + tol)
      throw new JWTExpired('"iat" claim timestamp check failed (too old)');
  }
  for (const name of rules.requiredClaims) {
    if (!Object.hasOwn(payload, name)) throw new JWTClaimInvalid(name, 'is missing');
  }
}
