/**
 * One-time links for a user (`{issuer}{path}?token=…`): set-password links (users/links.ts) and passkey
 * enrolment links (passkeys/links.ts). A 256-bit random token, stored only as its SHA-256 in a pending record
 * owned by the user, so a database leak yields no usable link; a link is looked at with `getPending` and used
 * up with `takePending` (read and delete in one store step: single use).
 */
import { hashToken, randomToken } from '../oauth/crypto.js';
import type { PendingKind, PendingRecord, Store, UserRecord } from '../store/types.js';
import { UserNotFoundError, UserValidationError } from './users.js';

/** The link token: 32 random bytes, base64url (43 characters). Anything else is not a token of ours. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** What kind of link, where it opens, and what its record keeps. */
export interface OneTimeLink {
  kind: PendingKind;
  /** The page's path, e.g. `/account/set-password`. */
  path: string;
  /** The link's name in messages, e.g. "a set-password link". */
  name: string;
}

/**
 * Create a link for `userId`, valid `ttlSeconds`, with `data` (JSON text) from the user; returns the full
 * URL, to be shown once. A disabled user's link would never work: refused now rather than handed out dead.
 *
 * @example const url = await createUserLink(store, issuer, id, ttl, Date.now(), SET_PASSWORD, () => '{}');
 */
export async function createUserLink(
  store: Store,
  issuer: string,
  userId: string,
  ttlSeconds: number,
  now: number,
  link: OneTimeLink,
  data: (user: UserRecord) => string,
): Promise<string> {
  if (!(ttlSeconds > 0)) throw new RangeError(`${link.name} needs a positive lifetime`);
  const user = await store.getUser(userId);
  if (!user) throw new UserNotFoundError(`no user "${userId}"`);
  if (user.disabled) throw new UserValidationError(`user "${userId}" is disabled; enable them first`);
  const token = randomToken(32);
  await store.insertPending({
    hash: hashToken(token),
    kind: link.kind,
    owner: user.id,
    data: data(user),
    createdAt: now,
    expiresAt: now + Math.floor(ttlSeconds * 1000),
  });
  return `${issuer.replace(/\/+$/, '')}${link.path}?token=${token}`;
}

/**
 * The live record of a link token: looked at (`use: false`) or used up in one step (`use: true`).
 * Undefined for anything that is not a token of ours, unknown, used or expired.
 *
 * @example const record = await readUserLink(store, SET_PASSWORD, form.token, Date.now(), true);
 */
export async function readUserLink(
  store: Store,
  link: OneTimeLink,
  token: string,
  now: number,
  use: boolean,
): Promise<PendingRecord | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const hash = hashToken(token);
  return use ? store.takePending(link.kind, hash, now) : store.getPending(link.kind, hash, now);
}
