/**
 * Where the browser goes back after sign-in: only a path on the proxy's own origin. Anything else would be
 * an open redirect (CWE-601; OAuth 2.0 Security BCP, RFC 9700 §4.11): a link through the proxy's sign-in
 * that lands on a phishing page with the proxy's trust.
 */

/** Longest return path kept (the pending cookie carries it). */
export const RETURN_PATH_MAX = 2048;

/**
 * The return path if it is a same-origin relative path, else undefined. Accepted: `/`, then only visible
 * ASCII. Refused: `//host` and `/\host` (browsers read both as another host), schemes (`https:`,
 * `javascript:`), backslashes anywhere (some browsers turn them into `/`), control characters, spaces and
 * non-ASCII (tab and newline are stripped by URL parsers, turning `/\t/evil` into `//evil`), and anything
 * whose resolution against the origin leaves it. The check is repeated on the resolved URL, so a path the
 * WHATWG parser would move to another origin is refused whatever the reason.
 *
 * @example safeReturnPath('/orders?id=1'); // '/orders?id=1'
 * @example safeReturnPath('//evil.example/'); // undefined
 */
export function safeReturnPath(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.length === 0 || raw.length > RETURN_PATH_MAX) return undefined;
  if (raw[0] !== '/' || raw[1] === '/' || raw[1] === '\\') return undefined;
  if (!/^[\x21-\x7e]+$/.test(raw) || raw.includes('\\')) return undefined;
  // Percent-encoded separators that a server could decode into `//host` after the redirect.
  if (/^\/(%2f|%5c)/i.test(raw)) return undefined;
  const base = 'http://proxy.invalid';
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return undefined;
  }
  if (url.origin !== base) return undefined;
  return raw;
}
