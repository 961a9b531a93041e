import { availableParallelism } from 'node:os';
import { hash as argonHash, verify as argonVerify, type Algorithm } from '@node-rs/argon2';

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

/**
 * At most this many argon2id operations run at once; the rest wait here. `@node-rs/argon2` runs on libuv's
 * thread pool (4 threads), which also signs tokens (`signAsync`) and reads files: a burst of sign-ins that
 * took every pool thread would queue every token request behind ~50 ms hashes (measured: client_credentials
 * p99 339 ms during a sign-in flood). One hash per core, and never more than the pool minus one thread.
 */
export const PASSWORD_HASH_CONCURRENCY = Math.max(
  1,
  Math.min(availableParallelism(), Number(process.env.UV_THREADPOOL_SIZE ?? 4) - 1),
);

let running = 0;
const waiting: (() => void)[] = [];

/** argon2id operations running now (at most PASSWORD_HASH_CONCURRENCY) and waiting for a slot. */
export function passwordHashingLoad(): { running: number; waiting: number } {
  return { running, waiting: waiting.length };
}

/** Run `task` when fewer than PASSWORD_HASH_CONCURRENCY hashing operations are in flight. */
async function limited<T>(task: () => Promise<T>): Promise<T> {
  // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
  if (running >= PASSWORD_HASH_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await task();
  } finally {
    const next = waiting.shift();
    if (next !== undefined) next();
    else running--;
  }
}

const hash = (password: string, options: typeof PASSWORD_HASH_PARAMS) =>
  limited(() => argonHash(password, options));
const verify = (phc: string, password: string) => limited(() => argonVerify(phc, password));

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
