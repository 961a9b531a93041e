/**
 * The user domain: the lifecycle the CLI and the pages share (create, find, disable, enable, delete, set a
 * password); the rules for emails and custom claims are in rules.ts. Disabling or deleting a user takes every token
 * of theirs with it: sessions end, refresh families are revoked, and a `sub` deny-list entry stops their
 * JWT access tokens at verifiers that follow the revocation feed.
 */
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
import {
  normaliseEmail,
  normaliseName,
  parseUserClaims,
  UserNotFoundError,
  UserValidationError,
  type UserClaims,
} from './rules.js';

export {
  EMAIL_MAX_LENGTH,
  normaliseEmail,
  parseUserClaims,
  RESERVED_USER_CLAIMS,
  USER_CLAIMS_MAX_BYTES,
  UserNotFoundError,
  UserValidationError,
} from './rules.js';
export type { ClaimPrimitive, UserClaims } from './rules.js';

/** The store parts the user lifecycle touches. */
export type UsersStore = UserStore & SessionStore & RefreshStore & RevocationStore & AuditStore;

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
