/**
 * Who an upstream sign-in is, locally. Identities are linked by (provider, upstream `sub`), never by email
 * alone: an upstream that asserts somebody's address (a misconfigured tenant, a provider that lets users
 * type any email) must not get into that person's account (account takeover, OIDC Core §5.7: `email` is
 * not a stable identifier). Without a link, a local account with the same email is linked only after its
 * owner signs in with their password in the same browser; otherwise a user is provisioned just in time,
 * when the upstream says the email is verified and its domain is allowed.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JWTPayload } from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import type { IdentityProviderRecord, UserRecord } from '../store/types.js';
import { StoreConflictError } from '../store/types.js';
import { hashToken, randomToken } from '../oauth/crypto.js';
import { readCookie, writeCookie } from '../sessions/cookies.js';
import { createUser } from '../users/users.js';
import { UserValidationError } from '../users/rules.js';
import { applyClaimsMap, type ClaimsMap } from './claims-map.js';

/** The cookie binding a pending link to the browser that came back from the upstream. */
export const LINK_COOKIE = 'tessera_idp_link';
/** Time to remember a password: the pending link dies after this. */
const LINK_TTL_MS = 10 * 60_000;

export type Resolution =
  | { kind: 'user'; user: UserRecord; how: 'linked' | 'provisioned' }
  /** A local account has the asserted email: its owner must sign in with the password first. */
  | { kind: 'link_pending'; email: string }
  /** Refused, with the reason code for audit and metrics. */
  | { kind: 'refused'; reason: string };

interface PendingLinkData {
  providerId: string;
  subject: string;
  userId: string;
}

const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/**
 * Find or create the local user of a verified upstream identity (see the module comment for the rules).
 *
 * @example const resolution = await resolveUpstreamUser(ctx, reply, provider, claims);
 */
export async function resolveUpstreamUser(
  ctx: ServerContext,
  reply: FastifyReply,
  provider: IdentityProviderRecord,
  claims: JWTPayload,
): Promise<Resolution> {
  const subject = claims.sub;
  if (typeof subject !== 'string' || subject === '' || subject.length > 255)
    return { kind: 'refused', reason: 'subject_invalid' };
  const link = await ctx.store.getIdentityLink(provider.id, subject);
  if (link !== undefined) {
    const user = await ctx.store.getUser(link.userId);
    if (user === undefined || user.disabled) return { kind: 'refused', reason: 'user_disabled' };
    return { kind: 'user', user, how: 'linked' };
  }
  const mapped = applyClaimsMap(JSON.parse(provider.claimsMap) as ClaimsMap, claims);
  if (mapped.email === undefined) return { kind: 'refused', reason: 'email_missing' };
  const existing = await ctx.store.getUserByEmail(mapped.email);
  if (existing !== undefined) {
    await rememberPendingLink(ctx, reply, { providerId: provider.id, subject, userId: existing.id });
    return { kind: 'link_pending', email: existing.email };
  }
  if (claims.email_verified !== true) return { kind: 'refused', reason: 'email_unverified' };
  if (provider.allowedDomains.length === 0) return { kind: 'refused', reason: 'provisioning_disabled' };
  if (!provider.allowedDomains.includes(domainOf(mapped.email)))
    return { kind: 'refused', reason: 'domain_not_allowed' };
  let user: UserRecord;
  try {
    user = await createUser(
      ctx.store,
      { email: mapped.email, name: mapped.name ?? null, claims: mapped.custom, emailVerified: true },
      ctx.clock(),
    );
  } catch (err) {
    // A malformed address or custom claim from the upstream: refuse, naming only the rule's code.
    if (err instanceof UserValidationError) return { kind: 'refused', reason: 'claims_invalid' };
    throw err;
  }
  try {
    await ctx.store.createIdentityLink({
      providerId: provider.id,
      subject,
      userId: user.id,
      createdAt: ctx.clock(),
    });
  } catch (err) {
    // The same upstream identity signing in twice at once: the other request's user stands.
    if (!(err instanceof StoreConflictError)) throw err;
    await ctx.store.deleteUser(user.id);
    return { kind: 'refused', reason: 'link_race' };
  }
  await ctx.audit('idp.provisioned', { idp: provider.id, userId: user.id });
  await ctx.audit('idp.linked', { idp: provider.id, userId: user.id, via: 'provisioning' });
  return { kind: 'user', user, how: 'provisioned' };
}

async function rememberPendingLink(
  ctx: ServerContext,
  reply: FastifyReply,
  data: PendingLinkData,
): Promise<void> {
  const handle = randomToken(32);
  const now = ctx.clock();
  await ctx.store.insertPending({
    hash: hashToken(handle),
    kind: 'idp_link',
    owner: data.userId,
    data: JSON.stringify(data),
    createdAt: now,
    expiresAt: now + LINK_TTL_MS,
  });
  writeCookie(ctx, reply, LINK_COOKIE, handle, LINK_TTL_MS / 1000);
  await ctx.audit('idp.link_pending', { idp: data.providerId, userId: data.userId });
}

/**
 * After a password sign-in: if this browser holds a pending link for exactly the user who just proved
 * their password, create it (single use; the cookie goes either way). A pending link for someone else is
 * dropped: signing in as B never links an identity that asserted A's email.
 *
 * @example await completePendingLink(ctx, request, reply, user);
 */
export async function completePendingLink(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  user: UserRecord,
): Promise<void> {
  const handle = readCookie(ctx, request, LINK_COOKIE);
  if (handle === undefined || handle.length > 128) return;
  writeCookie(ctx, reply, LINK_COOKIE, '', 0);
  const record = await ctx.store.takePending('idp_link', hashToken(handle), ctx.clock());
  if (record === undefined || record.owner !== user.id) return;
  const data = JSON.parse(record.data) as PendingLinkData;
  if (data.userId !== user.id || (await ctx.store.getIdentityProvider(data.providerId)) === undefined) return;
  try {
    await ctx.store.createIdentityLink({
      providerId: data.providerId,
      subject: data.subject,
      userId: user.id,
      createdAt: ctx.clock(),
    });
  } catch (err) {
    if (err instanceof StoreConflictError) return; // linked meanwhile (another tab)
    throw err;
  }
  await ctx.audit('idp.linked', { idp: data.providerId, userId: user.id, via: 'password_signin' });
}
