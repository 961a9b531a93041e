/** Human-readable token times for `tessera inspect` and the web debugger. Browser-safe. */

/** The token's times in words; a member is absent when the claim is. */
export interface TokenTimes {
  /** "issued 3 min ago" / "issued in 2 min" (clock skew). */
  issued?: string;
  /** "became valid 1 min ago" / "becomes valid in 5 min". */
  notBefore?: string;
  /** "expires in 12 min" / "expired 3 h ago". */
  expires?: string;
  /** "lifetime 15 min" (exp − iat, else exp − nbf). */
  lifetime?: string;
}

/**
 * A duration in the largest unit that keeps it readable.
 *
 * @example formatDuration(900) // '15 min'
 */
export function formatDuration(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const relative = (t: number, now: number) =>
  t >= now ? `in ${formatDuration(t - now)}` : `${formatDuration(now - t)} ago`;

/**
 * Describe `iat`, `nbf`, `exp` and the lifetime relative to `now` (seconds since the epoch).
 *
 * @example
 * describeTimes({ iat: 1000, exp: 1900 }, 1180)
 * // → { issued: 'issued 3 min ago', expires: 'expires in 12 min', lifetime: 'lifetime 15 min' }
 */
export function describeTimes(payload: Record<string, unknown>, now: number): TokenTimes {
  const { iat, nbf, exp } = payload;
  const times: TokenTimes = {};
  if (isNum(iat)) times.issued = `issued ${relative(iat, now)}`;
  if (isNum(nbf))
    times.notBefore =
      nbf > now ? `becomes valid ${relative(nbf, now)}` : `became valid ${relative(nbf, now)}`;
  if (isNum(exp))
    times.expires = exp > now ? `expires ${relative(exp, now)}` : `expired ${relative(exp, now)}`;
  const start = isNum(iat) ? iat : isNum(nbf) ? nbf : undefined;
  if (isNum(exp) && start !== undefined) times.lifetime = `lifetime ${formatDuration(exp - start)}`;
  return times;
}
