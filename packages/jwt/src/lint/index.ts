/**
 * `@tessera/jwt/lint`: token lint rules shared by `tessera inspect` and the web debugger (one
 * implementation, loaded by the browser as an ES module). Browser-safe: no `node:` imports, no Buffer.
 */
import { RULES, type Finding, type LintContext, type Severity } from './rules.js';

export {
  RULES,
  LIFETIME_ERROR_SECONDS,
  LIFETIME_WARNING_SECONDS,
  SIZE_ERROR_BYTES,
  SIZE_WARNING_BYTES,
} from './rules.js';
export type { Finding, LintContext, LintRule, Severity } from './rules.js';
export { findSensitiveData, findSensitiveMatches, isSensitiveClaimName, passesLuhn } from './sensitive.js';
export type { SensitiveDataKind, SensitiveDataMatch } from './sensitive.js';
export { describeTimes, formatDuration } from './times.js';
export type { TokenTimes } from './times.js';
export { decodeUnverified, decodeBase64urlBytes } from './decode.js';
export type { DecodedToken } from './decode.js';

/** What {@link lintToken} looks at. */
export interface LintTokenOptions {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** Size of the compact token in bytes. */
  size: number;
  /** Seconds since the epoch (default: the current time). */
  now?: number;
  /** How many services accept the token (default: the number of `aud` values). */
  audienceCount?: number;
  /** The token is meant as an access token even if its claims do not say so (enables `typ-missing`). */
  accessToken?: boolean;
}

/** Severities from most to least severe. */
export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

/** Rank for comparisons: error 3, warning 2, info 1. */
export function severityRank(severity: Severity): number {
  return 3 - SEVERITIES.indexOf(severity);
}

/** True when `findings` holds one at or above `failOn` (a CI gate). */
export function hasFindingAtOrAbove(findings: readonly Finding[], failOn: Severity): boolean {
  return findings.some((f) => severityRank(f.severity) >= severityRank(failOn));
}

/**
 * Run every rule on a decoded (not necessarily verified) token.
 *
 * @example
 * const { header, payload } = decodeJWT(token);
 * lintToken({ header, payload, size: Buffer.byteLength(token), now: 1_700_000_000 })
 * // → [{ rule: 'kid-missing', severity: 'warning', message: 'No "kid" in the header: …' }, …]
 */
export function lintToken(options: LintTokenOptions): Finding[] {
  const { header, payload, size } = options;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const aud = payload.aud;
  const audienceCount =
    options.audienceCount ?? (typeof aud === 'string' ? 1 : Array.isArray(aud) ? new Set(aud).size : 0);
  const ctx: LintContext = {
    header,
    payload,
    size,
    now,
    audienceCount,
    accessToken: options.accessToken === true,
  };
  const findings: Finding[] = [];
  for (const rule of RULES) {
    const result = rule.check(ctx);
    if (result === undefined) continue;
    for (const message of Array.isArray(result) ? result : [result])
      findings.push({ rule: rule.id, severity: rule.severity, message });
  }
  return findings;
}
