import { isIP } from 'node:net';
import { hasFindingAtOrAbove, type Finding, type Severity } from '@tessera/jwt/lint';
import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, usageFailure } from '../args.js';

export const summary =
  "Audit an issuer's discovery document and JWKS (HTTPS, key sizes, kids, private members, caching)";

const HELP = `Usage: tessera audit ISSUER_URL [--json] [--fail-on error|warning|info] [--allow-http-loopback]

Fetches ISSUER_URL/.well-known/openid-configuration (falling back to RFC 8414
/.well-known/oauth-authorization-server) and its jwks_uri, and reports findings:
HTTPS, key types and sizes, kids present and unique, alg/use consistent with the key,
no private key members, Cache-Control, number of keys, advertised signing algorithms,
issuer equal to ISSUER_URL.

  --json                  print { "issuer", "findings": [...], "keys": [...] }
  --fail-on LEVEL         exit 1 when a finding at or above LEVEL exists (default: error)
  --allow-http-loopback   accept http:// on 127.0.0.1, ::1 or localhost (reported as a warning)

Requests time out after 5 s, responses are limited to 512 KiB, and redirects are followed only
within the same origin (at most 3). Exit codes: 0 ok, 1 findings at/above the level, 2 usage.`;

/** Limits for one HTTP GET of untrusted metadata. */
export interface FetchLimits {
  /** Whole request including the body, in milliseconds. Default 5000. */
  timeoutMs?: number;
  /** Largest body accepted, in bytes. Default 512 KiB. */
  maxBytes?: number;
  /** Same-origin redirects followed. Default 3. */
  maxRedirects?: number;
}

/** A fetched document. */
export interface FetchedDocument {
  /** The URL that answered (after same-origin redirects). */
  url: URL;
  status: number;
  headers: Headers;
  body: string;
}

/** Why a fetch was refused or failed; `reason` picks the finding. */
export class FetchRefused extends Error {
  override readonly name = 'FetchRefused';
  constructor(
    readonly reason: 'redirect-cross-origin' | 'too-many-redirects' | 'too-large' | 'timeout' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * GET `url` safely: a timeout over the whole exchange, a body size limit enforced while reading (not
 * trusting Content-Length), and redirects followed only within the same origin, so a metadata document
 * cannot bounce the tool to another host (SSRF via redirect) or feed it gigabytes.
 *
 * @example const { body } = await fetchLimited(new URL('https://issuer.example/.well-known/openid-configuration'));
 */
export async function fetchLimited(url: URL, limits: FetchLimits = {}): Promise<FetchedDocument> {
  const timeoutMs = limits.timeoutMs ?? 5000;
  const maxBytes = limits.maxBytes ?? 512 * 1024;
  const maxRedirects = limits.maxRedirects ?? 3;
  const signal = AbortSignal.timeout(timeoutMs);
  let current = url;
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await fetch(current, {
        redirect: 'manual',
        signal,
        headers: { accept: 'application/json' },
        credentials: 'omit',
      });
    } catch (err) {
      throw signal.aborted
        ? new FetchRefused('timeout', `${current.href} did not answer within ${timeoutMs} ms`, { cause: err })
        : new FetchRefused('network', `${current.href} could not be fetched: ${(err as Error).message}`, {
            cause: err,
          });
    }
    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel();
      const next = new URL(res.headers.get('location')!, current);
      if (next.origin !== current.origin) {
        throw new FetchRefused(
          'redirect-cross-origin',
          `${current.href} redirects to another origin (${next.origin})`,
        );
      }
      if (hop >= maxRedirects)
        throw new FetchRefused('too-many-redirects', `${url.href} redirects more than ${maxRedirects} times`);
      current = next;
      continue;
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > maxBytes) {
      await res.body?.cancel();
      throw new FetchRefused('too-large', `${current.href} is larger than ${maxBytes} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      if (res.body) {
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.byteLength;
          if (total > maxBytes) {
            await reader.cancel();
            throw new FetchRefused('too-large', `${current.href} is larger than ${maxBytes} bytes`);
          }
          chunks.push(value);
        }
      }
    } catch (err) {
      if (err instanceof FetchRefused) throw err;
      throw signal.aborted
        ? new FetchRefused('timeout', `${current.href} did not answer within ${timeoutMs} ms`, { cause: err })
        : new FetchRefused('network', `${current.href} failed while reading: ${(err as Error).message}`, {
            cause: err,
          });
    }
    return {
      url: current,
      status: res.status,
      headers: res.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
  }
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** What the audit reports about one key; never key material. */
export interface AuditedKey {
  kid: string | null;
  kty: string | null;
  alg: string | null;
  use: string | null;
  crv?: string;
  /** RSA modulus length. */
  bits?: number;
}

/** The result of {@link auditIssuer}. */
export interface AuditResult {
  issuer: string;
  findings: Finding[];
  keys: AuditedKey[];
}

export interface AuditOptions extends FetchLimits {
  allowHttpLoopback?: boolean;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const CURVE_ALG: Record<string, string> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
  Ed25519: 'EdDSA',
  Ed448: 'EdDSA',
};
const RSA_ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
// Metadata members listing algorithms the issuer signs with (OIDC Discovery §3, RFC 8414 §2, RFC 9701).
// token_endpoint_auth_signing_alg_values_supported is left out: HS256 there is client_secret_jwt, legitimately.
const SIGNING_ALG_MEMBERS = [
  'id_token_signing_alg_values_supported',
  'userinfo_signing_alg_values_supported',
  'introspection_signing_alg_values_supported',
  'authorization_signing_alg_values_supported',
  'access_token_signing_alg_values_supported',
];

/** RSA modulus length in bits from the JWK's base64url `n`. */
export function rsaModulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

function parseMaxAge(cacheControl: string): number | undefined {
  const m = /(?:^|,)\s*(?:s-)?max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl);
  return m ? Number(m[1]) : undefined;
}

/** Algorithms consistent with a key's type and curve. */
function algsForKey(kty: unknown, crv: unknown): ReadonlySet<string> {
  if (kty === 'RSA') return RSA_ALGS;
  if ((kty === 'EC' || kty === 'OKP') && typeof crv === 'string' && CURVE_ALG[crv] !== undefined) {
    const alg = CURVE_ALG[crv]!;
    return new Set((kty === 'EC') === alg.startsWith('ES') ? [alg] : []);
  }
  return new Set();
}

function wellKnownURLs(issuer: URL): URL[] {
  const path = issuer.pathname.replace(/\/$/, '');
  // OIDC Discovery §4: issuer + path suffix; RFC 8414 §3.1: well-known segment inserted before the path.
  return [
    new URL(`${issuer.origin}${path}/.well-known/openid-configuration`),
    new URL(`${issuer.origin}/.well-known/oauth-authorization-server${path}`),
  ];
}

/**
 * Audit an issuer: discovery document, then its JWKS. Collects findings instead of throwing; only an
 * unusable ISSUER_URL throws a UsageError.
 *
 * @example const { findings, keys } = await auditIssuer('https://auth.example.com');
 */
export async function auditIssuer(issuerText: string, options: AuditOptions = {}): Promise<AuditResult> {
  let issuerURL: URL;
  try {
    issuerURL = new URL(issuerText);
  } catch {
    throw new UsageError(`"${issuerText}" is not a URL`);
  }
  if (issuerURL.protocol !== 'https:' && issuerURL.protocol !== 'http:')
    throw new UsageError('ISSUER_URL must be http(s)');
  const findings: Finding[] = [];
  const keys: AuditedKey[] = [];
  const add = (rule: string, severity: Severity, message: string) =>
    findings.push({ rule, severity, message });
  const result: AuditResult = { issuer: issuerText, findings, keys };

  const checkTransport = (url: URL, what: string, rule: string): void => {
    if (url.protocol === 'https:') return;
    if (isLoopbackHost(url.hostname) && options.allowHttpLoopback) {
      add(
        `${rule}-http-loopback`,
        'warning',
        `${what} is served over plain HTTP on loopback: acceptable for local testing only; use HTTPS anywhere else.`,
      );
    } else {
      add(
        `${rule}-not-https`,
        'error',
        `${what} is not served over HTTPS: anyone on the path can swap the keys and forge tokens; serve it over HTTPS.`,
      );
    }
  };
  const fetchRefused = (err: unknown, what: string, fallbackRule: string): void => {
    if (err instanceof FetchRefused && err.reason === 'redirect-cross-origin') {
      add(
        'redirect-cross-origin',
        'error',
        `${what}: ${err.message}; redirects to other hosts are not followed (they would let a third party serve the keys).`,
      );
    } else {
      add(fallbackRule, 'error', `${what} could not be fetched: ${(err as Error).message}.`);
    }
  };

  checkTransport(issuerURL, 'The issuer', 'issuer');

  // 1. Discovery document.
  let doc: Record<string, unknown> | undefined;
  const failures: string[] = [];
  for (const url of wellKnownURLs(issuerURL)) {
    try {
      const res = await fetchLimited(url, options);
      if (res.status !== 200) {
        failures.push(`${url.pathname} answered ${res.status}`);
        continue;
      }
      const parsed: unknown = JSON.parse(res.body);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not a JSON object');
      doc = parsed as Record<string, unknown>;
      break;
    } catch (err) {
      if (err instanceof FetchRefused && err.reason === 'redirect-cross-origin') {
        fetchRefused(err, 'The discovery document', 'discovery-unavailable');
        return result;
      }
      failures.push(`${url.pathname}: ${(err as Error).message}`);
    }
  }
  if (doc === undefined) {
    add(
      'discovery-unavailable',
      'error',
      `No discovery document (${failures.join('; ')}): verifiers cannot find the keys; serve /.well-known/openid-configuration.`,
    );
    return result;
  }

  const trim = (s: string) => s.replace(/\/$/, '');
  if (typeof doc.issuer !== 'string' || trim(doc.issuer) !== trim(issuerText)) {
    add(
      'issuer-mismatch',
      'error',
      `The document's "issuer" differs from ${issuerText}: clients must reject it (OIDC Discovery §4.3, RFC 8414 §3.3, mix-up attacks); make them identical.`,
    );
  }

  for (const member of SIGNING_ALG_MEMBERS) {
    const algs = doc[member];
    if (!Array.isArray(algs)) continue;
    if (algs.some((a) => typeof a === 'string' && a.toLowerCase() === 'none')) {
      add(
        'alg-none-advertised',
        'error',
        `"${member}" lists "none": unsigned tokens can be forged by anyone; remove it.`,
      );
    }
    const hmac = algs.filter((a): a is string => typeof a === 'string' && /^HS\d+$/.test(a));
    if (hmac.length > 0) {
      add(
        'alg-hmac-advertised',
        'error',
        `"${member}" lists ${hmac.join(', ')}: HMAC needs the secret shared with every verifier, who can then forge tokens; advertise ES256, EdDSA or RS256.`,
      );
    }
  }
  if (
    !Array.isArray(doc.id_token_signing_alg_values_supported) &&
    !Array.isArray(doc.access_token_signing_alg_values_supported)
  ) {
    add(
      'signing-algs-unadvertised',
      'info',
      'No signing algorithms advertised (id_token_signing_alg_values_supported): clients cannot pin an allow-list from metadata; list them.',
    );
  }

  // 2. The JWKS.
  if (typeof doc.jwks_uri !== 'string') {
    add(
      'jwks-uri-missing',
      'error',
      'The discovery document has no "jwks_uri": verifiers cannot find the public keys; publish one.',
    );
    return result;
  }
  let jwksURL: URL;
  try {
    jwksURL = new URL(doc.jwks_uri);
  } catch {
    add(
      'jwks-uri-missing',
      'error',
      'The "jwks_uri" is not a valid URL: verifiers cannot find the public keys; fix it.',
    );
    return result;
  }
  if (jwksURL.protocol !== 'https:' && jwksURL.protocol !== 'http:') {
    add('jwks-uri-not-https', 'error', 'The "jwks_uri" is not an HTTPS URL: serve the keys over HTTPS.');
    return result;
  }
  checkTransport(jwksURL, 'The JWKS', 'jwks-uri');

  let res: FetchedDocument;
  try {
    res = await fetchLimited(jwksURL, options);
  } catch (err) {
    fetchRefused(err, 'The JWKS', 'jwks-unavailable');
    return result;
  }
  if (res.status !== 200) {
    add(
      'jwks-unavailable',
      'error',
      `The JWKS answered HTTP ${res.status}: verifiers cannot get the keys; serve it with 200.`,
    );
    return result;
  }

  const cacheControl = res.headers.get('cache-control');
  if (cacheControl === null || cacheControl.trim() === '') {
    add(
      'cache-control-missing',
      'warning',
      'The JWKS has no Cache-Control: verifiers guess how long to cache, refetching on every token or missing rotations; send e.g. "public, max-age=600".',
    );
  } else {
    const maxAge = parseMaxAge(cacheControl);
    if (/no-store|no-cache/i.test(cacheControl) || maxAge === 0) {
      add(
        'cache-control-unsuitable',
        'warning',
        `The JWKS says "${cacheControl}": every verifier refetches the keys, which loads the issuer and adds latency; allow caching for minutes.`,
      );
    } else if (maxAge === undefined) {
      add(
        'cache-control-unsuitable',
        'info',
        `The JWKS Cache-Control "${cacheControl}" has no max-age: verifiers fall back to heuristics; set max-age.`,
      );
    } else if (maxAge > 86400) {
      add(
        'cache-control-unsuitable',
        'warning',
        `The JWKS may be cached for ${maxAge} s (over a day): new keys reach verifiers late and rotation stalls; keep max-age at most a few hours.`,
      );
    }
  }

  let jwks: unknown;
  try {
    jwks = JSON.parse(res.body);
  } catch {
    jwks = undefined;
  }
  const list = (jwks as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(list)) {
    add(
      'jwks-invalid',
      'error',
      'The JWKS is not a JSON object with a "keys" array (RFC 7517 §5); verifiers cannot use it.',
    );
    return result;
  }
  if (list.length === 0)
    add('jwks-empty', 'error', 'The JWKS holds no keys: no token can be verified; publish the signing key.');
  else if (list.length === 1)
    add(
      'jwks-single-key',
      'info',
      'The JWKS holds one key: rotation is smooth only if the next key is published before it signs; stage it early.',
    );
  else if (list.length > 10)
    add(
      'jwks-many-keys',
      'warning',
      `The JWKS holds ${list.length} keys: verifiers cap key sets and pay per key; remove retired keys.`,
    );

  const kids = new Map<string, number>();
  list.forEach((entry: unknown, index) => {
    const jwk = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    const kid = str(jwk.kid);
    const label = kid === null ? `key #${index + 1}` : `key #${index + 1} (kid ${JSON.stringify(kid)})`;
    const audited: AuditedKey = { kid, kty: str(jwk.kty), alg: str(jwk.alg), use: str(jwk.use) };
    if (typeof jwk.crv === 'string') audited.crv = jwk.crv;
    keys.push(audited);

    if (kid === null || kid === '') {
      add(
        'key-kid-missing',
        'error',
        `${label} has no "kid": verifiers cannot select it and rotation breaks; give every key a unique kid.`,
      );
    } else {
      kids.set(kid, (kids.get(kid) ?? 0) + 1);
    }

    const privateMembers = PRIVATE_MEMBERS.filter((m) => jwk[m] !== undefined);
    if (privateMembers.length > 0) {
      add(
        'key-private-material',
        'error',
        `${label} serves private members (${privateMembers.join(', ')}): anyone can sign tokens with it; remove them and rotate the key now.`,
      );
    }

    if (jwk.kty === 'oct') {
      add(
        'key-symmetric',
        'error',
        `${label} is a symmetric (oct) key: a JWKS is public, so an HMAC key in it lets anyone forge tokens; publish asymmetric public keys only.`,
      );
    } else if (jwk.kty === 'RSA') {
      if (typeof jwk.n !== 'string') {
        add(
          'key-invalid',
          'error',
          `${label} is an RSA key without "n": verifiers cannot use it; fix the key.`,
        );
      } else {
        audited.bits = rsaModulusBits(jwk.n);
        if (audited.bits < 2048) {
          add(
            'key-rsa-weak',
            'error',
            `${label} is ${audited.bits}-bit RSA (below 2048): factorable with modest resources (NIST SP 800-131A); replace it with RSA 2048+ or ES256.`,
          );
        }
      }
    } else if (jwk.kty === 'EC' || jwk.kty === 'OKP') {
      if (typeof jwk.crv !== 'string' || algsForKey(jwk.kty, jwk.crv).size === 0) {
        add(
          'key-curve-unsupported',
          'warning',
          `${label} uses curve ${JSON.stringify(jwk.crv ?? null)}: most JWT libraries cannot verify it; use P-256 or Ed25519.`,
        );
      }
    } else {
      add(
        'key-invalid',
        'error',
        `${label} has unknown "kty" ${JSON.stringify(jwk.kty ?? null)}: verifiers skip it; use RSA, EC or OKP.`,
      );
    }

    if (audited.alg === null) {
      add(
        'key-alg-missing',
        'warning',
        `${label} has no "alg": verifiers must guess which algorithm it serves, which invites algorithm confusion (RFC 8725 §3.1); set "alg".`,
      );
    } else if (jwk.kty !== 'oct' && !algsForKey(jwk.kty, jwk.crv).has(audited.alg)) {
      add(
        'key-alg-inconsistent',
        'error',
        `${label} has "alg" ${audited.alg}, which does not fit its key type ${String(jwk.kty)}${typeof jwk.crv === 'string' ? ` ${jwk.crv}` : ''}: verifiers reject or misuse it; set the matching alg.`,
      );
    }
    if (audited.use === null) {
      add(
        'key-use-missing',
        'warning',
        `${label} has no "use": verifiers cannot tell signing keys from encryption keys; set "use": "sig".`,
      );
    } else if (audited.use !== 'sig' && audited.use !== 'enc') {
      add(
        'key-use-inconsistent',
        'error',
        `${label} has "use" ${JSON.stringify(audited.use)}: only "sig" and "enc" are defined (RFC 7517 §4.2); set "use": "sig".`,
      );
    } else if (
      audited.use === 'enc' &&
      audited.alg !== null &&
      (RSA_ALGS.has(audited.alg) || /^(ES|Ed|HS)/.test(audited.alg))
    ) {
      add(
        'key-use-inconsistent',
        'error',
        `${label} has "use": "enc" but a signing "alg" ${audited.alg}: verifiers skip it; set "use": "sig".`,
      );
    }
  });
  for (const [kid, count] of kids) {
    if (count > 1) {
      add(
        'key-kid-duplicate',
        'error',
        `kid ${JSON.stringify(kid)} appears ${count} times: verifiers may pick the wrong key or reject the set; make kids unique.`,
      );
    }
  }
  return result;
}

const ICON: Record<Severity, string> = { error: 'error  ', warning: 'warning', info: 'info   ' };

function printHuman(io: CommandIO, result: AuditResult): void {
  const lines = [`Issuer: ${result.issuer}`, `Keys: ${result.keys.length}`];
  for (const k of result.keys) {
    const size = k.bits !== undefined ? ` ${k.bits}-bit` : k.crv !== undefined ? ` ${k.crv}` : '';
    lines.push(
      `  - kid=${k.kid ?? '(none)'} ${k.kty ?? '?'}${size} alg=${k.alg ?? '(none)'} use=${k.use ?? '(none)'}`,
    );
  }
  lines.push(result.findings.length === 0 ? 'Findings: none' : `Findings (${result.findings.length}):`);
  for (const f of result.findings) lines.push(`  ${ICON[f.severity]} ${f.rule}: ${f.message}`);
  io.stdout.write(lines.join('\n') + '\n');
}

/** `tessera audit ISSUER_URL [--json] [--fail-on LEVEL] [--allow-http-loopback]` */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  let values: Record<string, unknown>;
  let positionals: string[];
  let failOn: Severity;
  try {
    ({ values, positionals } = parseCommandArgs(argv, {
      json: { type: 'boolean' },
      'fail-on': { type: 'string' },
      'allow-http-loopback': { type: 'boolean' },
    }));
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected exactly one ISSUER_URL');
    failOn = parseFailOn(values['fail-on']);
  } catch (err) {
    return usageFailure(io, err, HELP);
  }
  let result: AuditResult;
  try {
    result = await auditIssuer(positionals[0]!, {
      allowHttpLoopback: values['allow-http-loopback'] === true,
    });
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    throw err;
  }
  if (values.json) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printHuman(io, result);
  return hasFindingAtOrAbove(result.findings, failOn) ? 1 : 0;
}

/** Validate `--fail-on`; default `error`. */
export function parseFailOn(value: unknown): Severity {
  if (value === undefined) return 'error';
  if (value === 'error' || value === 'warning' || value === 'info') return value;
  throw new UsageError('--fail-on must be error, warning or info');
}
