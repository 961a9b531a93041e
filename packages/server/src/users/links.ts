/**
 * TEMPORARY contract (the users work implements it): one-time set-password links
 * (`{issuer}/account/set-password?token=…`), stored as `set_password` pending records (hash only).
 */
import type { Store, UserRecord } from '../store/types.js';

/** Create a link for `userId`, valid `ttlSeconds`; returns the full URL (shown once). */
export async function createSetPasswordLink(
  _store: Store,
  _issuer: string,
  _userId: string,
  _ttlSeconds: number,
  _now: number,
): Promise<string> {
  throw new Error('not implemented yet');
}

/** The user a link token belongs to, without using it up; undefined when unknown, used or expired. */
export async function findSetPasswordLink(
  _store: Store,
  _token: string,
  _now: number,
): Promise<UserRecord | undefined> {
  throw new Error('not implemented yet');
}

/**
 * Use a link: check the password policy (PasswordPolicyError, link kept), then consume the link and set the
 * password. Returns the updated user, or undefined when the link is unknown, used or expired.
 */
export async function useSetPasswordLink(
  _store: Store,
  _token: string,
  _password: string,
  _now: number,
): Promise<UserRecord | undefined> {
  throw new Error('not implemented yet');
}
