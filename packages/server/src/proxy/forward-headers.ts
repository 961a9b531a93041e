/**
 * Header hygiene between the browser, the proxy and the app. The app trusts what the proxy adds, so
 * everything the proxy adds is first removed from what the client sent (header spoofing: a client that
 * sends its own `Tessera-Jwt-Assertion` or `X-Forwarded-For` must not reach the app with it).
 */
import type { IncomingHttpHeaders } from 'node:http';

export const ASSERTION_HEADER = 'tessera-jwt-assertion';

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection and are never forwarded, in either
 * direction. `proxy-authorization` is meant for this proxy (RFC 9110 §11.7.2); `proxy-connection` is the
 * pre-standard spelling some clients still send. Names listed in `Connection` go too (reply-from drops those
 * before our rewrite, and we drop them again for the WebSocket path and the responses).
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const NONE: readonly string[] = [];

function connectionListed(headers: Record<string, unknown>): readonly string[] {
  const value = headers['connection'];
  // Most requests and answers carry no Connection field or only `keep-alive`: no list to build.
  if (value === undefined || value === 'keep-alive') return NONE;
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  return text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
}

/** What the proxy adds to one request. */
export interface Forwarding {
  /** The access token to forward, or undefined for a public path. */
  token: string | undefined;
  assertionHeader: boolean;
  /** The proxy's own cookie names (never forwarded: the app must not be able to replay the session). */
  cookieNames: ReadonlySet<string>;
  clientIp: string;
  /** `http` or `https`, from the proxy's public URL (never from the client). */
  proto: string;
  /** The public host, from the proxy's public URL (never the client's Host header). */
  host: string;
}

/**
 * Drop the proxy's own cookies from a Cookie header; undefined when nothing is left.
 *
 * @example withoutOwnCookies('tessera_proxy_session=x; theme=dark', names); // 'theme=dark'
 */
export function withoutOwnCookies(header: string, names: ReadonlySet<string>): string | undefined {
  const kept = header
    .split(';')
    .filter((pair) => {
      const at = pair.indexOf('=');
      const name = (at < 0 ? pair : pair.slice(0, at)).trim();
      return name !== '' && !names.has(name);
    })
    .map((p) => p.trim());
  return kept.length === 0 ? undefined : kept.join('; ');
}

/**
 * The headers sent upstream, built from the client's (a copy; `upgrade`/`connection` are set again by the
 * WebSocket client where needed). First every identity and forwarding header the client sent is removed:
 * `Tessera-Jwt-Assertion`, `Authorization` when the proxy injects its own (with `assertionHeader` the
 * client's Authorization is the app's business and passes untouched), `Forwarded` (RFC 7239) and every
 * `X-Forwarded-*` and `X-Real-IP`, the proxy's cookies, hop-by-hop fields. Then the proxy's own are set.
 *
 * @example
 * const headers = forwardHeaders(request.headers, { token, assertionHeader: false, cookieNames, clientIp, proto: 'https', host: 'app.example' });
 */
export function forwardHeaders(
  incoming: IncomingHttpHeaders,
  f: Forwarding,
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  const listed = connectionListed(incoming);
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined) continue;
    if (name === ASSERTION_HEADER || name === 'forwarded' || name === 'x-real-ip') continue;
    if (name.startsWith('x-forwarded-')) continue;
    if (name === 'authorization' && !f.assertionHeader) continue;
    if (HOP_BY_HOP.has(name) || listed.includes(name)) continue;
    if (name === 'cookie') {
      const kept = withoutOwnCookies(Array.isArray(value) ? value.join('; ') : value, f.cookieNames);
      if (kept !== undefined) out['cookie'] = kept;
      continue;
    }
    out[name] = value;
  }
  // TE: trailers is the one end-to-end use of TE (RFC 9110 §10.1.4).
  if (incoming['te'] === 'trailers') out['te'] = 'trailers';
  out['x-forwarded-for'] = f.clientIp;
  out['x-forwarded-proto'] = f.proto;
  out['x-forwarded-host'] = f.host;
  if (f.token !== undefined) {
    if (f.assertionHeader) out[ASSERTION_HEADER] = f.token;
    else out['authorization'] = `Bearer ${f.token}`;
  }
  return out;
}

/**
 * The upstream response's headers as sent to the client: hop-by-hop fields removed (RFC 9110 §7.6.1), and
 * any Set-Cookie naming one of the proxy's cookies dropped (the app cannot overwrite or fixate the
 * proxy's session).
 *
 * @example reply.headers(responseHeaders(upstreamHeaders, jar.names));
 */
export function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
  cookieNames: ReadonlySet<string>,
): Record<string, string | string[] | undefined> {
  const listed = connectionListed(headers);
  // A new object rather than `delete` on undici's: deleting turns it into a slow dictionary-mode object
  // that the two copies after this one (reply-from, Fastify) then walk.
  const out: Record<string, string | string[] | undefined> = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed.includes(name)) continue;
    const value = headers[name];
    if (name === 'set-cookie' && value !== undefined) {
      const list = (Array.isArray(value) ? value : [value]).filter((c) => {
        const cookie = c.slice(0, Math.max(0, c.indexOf('='))).trim();
        return !cookieNames.has(cookie);
      });
      if (list.length !== 0) out[name] = list;
      continue;
    }
    out[name] = value;
  }
  return out;
}
