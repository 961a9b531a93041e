import {
  LOCAL_IDP,
  StoreConflictError,
  type AuditEvent,
  type AuthCodeRecord,
  type ClientRecord,
  type ConsentRecord,
  type IdentityLinkRecord,
  type IdentityProviderRecord,
  type PasskeyRecord,
  type PendingRecord,
  type SessionRecord,
  type UserRecord,
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
  const users = new Map<string, UserRecord>();
  const sessions = new Map<string, SessionRecord>();
  const codes = new Map<string, AuthCodeRecord>();
  const consents = new Map<string, ConsentRecord>(); // `${userId}\0${clientId}`
  const pending = new Map<string, PendingRecord>(); // `${kind}\0${hash}`
  const providers = new Map<string, IdentityProviderRecord>();
  const links = new Map<string, IdentityLinkRecord>(); // `${providerId}\0${subject}`
  const passkeys = new Map<string, PasskeyRecord>();
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
    postLogoutRedirectUris: copy(c.postLogoutRedirectUris ?? []),
    firstParty: c.firstParty ?? false,
    requirePar: c.requirePar ?? false,
    dpopBoundAccessTokens: c.dpopBoundAccessTokens ?? false,
    exchangeAudiences: copy(c.exchangeAudiences ?? []),
    exchangeTrustIssuers: copy(c.exchangeTrustIssuers ?? []),
  });
  const familyDefaults = (f: RefreshFamilyRecord): RefreshFamilyRecord => ({
    ...copy(f),
    userId: f.userId ?? null,
    sessionId: f.sessionId ?? null,
    dpopJkt: f.dpopJkt ?? null,
  });
  const emailTaken = (email: string, exceptId?: string): boolean => {
    const wanted = email.toLowerCase();
    for (const user of users.values())
      if (user.id !== exceptId && user.email.toLowerCase() === wanted) return true;
    return false;
  };
  const sessionLive = (s: SessionRecord, now: number): boolean =>
    s.idleExpiresAt > now && s.absoluteExpiresAt > now;
  /** Codes stay a day past expiry so that a late replay still finds what to revoke. */
  const CODE_KEEP_MS = 24 * 3600 * 1000;
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
      families.set(family.id, familyDefaults(family));
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
    async revokeFamilies(where, reason, now) {
      const revoked: string[] = [];
      for (const family of families.values()) {
        const match =
          'sessionId' in where ? family.sessionId === where.sessionId : family.userId === where.userId;
        if (match && !familyIsDead(family, now)) {
          family.revokedAt = now;
          family.revokedReason = reason;
          revoked.push(family.id);
        }
      }
      return revoked;
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
      if (
        live &&
        !((entry.kind === 'client' || entry.kind === 'sub') && entry.revokedAt > existing.revokedAt)
      )
        return copy(existing);
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

    // Users
    async createUser(user) {
      if (users.has(user.id)) throw new StoreConflictError(`user ${user.id} already exists`);
      if (emailTaken(user.email)) throw new StoreConflictError('a user with that email already exists');
      users.set(user.id, copy(user));
    },
    async getUser(id) {
      const user = users.get(id);
      return user && copy(user);
    },
    async getUserByEmail(email) {
      const wanted = email.toLowerCase();
      for (const user of users.values()) if (user.email.toLowerCase() === wanted) return copy(user);
      return undefined;
    },
    async listUsers() {
      return [...users.values()].sort((a, b) => byCreated(a, b, a.id, b.id)).map(copy);
    },
    async updateUser(user) {
      const stored = users.get(user.id);
      if (!stored) return false;
      if (emailTaken(user.email, user.id))
        throw new StoreConflictError('a user with that email already exists');
      users.set(user.id, { ...copy(user), createdAt: stored.createdAt });
      return true;
    },
    async deleteUser(id) {
      if (!users.delete(id)) return false;
      for (const [sid, session] of sessions) if (session.userId === id) sessions.delete(sid);
      for (const [key, consent] of consents) if (consent.userId === id) consents.delete(key);
      for (const [key, link] of links) if (link.userId === id) links.delete(key);
      for (const [key, passkey] of passkeys) if (passkey.userId === id) passkeys.delete(key);
      return true;
    },

    // Sessions
    async createSession(session) {
      if (sessions.has(session.id)) throw new StoreConflictError('session id already exists');
      for (const s of sessions.values())
        if (s.secretHash === session.secretHash)
          throw new StoreConflictError('session secret already exists');
      sessions.set(session.id, { ...copy(session), idp: session.idp ?? LOCAL_IDP });
    },
    async getSessionBySecret(secretHash, now) {
      for (const s of sessions.values())
        if (s.secretHash === secretHash) return sessionLive(s, now) ? copy(s) : undefined;
      return undefined;
    },
    async getSession(id) {
      const session = sessions.get(id);
      return session && copy(session);
    },
    async touchSession(id, idleExpiresAt) {
      const session = sessions.get(id);
      if (!session) return false;
      session.idleExpiresAt = Math.min(idleExpiresAt, session.absoluteExpiresAt);
      return true;
    },
    async deleteSession(id) {
      return sessions.delete(id);
    },
    async deleteUserSessions(userId) {
      const ids: string[] = [];
      for (const [id, s] of sessions) {
        if (s.userId === userId) {
          sessions.delete(id);
          ids.push(id);
        }
      }
      return ids;
    },
    async purgeSessions(now) {
      let removed = 0;
      for (const [id, s] of sessions) {
        if (!sessionLive(s, now)) {
          sessions.delete(id);
          removed++;
        }
      }
      return removed;
    },

    // Authorization codes
    async insertAuthCode(code) {
      if (codes.has(code.hash)) throw new StoreConflictError('authorization code already exists');
      codes.set(code.hash, { ...copy(code), dpopJkt: code.dpopJkt ?? null, idp: code.idp ?? LOCAL_IDP });
    },
    async redeemAuthCode(hash, now) {
      const code = codes.get(hash);
      if (!code) return { status: 'unknown' };
      if (code.usedAt !== null) return { status: 'reused', code: copy(code) };
      code.usedAt = now;
      return { status: 'redeemed', code: copy(code) };
    },
    async recordCodeTokens(hash, issued) {
      const code = codes.get(hash);
      if (code) Object.assign(code, issued);
    },
    async purgeAuthCodes(now) {
      let removed = 0;
      for (const [hash, code] of codes) {
        if (code.expiresAt + CODE_KEEP_MS <= now) {
          codes.delete(hash);
          removed++;
        }
      }
      return removed;
    },

    // Consents
    async getConsent(userId, clientId) {
      const consent = consents.get(`${userId}\0${clientId}`);
      return consent && copy(consent);
    },
    async grantConsent(userId, clientId, scope, now) {
      const key = `${userId}\0${clientId}`;
      const existing = consents.get(key);
      const record: ConsentRecord = existing
        ? { ...existing, scope: [...new Set([...existing.scope, ...scope])], updatedAt: now }
        : { userId, clientId, scope: [...new Set(scope)], createdAt: now, updatedAt: now };
      consents.set(key, record);
      return copy(record);
    },
    async revokeConsent(userId, clientId) {
      return consents.delete(`${userId}\0${clientId}`);
    },

    // Pending requests
    async insertPending(record) {
      const key = `${record.kind}\0${record.hash}`;
      if (pending.has(key)) throw new StoreConflictError('pending record already exists');
      pending.set(key, copy(record));
    },
    async getPending(kind, hash, now) {
      const record = pending.get(`${kind}\0${hash}`);
      return record !== undefined && record.expiresAt > now ? copy(record) : undefined;
    },
    async takePending(kind, hash, now) {
      const key = `${kind}\0${hash}`;
      const record = pending.get(key);
      if (record === undefined) return undefined;
      pending.delete(key);
      return record.expiresAt > now ? copy(record) : undefined;
    },
    async deletePending(kind, hash) {
      return pending.delete(`${kind}\0${hash}`);
    },
    async purgePending(now) {
      let removed = 0;
      for (const [key, record] of pending) {
        if (record.expiresAt <= now) {
          pending.delete(key);
          removed++;
        }
      }
      return removed;
    },

    // Identity providers and links (federation)
    async createIdentityProvider(provider) {
      if (providers.has(provider.id)) throw new StoreConflictError('identity provider already exists');
      providers.set(provider.id, copy(provider));
    },
    async getIdentityProvider(id) {
      const provider = providers.get(id);
      return provider && copy(provider);
    },
    async listIdentityProviders() {
      return [...providers.values()].sort((a, b) => byCreated(a, b, a.id, b.id)).map(copy);
    },
    async deleteIdentityProvider(id) {
      if (!providers.delete(id)) return false;
      for (const [key, link] of links) if (link.providerId === id) links.delete(key);
      return true;
    },
    async createIdentityLink(link) {
      const key = `${link.providerId}\0${link.subject}`;
      if (links.has(key)) throw new StoreConflictError('identity already linked');
      links.set(key, copy(link));
    },
    async getIdentityLink(providerId, subject) {
      const link = links.get(`${providerId}\0${subject}`);
      return link && copy(link);
    },
    async listIdentityLinks(userId) {
      return [...links.values()]
        .filter((l) => userId === undefined || l.userId === userId)
        .sort(
          (a, b) =>
            a.createdAt - b.createdAt || (a.providerId + a.subject < b.providerId + b.subject ? -1 : 1),
        )
        .map(copy);
    },
    // Passkeys
    async createPasskey(passkey) {
      if (passkeys.has(passkey.id)) throw new StoreConflictError('passkey already registered');
      passkeys.set(passkey.id, copy(passkey));
    },
    async getPasskey(id) {
      const passkey = passkeys.get(id);
      return passkey === undefined ? undefined : copy(passkey);
    },
    async listUserPasskeys(userId) {
      return [...passkeys.values()]
        .filter((p) => p.userId === userId)
        .sort((a, b) => byCreated(a, b, a.id, b.id))
        .map(copy);
    },
    async usePasskey(id, counter, backedUp, now) {
      // Check and write with no await between them: the same single step as the SQL stores' UPDATE … WHERE.
      const passkey = passkeys.get(id);
      if (passkey === undefined) return false;
      if (!(passkey.counter < counter || (passkey.counter === 0 && counter === 0))) return false;
      passkeys.set(id, { ...passkey, counter, backedUp, lastUsedAt: now });
      return true;
    },
    async deletePasskey(userId, id) {
      if (passkeys.get(id)?.userId !== userId) return false;
      return passkeys.delete(id);
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
