/**
 * One-time set-password links (`{issuer}/account/set-password?token=…`): a 256-bit random token, stored
 * only as its SHA-256 in a `set_password` pending record owned by the user, so a database leak yields no
 * usable link. A link is used once (`takePending` reads and deletes in one step) and also dies when the
 * user's password changes by any other way, so an older link cannot overwrite a newer password.
 */
import { hashToken } from '../oauth/crypto.js';
import type { Store, UserRecord } from '../store/types.js';
import { createUserLink, readUserLink, type OneTimeLink } from './one-time-links.js';
import { checkPasswordPolicy } from './password.js';
import { setUserPassword } from './users.js';

/** How long a link works unless the caller says otherwise: 24 hours. */
export const SET_PASSWORD_LINK_TTL = 24 * 3600;

const SET_PASSWORD: OneTimeLink = {
  kind: 'set_password',
  path: '/account/set-password',
  name: 'a set-password link',
};

interface LinkData {
  /** SHA-256 of the password hash when the link was made ('' when there was none). */
  passwordState: string;
}

const passwordState = (user: UserRecord): string =>
  user.passwordHash === null ? '' : hashToken(user.passwordHash);

/** The user a link record belongs to, if the link still applies to them (exists, enabled, password unchanged). */
async function linkUser(
  store: Store,
  record: { owner: string; data: string },
): Promise<UserRecord | undefined> {
  const user = await store.getUser(record.owner);
  if (!user || user.disabled) return undefined;
  let data: Partial<LinkData>;
  try {
    data = JSON.parse(record.data) as Partial<LinkData>;
  } catch {
    return undefined;
  }
  return data.passwordState === passwordState(user) ? user : undefined;
}

/**
 * Create a link for `userId`, valid `ttlSeconds` (SET_PASSWORD_LINK_TTL is the usual 24 h); returns the
 * full URL, to be shown once. Earlier links of the user stay valid until one of them is used.
 *
 * @example
 * const url = await createSetPasswordLink(store, config.issuer, user.id, SET_PASSWORD_LINK_TTL, Date.now());
 */
export async function createSetPasswordLink(
  store: Store,
  issuer: string,
  userId: string,
  ttlSeconds: number,
  now: number,
): Promise<string> {
  // Disabled users are refused: the link would not work (see linkUser).
  return createUserLink(store, issuer, userId, ttlSeconds, now, SET_PASSWORD, (user) => {
    const data: LinkData = { passwordState: passwordState(user) };
    return JSON.stringify(data);
  });
}

/**
 * The user a link token belongs to, without using it up; undefined when unknown, used, expired, or no longer
 * applicable (user gone or disabled, or their password changed since the link was made).
 *
 * @example
 * const user = await findSetPasswordLink(store, request.query.token, Date.now());
 */
export async function findSetPasswordLink(
  store: Store,
  token: string,
  now: number,
): Promise<UserRecord | undefined> {
  const record = await readUserLink(store, SET_PASSWORD, token, now, false);
  return record === undefined ? undefined : linkUser(store, record);
}

/**
 * Use a link: check the password policy (PasswordPolicyError, link kept, so the user can try a longer
 * password), then consume the link (single use, one atomic step in the store) and set the password. Returns
 * the updated user, or undefined when the link is unknown, used, expired or no longer applicable.
 *
 * @example
 * const user = await useSetPasswordLink(store, form.token, form.password, Date.now());
 */
export async function useSetPasswordLink(
  store: Store,
  token: string,
  password: string,
  now: number,
): Promise<UserRecord | undefined> {
  checkPasswordPolicy(password);
  const record = await readUserLink(store, SET_PASSWORD, token, now, true);
  if (record === undefined) return undefined;
  const user = await linkUser(store, record);
  if (user === undefined) return undefined;
  return setUserPassword(store, user.id, password, now, 'link');
}
