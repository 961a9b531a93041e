/** What extractBearerToken found. Adapters map `malformed` to 400 invalid_request and `missing` to a bare 401. */
export type BearerResult =
  | { status: 'ok'; token: string }
  /** No bearer credentials at all (no header, or another scheme): RFC 6750 §3.1 says answer without an error code. */
  | { status: 'missing' }
  /** An Authorization header that claims Bearer but is not `Bearer <b64token>`: 400 invalid_request. */
  | { status: 'malformed'; description: string };

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_HEADER_LENGTH = 16384;

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
  return extractBearerTokenKnown(authorization, undefined);
}

/**
 * extractBearerToken, with one shortcut for the middleware: when `known(token)` says the candidate is exactly a
 * string already proven to be a b64token (a token held by the verified-token cache is a strictly parsed
 * compact JWS: base64url segments and dots only), the character scan is skipped. Same answers either way.
 */
export function extractBearerTokenKnown(
  authorization: string | readonly string[] | undefined | null,
  known: ((token: string) => boolean) | undefined,
): BearerResult {
  if (authorization === undefined || authorization === null) return { status: 'missing' };
  // Several Authorization headers are ambiguous: which one would a proxy have checked?
  if (typeof authorization !== 'string') {
    return authorization.length === 0
      ? { status: 'missing' }
      : { status: 'malformed', description: 'several Authorization headers' };
  }
  const value = authorization;
  if (value.length > MAX_HEADER_LENGTH)
    return { status: 'malformed', description: 'Authorization header too long' };
  const space = value.indexOf(' ');
  const scheme = space < 0 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return { status: 'missing' };
  if (space < 0) return { status: 'malformed', description: 'Bearer credentials are missing the token' };
  const token = value.slice(space + 1);
  if (!(known !== undefined && known(token)) && !B64TOKEN.test(token)) {
    return { status: 'malformed', description: 'expected exactly one space and one token after "Bearer"' };
  }
  return { status: 'ok', token };
}
