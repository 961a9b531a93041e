/**
 * One-time passkey enrolment links (`{issuer}/account/passkey?token=…`), like set-password links
 * (users/links.ts): a 256-bit random token stored only as its SHA-256 in a `passkey_link` pending record owned
 * by the user, so a database leak yields no usable link. Opening the link does not use it; registering a
 * passkey through it does (`takePending`: read and delete in one step), so it enrols exactly one passkey.
 */
import { hashToken, randomToken } from '../oauth/crypto.js';
import type { Store, UserRecord } from '../store/types.js';
import { UserNotFoundError, UserValidationError } from '../users/users.js';

/** The link token: 32 random bytes, base64url (43 characters). Anything else is not a token of ours. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Create a link for `userId`, valid `ttlSeconds`; returns the full URL, to be shown once.
 *
 * @example
 * const url = await createPasskeyLink(store, config.issuer, user.id, PASSKEY_LINK_TTL, Date.now());
 */
export async function createPasskeyLink(
  store: Store,
  issuer: string,
  userId: string,
  ttlSeconds: number,
  now: number,
): Promise<string> {
  if (!(ttlSeconds > 0)) throw new RangeError('a passkey link needs a positive lifetime');
  const user = await store.getUser(userId);
  if (!user) throw new UserNotFoundError(`no user "${userId}"`);
  if (user.disabled) throw new UserValidationError(`user "${userId}" is disabled; enable them first`);
  const token = randomToken(32);
  await store.insertPending({
    hash: hashToken(token),
    kind: 'passkey_link',
    owner: user.id,
    data: '{}',
    createdAt: now,
    expiresAt: now + Math.floor(ttlSeconds * 1000),
  });
  return `${issuer.replace(/\/+$/, '')}/account/passkey?token=${token}`;
}

/** The link's live, enabled user. */
async function linkUser(store: Store, owner: string): Promise<UserRecord | undefined> {
  const user = await store.getUser(owner);
  return user === undefined || user.disabled ? undefined : user;
}

/**
 * The user a link belongs to, without using it; undefined when unknown, used, expired, or the user is gone
 * or disabled.
 *
 * @example const user = await findPasskeyLink(store, request.query.token, Date.now());
 */
export async function findPasskeyLink(
  store: Store,
  token: string,
  now: number,
): Promise<UserRecord | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const record = await store.getPending('passkey_link', hashToken(token), now);
  return record === undefined ? undefined : linkUser(store, record.owner);
}

/**
 * Use a link up (single use, one atomic store step) and return its user, or undefined as for find.
 *
 * @example const user = await takePasskeyLink(store, form.get('token'), Date.now());
 */
export async function takePasskeyLink(
  store: Store,
  token: string,
  now: number,
): Promise<UserRecord | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const record = await store.takePending('passkey_link', hashToken(token), now);
  return record === undefined ? undefined : linkUser(store, record.owner);
}

/** The link token's hash, as a challenge records it (so the answer must come with the same link). */
export const linkHash = (token: string): string => hashToken(token);
