import { hash, verify, type Algorithm } from '@node-rs/argon2';

/**
 * Password hashing: argon2id (RFC 9106) at OWASP's minimum parameters or stronger. `@node-rs/argon2`
 * runs each hash on libuv's thread pool, so the event loop keeps serving token requests while sign-ins
 * hash (issue 14's benchmark measures exactly that).
 */

/** OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1. */
export const PASSWORD_HASH_PARAMS = {
  // Algorithm.Argon2id: a const enum, which isolated modules cannot read.
  algorithm: 2 as Algorithm,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** NIST SP 800-63B §3.1.1.2: at least 8 characters; long passphrases allowed; no composition rules. */
export const PASSWORD_MIN_LENGTH = 8;
/** Upper bound so one request cannot make the server hash megabytes (63B allows capping at ≥ 64). */
export const PASSWORD_MAX_LENGTH = 256;

/** A password refused by the rules above; the message says which rule, never the password. */
export class PasswordPolicyError extends Error {
  override readonly name = 'PasswordPolicyError';
  readonly code = 'ERR_PASSWORD_POLICY';
}

/** Length in Unicode code points after NFC normalisation (63B §5.1.1.2 counts characters, not bytes). */
function normalise(password: string): string {
  return password.normalize('NFC');
}

/**
 * Refuse a password that breaks NIST SP 800-63B's rules: fewer than 8 characters or more than 256.
 * No composition rules (63B forbids them).
 *
 * @example
 * checkPasswordPolicy('correct horse battery staple'); // ok
 */
export function checkPasswordPolicy(password: string): void {
  const length = [...normalise(password)].length;
  if (length < PASSWORD_MIN_LENGTH)
    throw new PasswordPolicyError(`a password needs at least ${PASSWORD_MIN_LENGTH} characters`);
  if (length > PASSWORD_MAX_LENGTH)
    throw new PasswordPolicyError(`a password may have at most ${PASSWORD_MAX_LENGTH} characters`);
}

/**
 * The argon2id PHC string of a password, hashed off the main thread.
 *
 * @example
 * const passwordHash = await hashPassword('correct horse battery staple');
 */
export function hashPassword(password: string): Promise<string> {
  return hash(normalise(password), PASSWORD_HASH_PARAMS);
}

/** Parameters of a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), or undefined if it is not argon2id. */
function phcParams(phc: string): { m: number; t: number; p: number } | undefined {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (match === null) return undefined;
  return { m: Number(match[1]), t: Number(match[2]), p: Number(match[3]) };
}

/** True when a stored hash was made with other parameters than today's: rehash it at the next sign-in. */
export function needsRehash(phc: string): boolean {
  const params = phcParams(phc);
  return (
    params === undefined ||
    params.m !== PASSWORD_HASH_PARAMS.memoryCost ||
    params.t !== PASSWORD_HASH_PARAMS.timeCost ||
    params.p !== PASSWORD_HASH_PARAMS.parallelism
  );
}

// A hash of a random password with today's parameters: verifying against it costs what a real check costs.
let dummyHash: Promise<string> | undefined;

/**
 * Check a password against a stored hash. With no hash (unknown account, or no password set yet) it still
 * verifies against a dummy hash of the same cost, so the answer takes comparable time whether or not the
 * account exists (user enumeration by timing, OWASP Authentication Cheat Sheet).
 *
 * @example
 * const { ok, rehash } = await verifyPassword(user?.passwordHash ?? null, submitted);
 */
export async function verifyPassword(
  storedHash: string | null,
  password: string,
): Promise<{ ok: boolean; rehash: boolean }> {
  const candidate = normalise(password);
  if (
    storedHash === null ||
    phcParams(storedHash) === undefined ||
    password.length > PASSWORD_MAX_LENGTH * 4
  ) {
    dummyHash ??= hash(`dummy-${Math.random()}`, PASSWORD_HASH_PARAMS);
    await verify(await dummyHash, candidate.slice(0, PASSWORD_MAX_LENGTH * 4)).catch(() => false);
    return { ok: false, rehash: false };
  }
  let ok: boolean;
  try {
    ok = await verify(storedHash, candidate);
  } catch {
    ok = false;
  }
  return { ok, rehash: ok && needsRehash(storedHash) };
}
