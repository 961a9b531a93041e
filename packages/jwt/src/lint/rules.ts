/**
 * The token lint rules, one table shared by `tessera inspect` and the web debugger. Browser-safe: no `node:`
 * imports, no Buffer. Each rule has a stable id (used in `--json` output, CI gates and docs), a fixed
 * severity and a one-line message saying why it matters and how to fix it. Messages name claims, never
 * their values.
 */
import { VALUE_KINDS, findSensitiveMatches } from './sensitive.js';
import { formatDuration as human } from './times.js';

/** How bad a finding is; `--fail-on` compares against this order. */
export type Severity = 'error' | 'warning' | 'info';

/** One lint result. */
export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
}

/** What a rule looks at. Times are in seconds since the epoch. */
export interface LintContext {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** Size of the compact token in bytes. */
  size: number;
  now: number;
  /** How many services accept this token (defaults to the number of `aud` values). */
  audienceCount: number;
  /** The caller says this is an access token. */
  accessToken: boolean;
}

/** A rule: returns the message (or messages) when it fires, nothing when it does not. */
export interface LintRule {
  id: string;
  severity: Severity;
  check(ctx: LintContext): string | string[] | undefined;
}

/** RFC 8725 §3.10 / RFC 9068: 15 minutes is a common upper bound for access tokens. */
export const LIFETIME_WARNING_SECONDS = 15 * 60;
export const LIFETIME_ERROR_SECONDS = 24 * 3600;
export const SIZE_WARNING_BYTES = 1024;
export const SIZE_ERROR_BYTES = 4096;
/** Allowed clock skew before `iat`/`nbf` count as "in the future". */
export const CLOCK_SKEW_SECONDS = 60;
/** Arrays of authorization data longer than this belong on the server. */
export const AUTHZ_ARRAY_LIMIT = 10;

const AUTHZ_CLAIMS = new Set([
  'permissions',
  'roles',
  'groups',
  'scopes',
  'entitlements',
  'authorities',
  'scp',
]);
const HMAC = /^HS(256|384|512)$/;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const present = (o: Record<string, unknown>, k: string) => Object.hasOwn(o, k) && o[k] !== undefined;

/** An access token by its `typ`, or by carrying what only access tokens carry (RFC 9068 §2.2). */
export function looksLikeAccessToken(ctx: LintContext): boolean {
  const { payload, header } = ctx;
  if (ctx.accessToken) return true;
  if (typeof header.typ === 'string' && /^(application\/)?at\+jwt$/i.test(header.typ)) return true;
  return present(payload, 'scope') || present(payload, 'scp') || present(payload, 'client_id');
}

/** Lifetime in seconds: `exp − iat`, else `exp − nbf`; undefined without `exp`. */
export function tokenLifetime(payload: Record<string, unknown>): number | undefined {
  const { exp, iat, nbf } = payload;
  if (!isNum(exp)) return undefined;
  if (isNum(iat)) return exp - iat;
  if (isNum(nbf)) return exp - nbf;
  return undefined;
}

function missing(claim: string, why: string): (ctx: LintContext) => string | undefined {
  return ({ payload }) => (present(payload, claim) ? undefined : `No "${claim}" claim: ${why}`);
}

/** Every rule, in the order findings are reported. */
export const RULES: readonly LintRule[] = [
  {
    id: 'alg-none',
    severity: 'error',
    check: ({ header }) =>
      typeof header.alg !== 'string' || header.alg.toLowerCase() === 'none'
        ? 'Unsigned token ("alg": "none" or no alg): anyone can forge it (CVE-2015-9235); sign with ES256, EdDSA or RS256.'
        : undefined,
  },
  {
    id: 'alg-hmac-shared',
    severity: 'error',
    check: (ctx) =>
      typeof ctx.header.alg === 'string' && HMAC.test(ctx.header.alg) && ctx.audienceCount > 1
        ? `HMAC-signed token for ${ctx.audienceCount} audiences: every service holds the secret and can forge tokens for the others; use an asymmetric algorithm (ES256, EdDSA) and publish a JWKS.`
        : undefined,
  },
  {
    id: 'alg-hmac',
    severity: 'info',
    check: (ctx) =>
      typeof ctx.header.alg === 'string' && HMAC.test(ctx.header.alg) && ctx.audienceCount <= 1
        ? 'HMAC-signed token: only holders of the shared secret can verify it, and each of them could also mint tokens; prefer ES256 or EdDSA when a second service appears.'
        : undefined,
  },
  {
    id: 'header-key-reference',
    severity: 'warning',
    check: ({ header }) => {
      const members = ['jku', 'jwk', 'x5u', 'x5c'].filter((m) => present(header, m));
      return members.length > 0
        ? `Header carries ${members.map((m) => `"${m}"`).join(', ')}: verifiers that follow it let the token choose its own key (RFC 8725 §3.10); take keys from a trusted JWKS by "kid" instead.`
        : undefined;
    },
  },
  {
    id: 'kid-missing',
    severity: 'warning',
    check: ({ header }) =>
      typeof header.kid === 'string' && header.kid !== ''
        ? undefined
        : 'No "kid" in the header: verifiers cannot pick the key from a JWKS, and key rotation breaks; set "kid" to the signing key\'s id.',
  },
  {
    id: 'typ-missing',
    severity: 'warning',
    check: (ctx) =>
      !present(ctx.header, 'typ') && looksLikeAccessToken(ctx)
        ? 'Access token without "typ": it can be confused with an ID token or another JWT kind (RFC 8725 §3.11); set "typ": "at+jwt" (RFC 9068).'
        : undefined,
  },
  {
    id: 'size-too-large',
    severity: 'error',
    check: ({ size }) =>
      size > SIZE_ERROR_BYTES
        ? `Token is ${size} bytes (over 4 KiB): it travels with every request and breaks header and cookie limits; move data to the server and keep identity claims only.`
        : undefined,
  },
  {
    id: 'size-large',
    severity: 'warning',
    check: ({ size }) =>
      size > SIZE_WARNING_BYTES && size <= SIZE_ERROR_BYTES
        ? `Token is ${size} bytes (over 1 KiB): every byte is sent with every request; keep identity claims and look the rest up on the server.`
        : undefined,
  },
  {
    id: 'exp-missing',
    severity: 'error',
    check: ({ payload }) =>
      present(payload, 'exp')
        ? undefined
        : 'No "exp" claim: the token never expires, so a stolen copy works forever; set "exp" a few minutes after "iat".',
  },
  {
    id: 'lifetime-excessive',
    severity: 'error',
    check: ({ payload }) => {
      const life = tokenLifetime(payload);
      return life !== undefined && life > LIFETIME_ERROR_SECONDS
        ? `Lifetime is ${human(life)} (over 24 h): a stolen token stays usable that long; issue tokens of 5-15 min and use refresh tokens.`
        : undefined;
    },
  },
  {
    id: 'lifetime-long',
    severity: 'warning',
    check: ({ payload }) => {
      const life = tokenLifetime(payload);
      return life !== undefined && life > LIFETIME_WARNING_SECONDS && life <= LIFETIME_ERROR_SECONDS
        ? `Lifetime is ${human(life)} (over 15 min): a stolen access token is usable for that long; use 5-15 min and refresh tokens.`
        : undefined;
    },
  },
  {
    id: 'claim-type-invalid',
    severity: 'error',
    check: ({ payload }) => {
      const bad: string[] = [];
      for (const c of ['exp', 'nbf', 'iat']) if (present(payload, c) && !isNum(payload[c])) bad.push(c);
      for (const c of ['iss', 'sub', 'jti'])
        if (present(payload, c) && typeof payload[c] !== 'string') bad.push(c);
      const aud = payload.aud;
      if (
        present(payload, 'aud') &&
        typeof aud !== 'string' &&
        !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))
      )
        bad.push('aud');
      return bad.length > 0
        ? `Claims of the wrong type (${bad.join(', ')}): RFC 7519 §4.1 fixes them (NumericDate seconds, strings); verifiers reject or, worse, ignore them.`
        : undefined;
    },
  },
  {
    id: 'iss-missing',
    severity: 'warning',
    check: missing(
      'iss',
      'verifiers cannot tell who issued it or pick the issuer\'s keys; set "iss" to the issuer URL.',
    ),
  },
  {
    id: 'aud-missing',
    severity: 'warning',
    check: missing(
      'aud',
      'a token for one service can be replayed against another; set "aud" to the one API it is for.',
    ),
  },
  {
    id: 'sub-missing',
    severity: 'info',
    check: missing('sub', 'nothing says whom the token is about; set "sub" to a stable, non-reassigned id.'),
  },
  {
    id: 'iat-missing',
    severity: 'info',
    check: missing('iat', 'its age and lifetime cannot be checked; set "iat" to the issue time.'),
  },
  {
    id: 'jti-missing',
    severity: 'info',
    check: missing(
      'jti',
      'the token cannot be revoked individually or detected on replay; set a unique "jti".',
    ),
  },
  {
    id: 'nbf-future',
    severity: 'warning',
    check: ({ payload, now }) =>
      isNum(payload.nbf) && payload.nbf > now + CLOCK_SKEW_SECONDS
        ? `"nbf" is ${human(payload.nbf - now)} in the future: verifiers reject the token until then; check the issuer's clock or drop "nbf".`
        : undefined,
  },
  {
    id: 'iat-future',
    severity: 'warning',
    check: ({ payload, now }) =>
      isNum(payload.iat) && payload.iat > now + CLOCK_SKEW_SECONDS
        ? `"iat" is ${human(payload.iat - now)} in the future: the issuer's clock is wrong, and lifetime checks are off; sync it with NTP.`
        : undefined,
  },
  {
    id: 'exp-past',
    severity: 'info',
    check: ({ payload, now }) =>
      isNum(payload.exp) && payload.exp <= now
        ? `Token expired ${human(now - payload.exp)} ago: every verifier rejects it; request a new one.`
        : undefined,
  },
  {
    id: 'authz-data-bloat',
    severity: 'warning',
    check: ({ payload }) => {
      const paths = findAuthzArrays(payload);
      return paths.length > 0
        ? `Large authorization data in ${paths.join(', ')} (over ${AUTHZ_ARRAY_LIMIT} entries): it bloats every request and goes stale until expiry; look permissions up on the server.`
        : undefined;
    },
  },
  {
    id: 'sensitive-claim-name',
    severity: 'error',
    check: ({ payload }) => {
      const paths = findSensitiveMatches(payload)
        .filter((m) => m.kind === 'sensitive-name')
        .map((m) => m.path);
      return paths.length > 0
        ? `Claims named like secrets (${paths.join(', ')}): JWTs are signed, not encrypted, and anyone holding one reads them; remove them.`
        : undefined;
    },
  },
  {
    id: 'sensitive-claim-value',
    severity: 'error',
    check: ({ payload }) => {
      const hits = findSensitiveMatches(payload).filter((m) => VALUE_KINDS.has(m.kind));
      return hits.length > 0
        ? `Sensitive values (${hits.map((m) => `${m.path}: ${m.kind}`).join(', ')}): anyone holding the token can read them; never put card numbers, national ids, keys or tokens in claims.`
        : undefined;
    },
  },
];

// Top-level authorization claims, plus Keycloak's realm_access.roles and resource_access.<client>.roles.
function findAuthzArrays(payload: Record<string, unknown>): string[] {
  const out: string[] = [];
  const tooMany = (v: unknown) =>
    (Array.isArray(v) && v.length > AUTHZ_ARRAY_LIMIT) ||
    (typeof v === 'string' && v.trim().split(/\s+/).length > AUTHZ_ARRAY_LIMIT * 2);
  for (const [k, v] of Object.entries(payload)) {
    if ((AUTHZ_CLAIMS.has(k) || k === 'scope') && tooMany(v)) out.push(k);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) {
        if (AUTHZ_CLAIMS.has(k2) && tooMany(v2)) out.push(`${k}.${k2}`);
        if (v2 !== null && typeof v2 === 'object' && !Array.isArray(v2)) {
          for (const [k3, v3] of Object.entries(v2 as Record<string, unknown>))
            if (AUTHZ_CLAIMS.has(k3) && tooMany(v3)) out.push(`${k}.${k2}.${k3}`);
        }
      }
    }
  }
  return out;
}
