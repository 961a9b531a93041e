/**
 * One-time passkey enrolment links (`{issuer}/account/passkey?token=…`), like set-password links
 * (users/links.ts): a 256-bit random token stored only as its SHA-256 in a `passkey_link` pending record owned
 * by the user, so a database leak yields no usable link. Opening the link does not use it; registering a
 * passkey through it does (`takePending`: read and delete in one step), so it enrols exactly one passkey.
 */
import { hashToken } from '../oauth/crypto.js';
import type { Store, UserRecord } from '../store/types.js';
import { createUserLink, readUserLink, type OneTimeLink } from '../users/one-time-links.js';

const PASSKEY_LINK: OneTimeLink = { kind: 'passkey_link', path: '/account/passkey', name: 'a passkey link' };

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
  return createUserLink(store, issuer, userId, ttlSeconds, now, PASSKEY_LINK, () => '{}');
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
  const record = await readUserLink(store, PASSKEY_LINK, token, now, false);
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
  const record = await readUserLink(store, PASSKEY_LINK, token, now, true);
  return record === undefined ? undefined : linkUser(store, record.owner);
}

/** The link token's hash, as a challenge records it (so the answer must come with the same link). */
export const linkHash = (token: string): string => hashToken(token);
