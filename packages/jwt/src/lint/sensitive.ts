/**
 * Detectors for data that must never travel in a signed-but-readable JWT (RFC 7519 §12, RFC 8725 §3.9):
 * anyone holding the token can base64url-decode its claims. Browser-safe: no `node:` imports, no Buffer.
 *
 * The detectors report where sensitive data sits and what it looks like, never the value itself, so their
 * output can be logged, printed or returned to a client.
 */

/** One place in the claims that holds (or is named like) sensitive data. */
export interface SensitiveDataMatch {
  /** Where the value sits, e.g. `card`, `profile.cards[0]`, `["odd key"]`. */
  path: string;
  /** What it looks like; see {@link SensitiveDataKind}. */
  kind: SensitiveDataKind;
}

/**
 * - `sensitive-name`: the claim's name says secret (`password`, `client_secret`, `ssn`, `credit_card` …).
 * - `card-number`: 13–19 digits passing the Luhn check with a card-network prefix (PCI DSS data).
 * - `national-id`: US Social Security number `123-45-6789`, UK National Insurance number.
 * - `private-key`: a PEM private key or a JWK with private members.
 * - `api-key`: a well-known credential format (`sk_live_…`, `AKIA…`, `ghp_…`, `xoxb-…`, `AIza…` …).
 * - `token`: another JWT (JWS or JWE) inside a claim.
 */
export type SensitiveDataKind =
  'sensitive-name' | 'card-number' | 'national-id' | 'private-key' | 'api-key' | 'token';

/** Kinds found by looking at a value rather than at a claim's name. */
export const VALUE_KINDS: ReadonlySet<SensitiveDataKind> = new Set([
  'card-number',
  'national-id',
  'private-key',
  'api-key',
  'token',
]);

// Bounds: a hostile payload cannot make the walk slow or deep. Claims beyond them are not inspected.
const MAX_NODES = 10_000;
const MAX_DEPTH = 32;
// Longer strings are scanned up to this length: the patterns stay linear-ish and a token this big is an error anyway.
const MAX_STRING = 8192;

// Names compared after lower-casing and dropping `_`, `-`, `.` and spaces: `client_secret` → `clientsecret`.
const NAME_CONTAINS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'privatekey',
  'apikey',
  'creditcard',
  'cardnumber',
  'socialsecurity',
  'refreshtoken',
  'sessionkey',
];
const NAME_EXACT = new Set([
  'pwd',
  'pass',
  'ssn',
  'cvv',
  'cvc',
  'cvv2',
  'pin',
  'pan',
  'nino',
  'taxid',
  'iban',
]);

/** True when a claim's name suggests it carries a secret or regulated personal data. */
export function isSensitiveClaimName(name: string): boolean {
  const n = name.toLowerCase().replace(/[-_. ]/g, '');
  return NAME_EXACT.has(n) || NAME_CONTAINS.some((part) => n.includes(part));
}

/** Luhn (ISO/IEC 7812-1) check on a string of digits. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

// Card networks start with 2 (Mastercard 2-series), 3 (Amex, Diners, JCB), 4 (Visa), 5 (Mastercard),
// 6 (Discover, UnionPay, Maestro). Millisecond timestamps start with 1 and are not flagged.
const CARD_CANDIDATE = /(?<![0-9A-Za-z])[2-6](?:[ -]?\d){12,18}(?![0-9A-Za-z])/g;
const US_SSN = /(?<![0-9A-Za-z])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![0-9A-Za-z])/;
const UK_NINO =
  /(?<![0-9A-Za-z])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![0-9A-Za-z])/;
const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/;
const API_KEYS = [
  /\b(?:sk|rk)_live_[0-9A-Za-z]{16,}/, // Stripe secret and restricted keys
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, // AWS access key ids
  /\bgh[pousr]_[0-9A-Za-z]{36}\b/, // GitHub tokens
  /\bgithub_pat_[0-9A-Za-z_]{22,}/, // GitHub fine-grained tokens
  /\bglpat-[0-9A-Za-z_-]{20}/, // GitLab personal access tokens
  /\bxox[abposr]-[0-9A-Za-z-]{10,}/, // Slack tokens
  /\bAIza[0-9A-Za-z_-]{35}/, // Google API keys
  /\bnpm_[0-9A-Za-z]{36}\b/, // npm tokens
  /\bsk-(?:proj-)?[0-9A-Za-z_-]{32,}/, // OpenAI-style secret keys
];
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

const isB64url = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;

/**
 * A JWS (3 segments) or JWE (5 segments) whose header starts `eyJ` (base64url of `{"`). A linear scan rather
 * than a regular expression: on input like `-eyJ-eyJ-eyJ…` a backtracking pattern goes quadratic.
 */
function hasEmbeddedJWT(text: string): boolean {
  // The run of base64url characters holding the current candidate, and how many `.segment`s follow it;
  // every `eyJ` inside one run shares both, so each is computed once per run and the scan stays linear.
  let runEnd = -1;
  let runDots = 0;
  for (let i = text.indexOf('eyJ'); i >= 0; i = text.indexOf('eyJ', i + 1)) {
    if (i >= runEnd) {
      runEnd = i;
      while (runEnd < text.length && isB64url(text.charCodeAt(runEnd))) runEnd++;
      runDots = 0;
      let k = runEnd;
      while (k < text.length && text.charCodeAt(k) === 46 && runDots < 4) {
        runDots++;
        k++;
        while (k < text.length && isB64url(text.charCodeAt(k))) k++;
      }
    }
    // Start of a word (like \b): not preceded by a letter, digit or underscore.
    const prev = i > 0 ? text.charCodeAt(i - 1) : 45;
    const wordStart = !isB64url(prev) || prev === 45;
    if (wordStart && runEnd - i >= 7 && runDots >= 2) return true;
  }
  return false;
}

function hasCardNumber(text: string): boolean {
  for (const m of text.matchAll(CARD_CANDIDATE)) {
    const digits = m[0].replace(/[ -]/g, '');
    if (digits.length >= 13 && digits.length <= 19 && passesLuhn(digits)) return true;
  }
  return false;
}

/** The kinds of sensitive data a single string value looks like (empty when none). */
export function classifyString(value: string): SensitiveDataKind[] {
  const text = value.length > MAX_STRING ? value.slice(0, MAX_STRING) : value;
  const kinds: SensitiveDataKind[] = [];
  if (PEM_PRIVATE_KEY.test(text)) kinds.push('private-key');
  if (API_KEYS.some((re) => re.test(text))) kinds.push('api-key');
  if (hasEmbeddedJWT(text)) kinds.push('token');
  if (hasCardNumber(text)) kinds.push('card-number');
  if (US_SSN.test(text) || UK_NINO.test(text)) kinds.push('national-id');
  return kinds;
}

function classifyNumber(value: number): SensitiveDataKind[] {
  // Only integers JSON can carry exactly; 16-digit card numbers above 2^53 arrive rounded and fail Luhn anyway.
  if (!Number.isSafeInteger(value) || value < 0) return [];
  const digits = String(value);
  return digits.length >= 13 && /^[2-6]/.test(digits) && passesLuhn(digits) ? ['card-number'] : [];
}

function isPrivateJWK(obj: Record<string, unknown>): boolean {
  return typeof obj.kty === 'string' && PRIVATE_JWK_MEMBERS.some((m) => typeof obj[m] === 'string');
}

const IDENTIFIER = /^[A-Za-z_$][0-9A-Za-z_$]*$/;

function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (IDENTIFIER.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/**
 * Walk `claims` (iteratively, bounded in nodes and depth) and report every place that holds sensitive
 * data: a claim named like a secret, or a value that looks like a card number, a national id, a private key,
 * an API key or another token. Only the path and the kind are returned, never the value.
 *
 * @example
 * findSensitiveData({ sub: 'u1', password: 'hunter2', card: '4111 1111 1111 1111' })
 * // → [{ path: 'password', kind: 'sensitive-name' }, { path: 'card', kind: 'card-number' }]
 */
export function findSensitiveData(claims: Record<string, unknown>): { path: string; kind: string }[] {
  return findSensitiveMatches(claims);
}

/** {@link findSensitiveData} with the precise kind type. */
export function findSensitiveMatches(claims: Record<string, unknown>): SensitiveDataMatch[] {
  const found: SensitiveDataMatch[] = [];
  const stack: { value: unknown; path: string; depth: number; named?: boolean }[] = [
    { value: claims, path: '', depth: 0 },
  ];
  let nodes = 0;
  // Depth-first with an explicit stack; children are pushed in reverse so results come out in document order.
  while (stack.length > 0 && nodes < MAX_NODES) {
    const { value, path, depth, named } = stack.pop()!;
    nodes++;
    if (named) {
      // A claim named like a secret is reported once by name; its value is not classified again.
      found.push({ path, kind: 'sensitive-name' });
    } else if (typeof value === 'string') {
      for (const kind of classifyString(value)) found.push({ path, kind });
    } else if (typeof value === 'number') {
      for (const kind of classifyNumber(value)) found.push({ path, kind });
    } else if (value !== null && typeof value === 'object' && depth < MAX_DEPTH) {
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--)
          stack.push({ value: value[i], path: childPath(path, i), depth: depth + 1 });
      } else {
        const obj = value as Record<string, unknown>;
        if (path !== '' && isPrivateJWK(obj)) found.push({ path, kind: 'private-key' });
        const keys = Object.keys(obj);
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i]!;
          const p = childPath(path, key);
          const child = obj[key];
          const named = isSensitiveClaimName(key) && child !== null && child !== '' && child !== false;
          stack.push({ value: child, path: p, depth: depth + 1, named });
        }
      }
    }
  }
  return found;
}
