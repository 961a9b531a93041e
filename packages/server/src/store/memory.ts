import {
  StoreConflictError,
  type AuditEvent,
  type ClientRecord,
  type KeyRecord,
  type OpaqueTokenRecord,
  type RefreshFamilyRecord,
  type RefreshTokenRecord,
  type RevocationRecord,
  type RotateResult,
  type Store,
} from './types.js';

/**
 * An in-memory {@link Store} for unit tests. Every method runs to completion before the next one starts
 * (one thread, no `await` inside), so each "use once" step is atomic by construction, like the single SQL
 * statements of the real stores. Records are copied on the way in and out so a caller mutating an object it
 * passed or received cannot change stored state behind the store's back (the real stores serialise too).
 *
 * @example
 * const store = createMemoryStore();
 * await store.createClient(client);
 */
export function createMemoryStore(): Store {
  const keys = new Map<string, KeyRecord>();
  const clients = new Map<string, ClientRecord>();
  const families = new Map<string, RefreshFamilyRecord>();
  const tokens = new Map<string, RefreshTokenRecord>();
  const revocations = new Map<string, RevocationRecord>(); // by `${kind}\0${value}`
  const opaque = new Map<string, OpaqueTokenRecord>();
  const usedIds = new Map<string, number>(); // `${namespace}\0${id}` -> expiresAt
  const audit: AuditEvent[] = [];
  const leases = new Map<string, { holder: string; expiresAt: number }>();
  let revocationSeq = 0;
  let closed = false;

  const copy = <T>(value: T): T => structuredClone(value);
  // The SQL stores read every lifecycle field back with its default: so does this one.
  const clientDefaults = (c: ClientRecord): ClientRecord => ({
    ...copy(c),
    introspectAudiences: copy(c.introspectAudiences ?? []),
    redirectUris: copy(c.redirectUris ?? []),
    previousSecretHash: c.previousSecretHash ?? null,
    previousSecretExpiresAt: c.previousSecretExpiresAt ?? null,
    updatedAt: c.updatedAt ?? null,
  });
  const byCreated = <T extends { createdAt: number }>(a: T, b: T, ka: string, kb: string): number =>
    a.createdAt - b.createdAt || (ka < kb ? -1 : ka > kb ? 1 : 0);
  const familyIsDead = (f: RefreshFamilyRecord, now: number): boolean =>
    f.revokedAt !== null || f.absoluteExpiresAt <= now;

  return {
    kind: 'memory',

    async ping() {
      if (closed) throw new Error('memory store is closed');
    },
    async close() {
      closed = true;
    },

    // Keys
    async listKeys() {
      return [...keys.values()].sort((a, b) => byCreated(a, b, a.kid, b.kid)).map(copy);
    },
    async getKey(kid) {
      const key = keys.get(kid);
      return key && copy(key);
    },
    async insertKey(key) {
      if (keys.has(key.kid)) throw new StoreConflictError(`key ${key.kid} already exists`);
      keys.set(key.kid, copy(key));
    },
    async transitionKey(kid, from, changes) {
      const key = keys.get(kid);
      if (!key || key.state !== from) return false;
      // Like the SQL stores: `kid` never changes and an undefined member means "leave as is".
      for (const [field, value] of Object.entries(changes)) {
        if (field !== 'kid' && value !== undefined) Object.assign(key, { [field]: copy(value) });
      }
      return true;
    },
    async deleteKey(kid) {
      keys.delete(kid);
    },

    // Clients
    async createClient(client) {
      if (clients.has(client.id)) throw new StoreConflictError(`client ${client.id} already exists`);
      clients.set(client.id, clientDefaults(client));
    },
    async getClient(id) {
      const client = clients.get(id);
      return client && copy(client);
    },
    async listClients() {
      return [...clients.values()].sort((a, b) => byCreated(a, b, a.id, b.id)).map(copy);
    },
    async updateClient(client) {
      const stored = clients.get(client.id);
      if (!stored) return false;
      clients.set(client.id, { ...clientDefaults(client), createdAt: stored.createdAt });
      return true;
    },
    async deleteClient(id) {
      return clients.delete(id);
    },
    async revokeClientTokens(clientId, now) {
      let opaqueTokens = 0;
      for (const [hash, token] of opaque) {
        if (token.clientId === clientId) {
          opaque.delete(hash);
          opaqueTokens++;
        }
      }
      let refreshFamilies = 0;
      for (const family of families.values()) {
        if (family.clientId === clientId && !familyIsDead(family, now)) {
          family.revokedAt = now;
          family.revokedReason = 'client_deleted';
          refreshFamilies++;
        }
      }
      return { opaqueTokens, refreshFamilies };
    },

    // Refresh families
    async createFamily(family, first) {
      if (families.has(family.id)) throw new StoreConflictError(`refresh family ${family.id} already exists`);
      if (tokens.has(first.hash)) throw new StoreConflictError('refresh token hash already exists');
      families.set(family.id, copy(family));
      tokens.set(first.hash, { ...copy(first), familyId: family.id });
    },
    async getFamily(id) {
      const family = families.get(id);
      return family && copy(family);
    },
    async getRefreshToken(hash) {
      const token = tokens.get(hash);
      return token && copy(token);
    },
    async rotateRefreshToken(oldHash, next, now): Promise<RotateResult> {
      const previous = tokens.get(oldHash);
      const family = previous && families.get(previous.familyId);
      if (!previous || !family) return { status: 'unknown' };
      if (previous.usedAt !== null)
        return { status: 'reused', family: copy(family), previous: copy(previous) };
      if (tokens.has(next.hash)) throw new StoreConflictError('refresh token hash already exists');
      previous.usedAt = now;
      tokens.set(next.hash, { ...copy(next), familyId: family.id });
      return { status: 'rotated', family: copy(family), previous: copy(previous) };
    },
    async revokeFamily(id, reason, now) {
      const family = families.get(id);
      if (!family || family.revokedAt !== null) return false;
      family.revokedAt = now;
      family.revokedReason = reason;
      return family.absoluteExpiresAt > now;
    },
    async listLiveFamilies(now) {
      return [...families.values()]
        .filter((f) => !familyIsDead(f, now))
        .sort((a, b) => byCreated(a, b, a.id, b.id))
        .map(copy);
    },
    async listFamilyTokens(familyId) {
      return [...tokens.values()]
        .filter((t) => t.familyId === familyId)
        .sort((a, b) => byCreated(a, b, a.hash, b.hash))
        .map(copy);
    },
    async purgeRefresh(now) {
      let removed = 0;
      for (const [hash, token] of tokens) {
        const family = families.get(token.familyId);
        if (token.expiresAt <= now || !family || familyIsDead(family, now)) {
          tokens.delete(hash);
          removed++;
        }
      }
      for (const [id, family] of families) {
        if (familyIsDead(family, now)) {
          families.delete(id);
          removed++;
        }
      }
      return removed;
    },

    // Revocations
    async addRevocation(entry) {
      const key = `${entry.kind}\0${entry.value}`;
      const existing = revocations.get(key);
      // An entry that no longer matters is replaced (as if purged), so the answer does not depend on
      // whether a purge happened to run in between.
      const live = existing !== undefined && existing.expiresAt > entry.revokedAt;
      // A later client-wide revocation covers more tokens: it replaces the live one under a new seq.
      if (live && !(entry.kind === 'client' && entry.revokedAt > existing.revokedAt)) return copy(existing);
      if (existing) revocations.delete(key);
      const expiresAt = live ? Math.max(existing.expiresAt, entry.expiresAt) : entry.expiresAt;
      const record: RevocationRecord = { ...copy(entry), expiresAt, seq: ++revocationSeq };
      revocations.set(key, record);
      return copy(record);
    },
    async listRevocations(since, limit, now) {
      return [...revocations.values()]
        .filter((r) => r.seq > since && r.expiresAt > now)
        .sort((a, b) => a.seq - b.seq)
        .slice(0, Math.max(0, limit))
        .map(copy);
    },
    async isRevoked(kind, value, now) {
      const entry = revocations.get(`${kind}\0${value}`);
      return entry !== undefined && entry.expiresAt > now;
    },
    async getRevocation(kind, value, now) {
      const entry = revocations.get(`${kind}\0${value}`);
      return entry !== undefined && entry.expiresAt > now ? copy(entry) : undefined;
    },
    async latestRevocationSeq() {
      return revocationSeq;
    },
    async purgeRevocations(now) {
      let removed = 0;
      for (const [key, entry] of revocations) {
        if (entry.expiresAt <= now) {
          revocations.delete(key);
          removed++;
        }
      }
      return removed;
    },

    // Opaque access tokens
    async insertOpaqueToken(token) {
      if (opaque.has(token.hash)) throw new StoreConflictError('opaque token hash already exists');
      opaque.set(token.hash, copy(token));
    },
    async getOpaqueToken(hash) {
      const token = opaque.get(hash);
      return token && copy(token);
    },
    async listOpaqueTokens(now) {
      return [...opaque.values()]
        .filter((t) => t.expiresAt > now)
        .sort((a, b) => a.issuedAt - b.issuedAt || (a.hash < b.hash ? -1 : 1))
        .map(copy);
    },
    async deleteOpaqueToken(hash) {
      return opaque.delete(hash);
    },
    async purgeOpaqueTokens(now) {
      let removed = 0;
      for (const [hash, token] of opaque) {
        if (token.expiresAt <= now) {
          opaque.delete(hash);
          removed++;
        }
      }
      return removed;
    },

    // Single-use ids
    async consumeOnce(namespace, id, expiresAt, now) {
      const key = `${namespace}\0${id}`;
      const seenUntil = usedIds.get(key);
      if (seenUntil !== undefined && seenUntil > now) return false;
      usedIds.set(key, expiresAt);
      return true;
    },
    async purgeUsedIds(now) {
      let removed = 0;
      for (const [key, expiresAt] of usedIds) {
        if (expiresAt <= now) {
          usedIds.delete(key);
          removed++;
        }
      }
      return removed;
    },

    // Audit
    async appendAudit(event) {
      audit.push(copy(event));
    },
    async listAudit(limit) {
      // Newest first: by time, then by insertion order for events in the same millisecond.
      return audit
        .map((event, index) => ({ event, index }))
        .sort((a, b) => b.event.at - a.event.at || b.index - a.index)
        .slice(0, Math.max(0, limit))
        .map(({ event }) => copy(event));
    },

    // Leases
    async tryAcquireLease(name, holder, ttlMs, now) {
      const lease = leases.get(name);
      if (lease && lease.holder !== holder && lease.expiresAt > now) return false;
      leases.set(name, { holder, expiresAt: now + ttlMs });
      return true;
    },
    async releaseLease(name, holder) {
      if (leases.get(name)?.holder === holder) leases.delete(name);
    },
  };
}
