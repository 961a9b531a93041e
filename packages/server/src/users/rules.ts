/**
 * What a user record may hold: email addresses and custom claims, checked before anything is stored.
 * Messages name the rule (and a claim's name), never a value.
 */
import { findSensitiveData, isSensitiveClaimName } from '@tessera/jwt/lint';
import { REGISTERED_CLAIMS } from '../oauth/claims-policy.js';

/** A user definition refused before anything is stored; the message says what to change, never a password. */
export class UserValidationError extends Error {
  override readonly name: string = 'UserValidationError';
  readonly code: string = 'ERR_USER_INVALID';
}

/** No user with that id or email (the CLI answers "no user …" and exit code 1). */
export class UserNotFoundError extends UserValidationError {
  override readonly name = 'UserNotFoundError';
  override readonly code = 'ERR_USER_NOT_FOUND';
}

/** RFC 5321 §4.5.3.1: a path is at most 256 octets including the angle brackets, so 254 for the address. */
export const EMAIL_MAX_LENGTH = 254;
/** RFC 5321 §4.5.3.1.1. */
const LOCAL_PART_MAX_LENGTH = 64;
/** Custom claims travel in every access token that allows them: keep them small. */
export const USER_CLAIMS_MAX_BYTES = 1024;
const NAME_MAX_LENGTH = 200;

/**
 * Claim names a user's custom claims may not use: every claim an access or ID token sets itself (RFC 7519
 * §4.1, RFC 9068 §2.2, OIDC Core §2 and §5.1), and the scope-like names resource servers authorise on. A
 * custom `sub`, `email` or `roles` would let whoever edits a user change who or what a token vouches for.
 */
export const RESERVED_USER_CLAIMS: ReadonlySet<string> = new Set([
  ...REGISTERED_CLAIMS,
  'email',
  'email_verified',
  'name',
  'at_hash',
  'c_hash',
  'auth_time',
  'azp',
]);

/** Object keys that change an object's prototype when assigned (prototype pollution). */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A JSON primitive (what a custom claim value, or an element of an array value, may be). */
export type ClaimPrimitive = string | number | boolean | null;
export type UserClaims = Record<string, ClaimPrimitive | ClaimPrimitive[]>;

/**
 * Check and normalise an email address: trimmed, at most 254 characters, one `@` with a non-empty local
 * part (at most 64) and a domain with a dot, no spaces or control characters. Not a full RFC 5322 parser:
 * the address is an identifier here; whoever delivers mail to it checks the rest.
 *
 * @example
 * normaliseEmail('  Ada@Example.org '); // 'Ada@Example.org'
 */
export function normaliseEmail(input: string): string {
  const email = input.trim();
  if (email.length === 0) throw new UserValidationError('an email address is required');
  if (email.length > EMAIL_MAX_LENGTH)
    throw new UserValidationError(`an email address may have at most ${EMAIL_MAX_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(email))
    throw new UserValidationError('an email address cannot contain spaces or control characters');
  const parts = email.split('@');
  if (parts.length !== 2) throw new UserValidationError('an email address has exactly one "@"');
  const [local, domain] = parts as [string, string];
  if (local.length === 0 || local.length > LOCAL_PART_MAX_LENGTH)
    throw new UserValidationError(
      `the part of an email address before "@" must be 1-${LOCAL_PART_MAX_LENGTH} characters`,
    );
  const labels = domain.split('.');
  if (labels.length < 2 || labels.some((label) => label.length === 0))
    throw new UserValidationError('the domain of an email address needs a dot (e.g. example.org)');
  return email;
}

/** A display name: trimmed, empty means none, at most 200 characters, no control characters. */
export function normaliseName(input: string | null | undefined): string | null {
  if (input === undefined || input === null) return null;
  const name = input.trim();
  if (name === '') return null;
  if ([...name].length > NAME_MAX_LENGTH)
    throw new UserValidationError(`a name may have at most ${NAME_MAX_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name))
    throw new UserValidationError('a name cannot contain control characters');
  return name;
}

const isPrimitive = (value: unknown): value is ClaimPrimitive =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'boolean' ||
  (typeof value === 'number' && Number.isFinite(value));

/**
 * Check a user's custom claims (JSON text or an object): a JSON object of at most 1 KiB serialised, names
 * like `tenant_id` (A-Z a-z 0-9 _ . : -, at most 64), none registered or reserved (RESERVED_USER_CLAIMS), none
 * sensitive-looking (`password`, `ssn` … by `@tessera/jwt/lint`: access tokens are readable), and values
 * that are JSON primitives or arrays of them (nested objects would escape these checks). Messages name the
 * claim, never its value.
 *
 * @example
 * parseUserClaims('{"tenant_id":"acme"}'); // { tenant_id: 'acme' }
 */
export function parseUserClaims(input: string | Record<string, unknown> | undefined): UserClaims {
  if (input === undefined) return {};
  let parsed: unknown = input;
  if (typeof input === 'string') {
    try {
      parsed = JSON.parse(input);
    } catch {
      throw new UserValidationError(
        'custom claims must be valid JSON (an object such as {"tenant_id":"acme"})',
      );
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UserValidationError('custom claims must be a JSON object, e.g. {"tenant_id":"acme"}');
  const claims: UserClaims = {};
  for (const [name, value] of Object.entries(parsed)) {
    const shown = name.slice(0, 64);
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name) || PROTOTYPE_KEYS.has(name))
      throw new UserValidationError(`invalid custom claim name "${shown}" (A-Z a-z 0-9 _ . : -, at most 64)`);
    if (RESERVED_USER_CLAIMS.has(name))
      throw new UserValidationError(`"${name}" is a registered claim and cannot be a custom claim`);
    if (isSensitiveClaimName(name))
      throw new UserValidationError(`"${name}" looks sensitive and cannot go into a readable token`);
    if (Array.isArray(value) ? !value.every(isPrimitive) : !isPrimitive(value))
      throw new UserValidationError(
        `custom claim "${name}" must be a string, number, boolean or null, or an array of them`,
      );
    claims[name] = value as ClaimPrimitive | ClaimPrimitive[];
  }
  const bytes = Buffer.byteLength(JSON.stringify(claims), 'utf8');
  if (bytes > USER_CLAIMS_MAX_BYTES)
    throw new UserValidationError(
      `custom claims are ${bytes} bytes serialised, above the limit of ${USER_CLAIMS_MAX_BYTES}`,
    );
  // Values too: a card number or a private key under an innocent name is still sensitive data.
  const sensitive = findSensitiveData(claims);
  if (sensitive.length > 0)
    throw new UserValidationError(
      `custom claims look sensitive and cannot go into a readable token: ${sensitive
        .slice(0, 5)
        .map((m) => `${m.path.slice(0, 64)} (${m.kind})`)
        .join(', ')}`,
    );
  return claims;
}
