import { hasSignInListing } from './listing.js';
import { StoreConflictError, type RefreshTokenRecord, type Store } from './types.js';

/** How many records `copyStore` wrote, per kind, and how many it skipped because the target had them. */
export interface CopyStoreResult {
  keys: number;
  clients: number;
  refreshFamilies: number;
  refreshTokens: number;
  revocations: number;
  opaqueTokens: number;
  auditEvents: number;
  users: number;
  consents: number;
  sessions: number;
  identityProviders: number;
  identityLinks: number;
  passkeys: number;
  skipped: number;
}

const PAGE = 1000;

/**
 * Copies everything that still matters from `from` to `to`: keys (encrypted blobs untouched, so the KEK must
 * stay the same), clients, live refresh families with their tokens, unexpired revocations, unexpired opaque
 * tokens, users and their passkeys, remembered consents, live sessions (so nobody is signed out by the move),
 * identity providers (their secrets stay encrypted under the same KEK) and their links, and the audit log.
 * Single-use ids, leases, authorization codes and pending requests (PAR, interactions, set-password links)
 * live seconds to minutes and are not copied: a flow in progress during the copy simply starts again.
 * Records the target
 * already has are skipped and counted, so a forced re-run does not duplicate them.
 *
 * Revocations get fresh seqs in the target, in the source's order (the store assigns seqs); verifiers whose
 * cursor is ahead of the new log get `reset: true` from the feed and re-read it from 0.
 *
 * @example
 * const counts = await copyStore(sqlite, postgres, Date.now());
 */
export async function copyStore(from: Store, to: Store, now: number): Promise<CopyStoreResult> {
  const result: CopyStoreResult = {
    keys: 0,
    clients: 0,
    refreshFamilies: 0,
    refreshTokens: 0,
    revocations: 0,
    opaqueTokens: 0,
    auditEvents: 0,
    users: 0,
    consents: 0,
    sessions: 0,
    identityProviders: 0,
    identityLinks: 0,
    passkeys: 0,
    skipped: 0,
  };
  const attempt = async (write: () => Promise<unknown>): Promise<boolean> => {
    try {
      await write();
      return true;
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      result.skipped++;
      return false;
    }
  };

  for (const key of await from.listKeys()) if (await attempt(() => to.insertKey(key))) result.keys++;
  for (const client of await from.listClients())
    if (await attempt(() => to.createClient(client))) result.clients++;

  for (const family of await from.listLiveFamilies(now)) {
    const copied = await copyFamilyTokens(to, family, await from.listFamilyTokens(family.id), attempt);
    if (copied > 0) {
      result.refreshFamilies++;
      result.refreshTokens += copied;
    }
  }

  // Same (kind, value) twice returns the existing entry, so a re-run adds nothing; count only new seqs.
  const before = await to.latestRevocationSeq();
  for (let since = 0; ;) {
    const page = await from.listRevocations(since, PAGE, now);
    for (const { kind, value, expiresAt, revokedAt } of page) {
      const added = await to.addRevocation({ kind, value, expiresAt, revokedAt });
      if (added.seq > before) result.revocations++;
      else result.skipped++;
    }
    if (page.length < PAGE) break;
    since = page[page.length - 1]!.seq;
  }

  for (const token of await from.listOpaqueTokens(now)) {
    if (await attempt(() => to.insertOpaqueToken(token))) result.opaqueTokens++;
  }

  for (const user of await from.listUsers()) {
    if (await attempt(() => to.createUser(user))) result.users++;
    // Counters carry over as they are: a cloned authenticator stays detectable after the move.
    for (const passkey of await from.listUserPasskeys(user.id))
      if (await attempt(() => to.createPasskey(passkey))) result.passkeys++;
  }
  // The Store contract has no way to enumerate consents or sessions (the server never needs to); the SQL
  // stores add listings for this copy. A source without them (memory) has nothing worth moving anyway.
  if (hasSignInListing(from)) {
    for (const consent of await from.listConsents()) {
      // grantConsent unions into what the target has, so a re-run changes nothing; count only new ones.
      if (await to.getConsent(consent.userId, consent.clientId)) {
        result.skipped++;
        continue;
      }
      // Granted at its creation time: the scopes and createdAt carry over, updatedAt becomes createdAt.
      await to.grantConsent(consent.userId, consent.clientId, consent.scope, consent.createdAt);
      result.consents++;
    }
    for (const session of await from.listLiveSessions(now))
      if (await attempt(() => to.createSession(session))) result.sessions++;
  }

  for (const provider of await from.listIdentityProviders())
    if (await attempt(() => to.createIdentityProvider(provider))) result.identityProviders++;
  for (const link of await from.listIdentityLinks())
    if (await attempt(() => to.createIdentityLink(link))) result.identityLinks++;

  // Audit events have no identity to detect duplicates by: copy them only into an empty log.
  if ((await to.listAudit(1)).length === 0) {
    const events = await from.listAudit(Number.MAX_SAFE_INTEGER);
    for (const event of events.reverse()) await to.appendAudit(event); // oldest first
    result.auditEvents = events.length;
  }
  return result;
}

/**
 * The store has no "insert any token" method on purpose (tokens enter only by creation or rotation), so the
 * family is rebuilt by replaying its chain: create it with the first token unused, then rotate each token
 * into the next at its original use time. Used tokens stay used, so reuse detection survives the move.
 */
async function copyFamilyTokens(
  to: Store,
  family: Parameters<Store['createFamily']>[0],
  tokens: RefreshTokenRecord[],
  attempt: (write: () => Promise<unknown>) => Promise<boolean>,
): Promise<number> {
  const [first, ...rest] = tokens;
  if (!first) return 0; // a family without tokens can never be used again
  const firstRecord = rest.length > 0 ? { ...first, usedAt: null } : first;
  if (!(await attempt(() => to.createFamily(family, firstRecord)))) return 0;
  let copied = 1;
  let previous = first;
  for (const [i, token] of rest.entries()) {
    const { familyId: _family, ...record } = token;
    // Inserted unused, then marked used by the next rotation; only the last keeps its own usedAt.
    const next = i < rest.length - 1 ? { ...record, usedAt: null } : record;
    const usedAt = previous.usedAt ?? token.createdAt;
    const rotated = await to.rotateRefreshToken(previous.hash, next, usedAt);
    if (rotated.status !== 'rotated') break;
    copied++;
    previous = token;
  }
  return copied;
}
