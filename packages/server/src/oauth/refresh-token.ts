import { randomUUID } from 'node:crypto';
import type { ServerContext } from '../server/context.js';
import type { ClientRecord } from '../store/types.js';
import { createOpaqueToken, OPAQUE_REFRESH_TOKEN_PREFIX } from '@tessera/jwt';
import { hashToken } from './crypto.js';

/**
 * A fresh refresh token: `tsr_` + 256 random bits + checksum (`createOpaqueToken`). The prefix keeps it
 * apart from access tokens (an API handed one refuses it without a call) and lets secret scanners find it.
 *
 * @example
 * const next = newRefreshToken(); // 'tsr_…'
 */
export function newRefreshToken(): string {
  return createOpaqueToken(OPAQUE_REFRESH_TOKEN_PREFIX);
}

/** The lifetime of one refresh token: the idle lifetime, never beyond the family's absolute expiry. */
export function refreshTokenExpiry(client: ClientRecord, now: number, absoluteExpiresAt: number): number {
  return Math.min(now + client.refreshIdleTtl * 1000, absoluteExpiresAt);
}

export interface StartRefreshFamilyOptions {
  client: ClientRecord;
  sub: string;
  scope: string[];
  claims: Record<string, unknown>;
  /** The signed-in user and browser session (authorization code grant): logout and user changes revoke it. */
  userId?: string;
  sessionId?: string;
  /** RFC 9449 §5: the DPoP key (thumbprint) every refresh of the family must prove (public clients). */
  dpopJkt?: string;
}

export interface StartedRefreshFamily {
  token: string;
  familyId: string;
}

/**
 * Start a refresh-token family (one login session) and return its first token (`tsr_…`, 256 random bits), stored
 * only as a SHA-256 hash. Every later use rotates it (see grants/refresh-token.ts).
 *
 * @example
 * const refreshToken = await startRefreshFamily(ctx, { client, sub: 'user-1', scope, claims });
 */
export async function startRefreshFamily(
  ctx: ServerContext,
  options: StartRefreshFamilyOptions,
): Promise<string> {
  return (await startRefreshFamilyWithId(ctx, options)).token;
}

/** startRefreshFamily, also returning the family id (the code grant records it for replay revocation). */
export async function startRefreshFamilyWithId(
  ctx: ServerContext,
  options: StartRefreshFamilyOptions,
): Promise<StartedRefreshFamily> {
  const { client } = options;
  const now = ctx.clock();
  const token = newRefreshToken();
  const absoluteExpiresAt = now + client.refreshAbsoluteTtl * 1000;
  const familyId = randomUUID();
  await ctx.store.createFamily(
    {
      id: familyId,
      clientId: client.id,
      sub: options.sub,
      scope: options.scope,
      claims: JSON.stringify(options.claims),
      createdAt: now,
      absoluteExpiresAt,
      revokedAt: null,
      revokedReason: null,
      userId: options.userId ?? null,
      sessionId: options.sessionId ?? null,
      dpopJkt: options.dpopJkt ?? null,
    },
    {
      hash: hashToken(token),
      familyId,
      createdAt: now,
      expiresAt: refreshTokenExpiry(client, now, absoluteExpiresAt),
      usedAt: null,
    },
  );
  return { token, familyId };
}
