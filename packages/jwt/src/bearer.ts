/** What extractBearerToken found. Adapters map `malformed` to 400 invalid_request and `missing` to a bare 401. */
export type BearerResult =
  | { status: 'ok'; token: string }
  /** No bearer credentials at all (no header, or another scheme): RFC 6750 §3.1 says answer without an error code. */
  | { status: 'missing' }
  /** An Authorization header that claims Bearer but is not `Bearer <b64token>`: 400 invalid_request. */
  | { status: 'malformed'; description: string };

/**
 * RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", the credentials
 * after `Bearer ` and after `DPoP ` alike (RFC 9449 §7.1).
 */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** The longest Authorization header value accepted; a longer one is malformed. */
export const MAX_AUTHORIZATION_LENGTH = 16384;

/**
 * Read a bearer token from an Authorization header value, the only place RFC 6750 §2.1 allows by default
 * (never the query string: URLs end up in logs and Referer headers, RFC 6750 §5.3). The scheme is
 * case-insensitive (RFC 7235 §2.1); exactly one space, then exactly one b64token. Every adapter uses this.
 *
 * @example
 * const r = extractBearerToken(req.headers.authorization);
 * if (r.status === 'ok') await verifier.verify(r.token);
 */
export function extractBearerToken(
  authorization: string | readonly string[] | undefined | null,
): BearerResult {
  if (authorization === undefined || authorization === null) return { status: 'missing' };
  // Several Authorization headers are ambiguous: which one would a proxy have checked?
  if (typeof authorization !== 'string') {
    return authorization.length === 0
      ? { status: 'missing' }
      : { status: 'malformed', description: 'several Authorization headers' };
  }
  const value = authorization;
  if (value.length > MAX_AUTHORIZATION_LENGTH)
    return { status: 'malformed', description: 'Authorization header too long' };
  // The scheme is everything before the first space.
  if (!hasBearerPrefix(value)) {
    return value.length === 6 && startsWithLowerASCII(value, 'bearer')
      ? { status: 'malformed', description: 'Bearer credentials are missing the token' }
      : { status: 'missing' };
  }
  const token = value.slice(7);
  if (!B64TOKEN.test(token)) {
    return { status: 'malformed', description: 'expected exactly one space and one token after "Bearer"' };
  }
  return { status: 'ok', token };
}

/**
 * Check a bearer token found somewhere other than the Authorization header (a middleware `getToken`, e.g. a
 * cookie) by the same rules as extractBearerToken: no token (undefined, null, '') is `missing`; otherwise
 * exactly one RFC 6750 §2.1 b64token, no longer than a header would allow.
 *
 * @example const r = checkBearerToken(cookies.access_token); if (r.status === 'ok') await verifier.verify(r.token);
 */
export function checkBearerToken(token: unknown): BearerResult {
  if (token === undefined || token === null || token === '') return { status: 'missing' };
  if (typeof token !== 'string') return { status: 'malformed', description: 'the token is not a string' };
  if (token.length > MAX_AUTHORIZATION_LENGTH - 7)
    return { status: 'malformed', description: 'token too long' };
  if (!B64TOKEN.test(token)) return { status: 'malformed', description: 'the token is not a b64token' };
  return { status: 'ok', token };
}

/**
 * Whether `value` starts with `lower` (lower-case ASCII letters) compared case-insensitively, without slicing
 * or lower-casing: `c | 0x20` folds ASCII upper case onto lower case, and onto a lower-case letter nothing else
 * folds, so this is exactly `value.slice(0, n).toLowerCase() === lower` for ASCII letters (HTTP schemes and
 * header names are case-insensitive: RFC 7235 §2.1, RFC 9110 §5.1).
 */
export function startsWithLowerASCII(value: string, lower: string): boolean {
  const n = lower.length;
  if (value.length < n) return false;
  for (let i = 0; i < n; i++) if ((value.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * Whether `value` is the Bearer scheme and one space, so that `value.slice(7)` is the candidate token.
 * Says nothing about the token (extractBearerToken applies every rule). For the middleware's fast path.
 */
export function hasBearerPrefix(value: string): boolean {
  if (value.startsWith('Bearer ')) return true; // how clients send it
  return value.length >= 7 && value.charCodeAt(6) === 0x20 && startsWithLowerASCII(value, 'bearer');
}
