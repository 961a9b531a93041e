/**
 * `tessera audit`'s engine: fetch an issuer's discovery document and JWK Set safely and collect findings.
 */
import type { Finding, Severity } from '@tessera/jwt/lint';
import { UsageError } from '../args.js';
import {
  fetchLimited,
  FetchRefused,
  isLoopbackHost,
  type FetchedDocument,
  type FetchLimits,
} from './fetch-limited.js';
import { checkCacheControl, checkKeys, type AuditedKey } from './jwks-checks.js';

/** The result of {@link auditIssuer}. */
export interface AuditResult {
  issuer: string;
  findings: Finding[];
  keys: AuditedKey[];
}

export interface AuditOptions extends FetchLimits {
  allowHttpLoopback?: boolean;
}

// Metadata members listing algorithms the issuer signs with (OIDC Discovery §3, RFC 8414 §2, RFC 9701).
// token_endpoint_auth_signing_alg_values_supported is left out: HS256 there is client_secret_jwt, legitimately.
const SIGNING_ALG_MEMBERS = [
  'id_token_signing_alg_values_supported',
  'userinfo_signing_alg_values_supported',
  'introspection_signing_alg_values_supported',
  'authorization_signing_alg_values_supported',
  'access_token_signing_alg_values_supported',
];

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

  checkCacheControl(res.headers.get('cache-control'), add);
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

  keys.push(...checkKeys(list, add));
  return result;
}
