import { createHash } from 'node:crypto';
import type { ServerContext } from '../server/context.js';

/**
 * Brute-force protection for password sign-in (OWASP Authentication Cheat Sheet, "Protect against automated
 * attacks"; NIST SP 800-63B §5.2.2 rate limiting): growing delays per account and per client IP, counted on
 * `ctx.ephemeral` (Redis when configured, so every instance sees the same counts).
 *
 * The account key is the submitted email, lowercased, whether or not such an account exists: an unknown
 * email is throttled exactly like a real one, so the 429 does not reveal which accounts exist (user
 * enumeration). While a lock runs, attempts are refused before the password is checked, so a locked
 * account costs the attacker a request and the server no hashing.
 */

/** Failures an account may have in its window before delays start (typos and a forgotten caps lock). */
export const ACCOUNT_FREE_FAILURES = 5;
/**
 * How long an account's failures are remembered (a fixed window from the first failure; a success clears
 * it). One hour rather than 15 minutes so the cap below, not the window's end, sets an attacker's pace:
 * about 5 + 10 guesses in the first 17 minutes, then one per 15 minutes.
 */
export const ACCOUNT_WINDOW_MS = 60 * 60_000;
/** Failures one IP may have (over all accounts) before its delays start: enough for a shared office NAT. */
export const IP_FREE_FAILURES = 50;
/** How long an IP's failures are remembered. A success does not clear it (one good account must not launder guesses). */
export const IP_WINDOW_MS = 15 * 60_000;
/** The first delay after the free failures; each further failure doubles it. */
export const FIRST_DELAY_MS = 1000;
/** The longest single delay (1 s, 2 s, 4 s … 512 s, then 15 min). */
export const MAX_DELAY_MS = 15 * 60_000;

// hit() answers `remaining = limit - count`; with a limit no window reaches, the count is exact.
const COUNT_ALL = 1_000_000_000;

export type ThrottleScope = 'account' | 'ip';

export interface ThrottleKeys {
  account: string;
  ip: string;
}

/**
 * The counter keys for one attempt. The email is hashed: Redis never holds addresses in clear, and a
 * megabyte-long "email" cannot make a megabyte-long key.
 */
export function throttleKeys(email: string, ip: string): ThrottleKeys {
  const account = createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');
  return { account: `signin:acct:${account}`, ip: `signin:ip:${ip}` };
}

/** The delay after the `failures`-th failure, or 0 while within the free failures. */
export function delayAfter(failures: number, free: number): number {
  if (failures <= free) return 0;
  // 2^exponent overflows nothing: the exponent is capped well before the cap on the delay.
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(failures - free - 1, 30));
}

export interface ThrottleLock {
  scope: ThrottleScope;
  /** Milliseconds until attempts are accepted again. */
  retryAfterMs: number;
}

/**
 * The running lock on this attempt's account or IP (the longer one), or undefined when it may proceed.
 *
 * @example
 * const lock = await checkThrottle(ctx, throttleKeys(email, request.ip));
 */
export async function checkThrottle(
  ctx: ServerContext,
  keys: ThrottleKeys,
): Promise<ThrottleLock | undefined> {
  const [account, ip] = await Promise.all([
    ctx.ephemeral.peek(`${keys.account}:lock`),
    ctx.ephemeral.peek(`${keys.ip}:lock`),
  ]);
  if (account.count === 0 && ip.count === 0) return undefined;
  return account.resetMs >= ip.resetMs
    ? { scope: 'account', retryAfterMs: account.resetMs }
    : { scope: 'ip', retryAfterMs: ip.resetMs };
}

/**
 * Count a failed attempt on both keys; starts the locks it earns. Returns the locks started (for the
 * `signin.locked` audit event).
 */
export async function recordFailure(ctx: ServerContext, keys: ThrottleKeys): Promise<ThrottleLock[]> {
  const [account, ip] = await Promise.all([
    count(ctx, keys.account, ACCOUNT_WINDOW_MS, ACCOUNT_FREE_FAILURES, 'account'),
    count(ctx, keys.ip, IP_WINDOW_MS, IP_FREE_FAILURES, 'ip'),
  ]);
  return [account, ip].filter((lock): lock is ThrottleLock => lock !== undefined);
}

async function count(
  ctx: ServerContext,
  key: string,
  windowMs: number,
  free: number,
  scope: ThrottleScope,
): Promise<ThrottleLock | undefined> {
  const { remaining } = await ctx.ephemeral.hit(`${key}:fail`, COUNT_ALL, windowMs);
  const delay = delayAfter(COUNT_ALL - remaining, free);
  if (delay === 0) return undefined;
  // A fresh window of exactly `delay`: reset first, since hit() never moves an existing window's end.
  await ctx.ephemeral.reset(`${key}:lock`);
  await ctx.ephemeral.hit(`${key}:lock`, COUNT_ALL, delay);
  return { scope, retryAfterMs: delay };
}

/**
 * The running lock on an IP alone: for sign-ins that name no account up front (passkeys), whose failures
 * count against the same per-IP budget as passwords, so switching method buys an attacker no guesses.
 *
 * @example const lock = await checkIpThrottle(ctx, request.ip);
 */
export async function checkIpThrottle(ctx: ServerContext, ip: string): Promise<ThrottleLock | undefined> {
  const { count: locked, resetMs } = await ctx.ephemeral.peek(`${throttleKeys('', ip).ip}:lock`);
  return locked === 0 ? undefined : { scope: 'ip', retryAfterMs: resetMs };
}

/**
 * Count one failure against an IP only (see checkIpThrottle); returns the lock it started, if any.
 *
 * @example const lock = await recordIpFailure(ctx, request.ip);
 */
export async function recordIpFailure(ctx: ServerContext, ip: string): Promise<ThrottleLock | undefined> {
  return count(ctx, throttleKeys('', ip).ip, IP_WINDOW_MS, IP_FREE_FAILURES, 'ip');
}

/** A success clears the account's failures and lock (never the IP's). */
export async function recordSuccess(ctx: ServerContext, keys: ThrottleKeys): Promise<void> {
  await Promise.all([
    ctx.ephemeral.reset(`${keys.account}:fail`),
    ctx.ephemeral.reset(`${keys.account}:lock`),
  ]);
}

/** "30 seconds", "1 minute", "15 minutes": the wait as people say it (rounded up). */
export function describeWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
