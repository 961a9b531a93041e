/**
 * The user domain: validation of emails and custom claims, and the lifecycle the CLI and the pages share
 * (create, find, disable, enable, delete, set a password). Disabling or deleting a user takes every token
 * of theirs with it: sessions end, refresh families are revoked, and a `sub` deny-list entry stops their
 * JWT access tokens at verifiers that follow the revocation feed.
 */
import { findSensitiveData, isSensitiveClaimName } from '@tessera/jwt/lint';
import { REGISTERED_CLAIMS } from '../oauth/claims-policy.js';
import { randomToken } from '../oauth/crypto.js';
import {
  StoreConflictError,
  type AuditStore,
  type RefreshStore,
  type RevocationRecord,
  type RevocationStore,
  type SessionStore,
  type UserRecord,
  type UserStore,
} from '../store/types.js';
import { checkPasswordPolicy, hashPassword } from './password.js';

/** The store parts the user lifecycle touches. */
export type UsersStore = UserStore & SessionStore & RefreshStore & RevocationStore & AuditStore;

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

/** The shape `users show/list --json` prints: never the password hash. */
export interface UserView {
  id: string;
  email: string;
  name: string | null;
  email_verified: boolean;
  disabled: boolean;
  claims: UserClaims;
  has_password: boolean;
  created_at: string;
  updated_at: string;
}

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

function normaliseName(input: string | null | undefined): string | null {
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

function readClaims(user: UserRecord): UserClaims {
  try {
    const parsed: unknown = JSON.parse(user.claims);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as UserClaims)
      : {};
  } catch {
    return {};
  }
}

/**
 * The printable view of a user: never the password hash.
 *
 * @example
 * io.stdout.write(JSON.stringify(describeUser(user), null, 2));
 */
export function describeUser(user: UserRecord): UserView {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    email_verified: user.emailVerified,
    disabled: user.disabled,
    claims: readClaims(user),
    has_password: user.passwordHash !== null,
    created_at: new Date(user.createdAt).toISOString(),
    updated_at: new Date(user.updatedAt).toISOString(),
  };
}

export interface CreateUserInput {
  email: string;
  name?: string | null;
  /** JSON text or an object; see parseUserClaims. */
  claims?: string | Record<string, unknown>;
  /** Checked against the NIST SP 800-63B policy and stored as an argon2id hash. */
  password?: string;
  emailVerified?: boolean;
}

/**
 * A new user id: `usr_` and 128 random bits. Random, not derived from the email: it is every token's `sub`
 * and must stay the same when the email changes (OIDC Core §5.7), and reveal nothing about the person.
 */
export function newUserId(): string {
  return `usr_${randomToken(16)}`;
}

/**
 * Validate and store a new user. The password, when given, is checked against the policy before anything
 * is stored (PasswordPolicyError) and only its argon2id hash is kept.
 *
 * @example
 * const user = await createUser(store, { email: 'ada@example.org', claims: '{"tenant_id":"acme"}' }, Date.now());
 */
export async function createUser(
  store: UsersStore,
  input: CreateUserInput,
  now: number,
): Promise<UserRecord> {
  const email = normaliseEmail(input.email);
  const name = normaliseName(input.name);
  const claims = parseUserClaims(input.claims);
  if (input.password !== undefined) checkPasswordPolicy(input.password);
  const user: UserRecord = {
    id: newUserId(),
    email,
    name,
    emailVerified: input.emailVerified === true,
    disabled: false,
    claims: JSON.stringify(claims),
    passwordHash: input.password === undefined ? null : await hashPassword(input.password),
    createdAt: now,
    updatedAt: now,
  };
  try {
    await store.createUser(user);
  } catch (err) {
    if (err instanceof StoreConflictError)
      throw new UserValidationError(`a user with the email "${email}" already exists`);
    throw err;
  }
  await store.appendAudit({
    at: now,
    type: 'user.created',
    data: { userId: user.id, emailVerified: user.emailVerified, hasPassword: user.passwordHash !== null },
  });
  return user;
}

/**
 * A user by id, or by email (case-insensitively) when the argument holds an `@`.
 *
 * @example
 * const user = await findUser(store, 'ada@example.org');
 */
export async function findUser(store: UserStore, idOrEmail: string): Promise<UserRecord | undefined> {
  const key = idOrEmail.trim();
  if (key === '') return undefined;
  return key.includes('@') ? store.getUserByEmail(key) : store.getUser(key);
}

/** Like findUser, but an unknown user is a UserNotFoundError (`no user "…"`). */
export async function requireUser(store: UserStore, idOrEmail: string): Promise<UserRecord> {
  const user = await findUser(store, idOrEmail);
  if (!user) throw new UserNotFoundError(`no user "${idOrEmail.slice(0, 254)}"`);
  return user;
}

/** Every user, oldest first, as printable views. */
export async function listUserViews(store: UserStore): Promise<UserView[]> {
  return (await store.listUsers()).map(describeUser);
}

async function saveUser(store: UserStore, user: UserRecord): Promise<void> {
  if (!(await store.updateUser(user))) throw new UserNotFoundError(`no user "${user.id}"`);
}

/** Limits that decide how long a `sub` deny-list entry must live. */
export interface RevocationLimits {
  /** The server's longest access-token lifetime, seconds. */
  maxAccessTtl: number;
  /** Added to the entry's lifetime for verifiers whose clocks run behind; default 300 s. */
  clockSkewSeconds?: number;
}

/** What disabling or deleting a user did to their tokens. */
export interface UserTokensRevoked {
  user: UserRecord;
  /** The `sub` deny-list entry for their JWT access tokens (to publish through Redis). */
  revocation: RevocationRecord;
  /** Ids of the sessions that ended. */
  sessions: string[];
  /** Ids of the refresh families revoked. */
  refreshFamilies: string[];
}

/**
 * End everything a user holds: the `sub` entry first (every JWT access token issued to them up to now,
 * kept until none of them can still be unexpired), then refresh families and sessions. In that order, so a
 * failure half way leaves a user whose tokens are already denied, never one whose tokens outlive the step.
 */
async function revokeUserTokens(
  store: UsersStore,
  user: UserRecord,
  reason: 'user_disabled' | 'user_deleted',
  limits: RevocationLimits,
  now: number,
): Promise<UserTokensRevoked> {
  const lifetime = limits.maxAccessTtl + (limits.clockSkewSeconds ?? 300);
  const revocation = await store.addRevocation({
    kind: 'sub',
    value: user.id,
    revokedAt: now,
    expiresAt: now + lifetime * 1000,
  });
  const refreshFamilies = await store.revokeFamilies({ userId: user.id }, reason, now);
  const sessions = await store.deleteUserSessions(user.id);
  return { user, revocation, sessions, refreshFamilies };
}

/**
 * Disable a user: they cannot sign in, their sessions end, their refresh families are revoked and a `sub`
 * revocation entry stops their JWT access tokens at verifiers that follow the feed. Disabling a disabled
 * user runs the revocations again (harmless) so a half-finished earlier attempt is completed.
 *
 * @example
 * const { revocation } = await disableUser(store, 'usr_…', { maxAccessTtl: 3600 }, Date.now());
 */
export async function disableUser(
  store: UsersStore,
  idOrEmail: string,
  limits: RevocationLimits,
  now: number,
): Promise<UserTokensRevoked> {
  const current = await requireUser(store, idOrEmail);
  // The flag first: from here on no sign-in or refresh succeeds, then what was issued before is revoked.
  const user: UserRecord = { ...current, disabled: true, updatedAt: now };
  await saveUser(store, user);
  const result = await revokeUserTokens(store, user, 'user_disabled', limits, now);
  await store.appendAudit({
    at: now,
    type: 'user.disabled',
    data: {
      userId: user.id,
      sessions: result.sessions.length,
      refreshFamilies: result.refreshFamilies.length,
      revocationSeq: result.revocation.seq,
    },
  });
  return result;
}

/**
 * Enable a disabled user: they may sign in again. Tokens revoked when they were disabled stay revoked (the
 * `sub` entry denies every token issued up to the disabling); they get new ones by signing in.
 *
 * @example
 * await enableUser(store, 'usr_…', Date.now());
 */
export async function enableUser(store: UsersStore, idOrEmail: string, now: number): Promise<UserRecord> {
  const current = await requireUser(store, idOrEmail);
  const user: UserRecord = { ...current, disabled: false, updatedAt: now };
  await saveUser(store, user);
  await store.appendAudit({ at: now, type: 'user.enabled', data: { userId: user.id } });
  return user;
}

/**
 * Delete a user and everything they hold (sessions, refresh families, consents, JWT access tokens through a
 * `sub` entry). The tokens are revoked before the record goes, so a failure half way leaves a user that can
 * be deleted again.
 *
 * @example
 * const { revocation } = await deleteUser(store, 'usr_…', { maxAccessTtl: 3600 }, Date.now());
 */
export async function deleteUser(
  store: UsersStore,
  idOrEmail: string,
  limits: RevocationLimits,
  now: number,
): Promise<UserTokensRevoked> {
  const user = await requireUser(store, idOrEmail);
  const result = await revokeUserTokens(store, user, 'user_deleted', limits, now);
  if (!(await store.deleteUser(user.id))) throw new UserNotFoundError(`no user "${user.id}"`);
  await store.appendAudit({
    at: now,
    type: 'user.deleted',
    data: {
      userId: user.id,
      sessions: result.sessions.length,
      refreshFamilies: result.refreshFamilies.length,
      revocationSeq: result.revocation.seq,
    },
  });
  return result;
}

/**
 * Set a user's password (policy first: PasswordPolicyError, nothing changes). Their browser sessions end,
 * since whoever knew the old password may be signed in (OWASP Forgot Password Cheat Sheet). Refresh
 * families stay: a password change does not sign the user out of their apps (`users disable` does).
 * `via` says who set it, for the audit event.
 *
 * @example
 * await setUserPassword(store, 'usr_…', 'correct horse battery staple', Date.now(), 'cli');
 */
export async function setUserPassword(
  store: UsersStore,
  idOrEmail: string,
  password: string,
  now: number,
  via: 'cli' | 'link' = 'cli',
): Promise<UserRecord> {
  checkPasswordPolicy(password);
  const current = await requireUser(store, idOrEmail);
  const user: UserRecord = { ...current, passwordHash: await hashPassword(password), updatedAt: now };
  await saveUser(store, user);
  const sessions = await store.deleteUserSessions(user.id);
  await store.appendAudit({
    at: now,
    type: 'user.password_set',
    data: { userId: user.id, via, sessions: sessions.length },
  });
  return user;
}
