/**
 * WebAuthn challenges: random, single-use, short-lived and bound to the browser that asked (W3C WebAuthn
 * Level 3 §13.4.3). The library makes the challenge; Tessera keeps it in a `passkey_challenge` pending record
 * keyed by the SHA-256 of a random handle held in an HttpOnly cookie, and takes it (read and delete in one
 * store step) when the answer arrives. The challenge the client echoes is compared with the stored one,
 * never trusted on its own: a replayed answer finds no record, and another browser's cookie names another.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { hashToken, randomToken } from '../oauth/crypto.js';
import { readCookie, writeCookie } from '../sessions/cookies.js';
import { CHALLENGE_TTL_MS } from './settings.js';

export const CHALLENGE_COOKIE = 'tessera_webauthn';

/** `signin`: the sign-in page; `register`: a signed-in user's account page; `enrol`: an enrolment link. */
export type CeremonyPurpose = 'signin' | 'register' | 'enrol';

export interface StoredChallenge {
  purpose: CeremonyPurpose;
  challenge: string;
  /** The user a registration is for (register, enrol). */
  userId?: string;
  /** The SHA-256 of the enrolment link's token (enrol). */
  link?: string;
}

/**
 * Remember a challenge for this browser (a new cookie each time; an older challenge of it is left to expire).
 *
 * @example await saveChallenge(ctx, reply, { purpose: 'signin', challenge: options.challenge });
 */
export async function saveChallenge(
  ctx: ServerContext,
  reply: FastifyReply,
  stored: StoredChallenge,
): Promise<void> {
  const handle = randomToken(32);
  const now = ctx.clock();
  await ctx.store.insertPending({
    hash: hashToken(handle),
    kind: 'passkey_challenge',
    owner: stored.userId ?? '',
    data: JSON.stringify(stored),
    createdAt: now,
    expiresAt: now + CHALLENGE_TTL_MS,
  });
  writeCookie(ctx, reply, CHALLENGE_COOKIE, handle, CHALLENGE_TTL_MS / 1000);
}

/**
 * Take this browser's challenge for `purpose` (single use: gone afterwards whatever the outcome), or
 * undefined when there is none, it expired, was used, or was made for another purpose.
 *
 * @example const stored = await takeChallenge(ctx, request, reply, 'signin');
 */
export async function takeChallenge(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  purpose: CeremonyPurpose,
): Promise<StoredChallenge | undefined> {
  const handle = readCookie(ctx, request, CHALLENGE_COOKIE);
  if (handle === undefined || handle.length > 128) return undefined;
  writeCookie(ctx, reply, CHALLENGE_COOKIE, '', 0);
  const record = await ctx.store.takePending('passkey_challenge', hashToken(handle), ctx.clock());
  if (record === undefined) return undefined;
  let stored: Partial<StoredChallenge>;
  try {
    stored = JSON.parse(record.data) as Partial<StoredChallenge>;
  } catch {
    return undefined;
  }
  if (stored.purpose !== purpose || typeof stored.challenge !== 'string') return undefined;
  return stored as StoredChallenge;
}
