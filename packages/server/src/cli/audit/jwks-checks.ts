/**
 * Checks on a published JWK Set and its HTTP caching, for `tessera audit`. Findings name keys by position and
 * kid, never by key material.
 */
import type { Severity } from '@tessera/jwt/lint';

/** Adds one finding. */
export type AddFinding = (rule: string, severity: Severity, message: string) => void;

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

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const CURVE_ALG: Record<string, string> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
  Ed25519: 'EdDSA',
  Ed448: 'EdDSA',
};
const RSA_ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);

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

/** Cache-Control of the JWKS response: present, cacheable, and not so long that rotation stalls. */
export function checkCacheControl(cacheControl: string | null, add: AddFinding): void {
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
}

/** Per-key checks (kid, private members, type and size, alg/use) and kid uniqueness; returns the key summaries. */
export function checkKeys(list: readonly unknown[], add: AddFinding): AuditedKey[] {
  const keys: AuditedKey[] = [];
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
        `${label} has "alg" ${JSON.stringify(audited.alg)}, which does not fit its key (kty ${JSON.stringify(jwk.kty ?? null)}, crv ${JSON.stringify(jwk.crv ?? null)}): verifiers reject or misuse it; set the matching alg.`,
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
        `${label} has "use": "enc" but a signing "alg" ${JSON.stringify(audited.alg)}: verifiers skip it; set "use": "sig".`,
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
  return keys;
}
