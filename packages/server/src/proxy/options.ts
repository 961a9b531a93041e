/**
 * `tessera proxy` options: parsed from the command's flag values into one checked, immutable object. Every
 * refusal is a UsageError naming the flag, never echoing the client secret.
 */
import { isIP } from 'node:net';
import { UsageError, parseDuration } from '../cli/args.js';
import { parsePolicy, type Policy } from './policy.js';

export interface ProxyOptions {
  listen: { host: string; port: number };
  /** Origin of the app behind the proxy (http or https, no path). */
  upstream: URL;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The `aud` every access token forwarded to the app must carry. */
  audience: string;
  /**
   * Where browsers reach the proxy; the callback is `{publicUrl}/.tessera/callback`. Undefined: the
   * listening address (known once listening, so `--listen 127.0.0.1:0` works).
   */
  publicUrl: URL | undefined;
  scope: string;
  policy: Policy;
  /** Path prefixes served without sign-in (identity headers still stripped). */
  publicPaths: readonly string[];
  /** Forward the token as `Tessera-Jwt-Assertion`, leaving the client's Authorization alone. */
  assertionHeader: boolean;
  /** Milliseconds the upstream has to start answering before a 504. */
  upstreamTimeoutMs: number;
  /** Algorithms accepted on access tokens. */
  algorithms: readonly string[];
}

/** Loopback hosts, where plain http is acceptable (RFC 8252 §8.3; development). */
function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127\./.test(bare);
}

/**
 * `host:port` or `[v6]:port`.
 *
 * @example parseListen('127.0.0.1:8080'); // { host: '127.0.0.1', port: 8080 }
 */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen must be HOST:PORT (got "${text.slice(0, 100)}")`);
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && isIP(host) !== 6)
    throw new UsageError(`--listen: "${host}" is not an IPv6 address`);
  return { host, port };
}

function parseUrl(flag: string, text: string, options: { pathAllowed: boolean }): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new UsageError(`${flag} must be an http or https URL`);
  if (url.username !== '' || url.password !== '') throw new UsageError(`${flag} cannot carry credentials`);
  if (url.search !== '' || url.hash !== '') throw new UsageError(`${flag} cannot have a query or fragment`);
  if (!options.pathAllowed && url.pathname !== '/')
    throw new UsageError(`${flag} must be an origin without a path (got path "${url.pathname}")`);
  return url;
}

/** `/healthz`, `/static/`: an absolute path without dot segments, query or control characters. */
function parsePublicPath(text: string): string {
  if (
    !/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/.test(text) ||
    /(^|\/)\.\.?(\/|$)/.test(text) ||
    text.startsWith('//')
  )
    throw new UsageError(`--public-path "${text.slice(0, 100)}" must be a path such as /healthz or /static/`);
  if (text.startsWith('/.tessera'))
    throw new UsageError("--public-path cannot cover /.tessera/ (the proxy's own routes)");
  return text;
}

const list = (v: unknown): string[] =>
  Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];

/**
 * Build the options from the command's flag values and the secret read from stdin.
 *
 * @example
 * const options = buildProxyOptions(values, secret);
 */
export function buildProxyOptions(
  values: Record<string, string | boolean | string[] | undefined>,
  clientSecret: string,
): ProxyOptions {
  const required = (name: string): string => {
    const v = values[name];
    if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
    return v;
  };
  const listen = parseListen(typeof values['listen'] === 'string' ? values['listen'] : '127.0.0.1:8080');
  const upstream = parseUrl('--upstream', required('upstream'), { pathAllowed: false });
  const issuerUrl = parseUrl('--issuer', required('issuer'), { pathAllowed: true });
  // The issuer's answers decide who is signed in: plain http only where nobody can sit in between.
  if (issuerUrl.protocol === 'http:' && !isLoopback(issuerUrl.hostname))
    throw new UsageError('--issuer must be https (plain http only on loopback)');
  const clientId = required('client-id');
  if (clientSecret === '') throw new UsageError('--client-secret-stdin: the secret read from stdin is empty');
  const publicUrl =
    typeof values['public-url'] === 'string'
      ? parseUrl('--public-url', values['public-url'], { pathAllowed: false })
      : undefined;
  if (publicUrl !== undefined && publicUrl.protocol === 'http:' && !isLoopback(publicUrl.hostname))
    throw new UsageError(
      '--public-url must be https (plain http only on loopback): the session cookie would travel in clear',
    );
  if (publicUrl === undefined && !isLoopback(listen.host))
    throw new UsageError('--public-url is required when --listen is not a loopback address');
  const scope = typeof values['scope'] === 'string' ? values['scope'] : 'openid email';
  if (!scope.split(' ').includes('openid')) throw new UsageError('--scope must include openid');
  const timeout =
    typeof values['upstream-timeout'] === 'string' ? parseDuration(values['upstream-timeout']) : 30;
  if (!(timeout > 0)) throw new UsageError('--upstream-timeout must be above 0');
  const algorithms =
    typeof values['algorithms'] === 'string'
      ? values['algorithms'].split(',').map((a) => a.trim())
      : ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA'];
  return Object.freeze({
    listen,
    upstream,
    // The issuer identifier is compared as a string (OIDC Discovery §4.3): keep exactly what was given.
    issuer: required('issuer'),
    clientId,
    clientSecret,
    audience: typeof values['audience'] === 'string' ? values['audience'] : clientId,
    publicUrl,
    scope,
    policy: parsePolicy({
      emails: list(values['allow-email']),
      domains: list(values['allow-email-domain']),
      claims: list(values['allow-claim']),
    }),
    publicPaths: list(values['public-path']).map(parsePublicPath),
    assertionHeader: values['assertion-header'] === true,
    upstreamTimeoutMs: Math.round(timeout * 1000),
    algorithms,
  });
}

/**
 * Whether `path` (the request path, no query) is under one of the public prefixes: `/healthz` covers
 * `/healthz` and `/healthz/…`, never `/healthzz`; a prefix ending in `/` covers what is below it.
 *
 * @example isPublicPath('/healthz', ['/healthz']); // true
 */
export function isPublicPath(path: string, prefixes: readonly string[]): boolean {
  // Path confusion (CWE-22): `/healthz/../admin`, `/healthz%2F..%2Fadmin` or `/healthz\..\admin` could be
  // normalised by the app into a private path; a path holding dot segments or encoded separators is never public.
  if (/(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|\\/i.test(path)) return false;
  for (const p of prefixes) {
    if (p.endsWith('/') ? path.startsWith(p) : path === p || path.startsWith(p + '/')) return true;
  }
  return false;
}
