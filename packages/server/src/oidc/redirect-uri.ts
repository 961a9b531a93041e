/**
 * Redirect URI matching (RFC 9700 §4.1.3, OIDC Core §3.1.2.1): exact string comparison with a registered
 * URI, no normalisation, no prefix or wildcard matching (open redirectors and code theft through a lax
 * match). One exception, RFC 8252 §7.3: a native app listening on the loopback interface gets a port from
 * the OS at run time, so for `http://127.0.0.1` and `http://[::1]` registrations the port may differ;
 * everything else (scheme, host text, path, query) must still be identical. Not for `localhost` (RFC 8252
 * §8.3: the name may resolve to something else).
 */
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?].*)?$/s;

function loopbackParts(uri: string): { host: string; port: string | undefined; rest: string } | undefined {
  const match = LOOPBACK.exec(uri);
  if (match === null) return undefined;
  const port = match[2];
  if (port !== undefined && (Number(port) > 65535 || (port.length > 1 && port.startsWith('0'))))
    return undefined;
  return { host: match[1]!, port, rest: match[3] ?? '' };
}

/**
 * The registered URI that `given` matches, or undefined.
 *
 * @example
 * matchRedirectUri(['http://127.0.0.1/cb'], 'http://127.0.0.1:53012/cb'); // 'http://127.0.0.1/cb'
 */
export function matchRedirectUri(registered: readonly string[], given: string): string | undefined {
  if (registered.includes(given)) return given;
  const parts = loopbackParts(given);
  if (parts === undefined) return undefined;
  return registered.find((uri) => {
    const reg = loopbackParts(uri);
    return reg !== undefined && reg.host === parts.host && reg.rest === parts.rest;
  });
}

/**
 * `uri` with the response parameters appended to its query (RFC 6749 §4.1.2: the query component of the
 * registered URI is kept). Registered URIs have no fragment, so appending is enough.
 */
export function withQuery(uri: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.append(name, value);
  const text = query.toString();
  if (text === '') return uri;
  const separator = uri.includes('?') ? (uri.endsWith('?') || uri.endsWith('&') ? '' : '&') : '?';
  return `${uri}${separator}${text}`;
}
