/** What extractBearerToken found. Adapters map `malformed` to 400 invalid_request and `missing` to a bare 401. */
export type BearerResult =
  | { status: 'ok'; token: string }
  /** No bearer credentials at all (no header, or another scheme): RFC 6750 §3.1 says answer without an error code. */
  | { status: 'missing' }
  /** An Authorization header that claims Bearer but is not `Bearer <b64token>`: 400 invalid_request. */
  | { status: 'malformed'; description: string };

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". Checked with a
// table scan rather than a regular expression: same grammar, a fraction of the cost on a 600-character token.
const TOKEN_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/')
  TOKEN_CHAR[c.charCodeAt(0)] = 1;
const MAX_HEADER_LENGTH = 16384;

function isB64Token(value: string, start: number): boolean {
  const n = value.length;
  let i = start;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] === 0) break;
  }
  if (i === start) return false;
  while (i < n && value.charCodeAt(i) === 0x3d) i++;
  return i === n;
}

/** Whether value[0, 6) is "bearer" in any case (RFC 7235 §2.1); each letter has exactly two ASCII forms. */
function isBearerScheme(value: string): boolean {
  return (
    (value.charCodeAt(0) | 0x20) === 0x62 &&
    (value.charCodeAt(1) | 0x20) === 0x65 &&
    (value.charCodeAt(2) | 0x20) === 0x61 &&
    (value.charCodeAt(3) | 0x20) === 0x72 &&
    (value.charCodeAt(4) | 0x20) === 0x65 &&
    (value.charCodeAt(5) | 0x20) === 0x72
  );
}

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
  if (value.length > MAX_HEADER_LENGTH)
    return { status: 'malformed', description: 'Authorization header too long' };
  const space = value.indexOf(' ');
  if ((space < 0 ? value.length : space) !== 6 || !isBearerScheme(value)) return { status: 'missing' };
  if (space < 0) return { status: 'malformed', description: 'Bearer credentials are missing the token' };
  if (!isB64Token(value, space + 1)) {
    return { status: 'malformed', description: 'expected exactly one space and one token after "Bearer"' };
  }
  return { status: 'ok', token: value.slice(space + 1) };
}
