import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { migrateSQLite } from './sqlite-schema.js';
import {
  AUTH_CODE_KEEP_MS,
  CLIENT_UPDATE_COLUMNS,
  KEY_COLUMNS,
  USER_UPDATE_COLUMNS,
  auditFromRow,
  authCodeFromRow,
  authCodeToRow,
  clientFromRow,
  clientToRow,
  consentFromRow,
  emailKey,
  familyFromRow,
  familyToRow,
  identityLinkFromRow,
  identityLinkToRow,
  identityProviderFromRow,
  identityProviderToRow,
  insertSQL,
  keyFromRow,
  keyToRow,
  opaqueFromRow,
  opaqueToRow,
  passkeyFromRow,
  passkeyToRow,
  pendingFromRow,
  pendingToRow,
  refreshTokenFromRow,
  refreshTokenToRow,
  revocationFromRow,
  sessionFromRow,
  sessionToRow,
  unionScope,
  userFromRow,
  userToRow,
} from './rows.js';
import {
  StoreConflictError,
  StoreUnavailableError,
  type KeyRecord,
  type RedeemCodeResult,
  type RevocationRecord,
  type RotateResult,
  type Store,
} from './types.js';
import type { SignInListing } from './listing.js';

export interface SQLiteStoreOptions {
  /** Database file; created (mode 0600) when missing. */
  path: string;
  /** How long a writer waits for another process's write lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Called with the names of the migration steps this call applied (empty when the schema was current). */
  onMigrationsApplied?: (names: string[]) => void;
}

type Row = Record<string, unknown>;

/**
 * Opens (and migrates) the SQLite store. The CLI and a running server may open the same file at the same
 * time: WAL lets readers proceed during a write, `busy_timeout` makes a writer wait for the other process's
 * lock instead of failing at once, and every multi-statement write is one `BEGIN IMMEDIATE` transaction.
 *
 * @example
 * const store = await openSQLiteStore({ path: '.tessera/tessera.db' });
 */
export async function openSQLiteStore(options: SQLiteStoreOptions): Promise<Store & SignInListing> {
  const created = !existsSync(options.path);
  const db = new Database(options.path);
  try {
    // The file holds encrypted private keys and secret hashes: owner only. WAL and SHM files copy this mode.
    if (created) chmodSync(options.path, 0o600);
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    const applied = migrateSQLite(db);
    options.onMigrationsApplied?.(applied);
    return createSQLiteStore(db);
  } catch (err) {
    db.close();
    throw mapError(err);
  }
}

/** SQLite error codes → the store's errors: a collision is a conflict, a lock held too long is "unavailable". */
function mapError(err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return new StoreConflictError('record already exists', { cause: err });
  }
  if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
    return new StoreUnavailableError('SQLite database is locked by another process', { cause: err });
  }
  return err;
}

function createSQLiteStore(db: Database.Database): Store & SignInListing {
  const q = (sql: string): Statement => db.prepare(sql);
  // Prepared once; the dynamic ones (inserts by table, key transitions by changed columns) are cached below.
  const s = {
    ping: q('SELECT 1'),
    listKeys: q('SELECT * FROM keys ORDER BY created_at, kid'),
    getKey: q('SELECT * FROM keys WHERE kid = ?'),
    deleteKey: q('DELETE FROM keys WHERE kid = ?'),
    getClient: q('SELECT * FROM clients WHERE id = ?'),
    listClients: q('SELECT * FROM clients ORDER BY created_at, id'),
    deleteClient: q('DELETE FROM clients WHERE id = ?'),
    updateClient: q(
      `UPDATE clients SET ${CLIENT_UPDATE_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`,
    ),
    deleteClientOpaque: q('DELETE FROM opaque_tokens WHERE client_id = ?'),
    revokeClientFamilies: q(
      `UPDATE refresh_families SET revoked_at = @now, revoked_reason = 'client_deleted'
       WHERE client_id = @clientId AND revoked_at IS NULL AND absolute_expires_at > @now`,
    ),
    getFamily: q('SELECT * FROM refresh_families WHERE id = ?'),
    getToken: q('SELECT * FROM refresh_tokens WHERE hash = ?'),
    markUsed: q('UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL'),
    revokeFamily: q(
      'UPDATE refresh_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL RETURNING absolute_expires_at',
    ),
    liveFamilies: q(
      'SELECT * FROM refresh_families WHERE revoked_at IS NULL AND absolute_expires_at > ? ORDER BY created_at, id',
    ),
    familyTokens: q('SELECT * FROM refresh_tokens WHERE family_id = ? ORDER BY created_at, hash'),
    purgeTokens: q(
      `DELETE FROM refresh_tokens WHERE expires_at <= @now OR family_id IN
         (SELECT id FROM refresh_families WHERE revoked_at IS NOT NULL OR absolute_expires_at <= @now)`,
    ),
    purgeFamilies: q('DELETE FROM refresh_families WHERE revoked_at IS NOT NULL OR absolute_expires_at <= ?'),
    dropExpiredRevocation: q('DELETE FROM revocations WHERE kind = ? AND value = ? AND expires_at <= ?'),
    getRevocation: q('SELECT * FROM revocations WHERE kind = ? AND value = ?'),
    getLiveRevocation: q('SELECT * FROM revocations WHERE kind = ? AND value = ? AND expires_at > ?'),
    deleteRevocation: q('DELETE FROM revocations WHERE seq = ?'),
    insertRevocation: q(
      'INSERT INTO revocations (kind, value, expires_at, revoked_at) VALUES (?, ?, ?, ?) RETURNING *',
    ),
    listRevocations: q('SELECT * FROM revocations WHERE seq > ? AND expires_at > ? ORDER BY seq LIMIT ?'),
    isRevoked: q('SELECT 1 FROM revocations WHERE kind = ? AND value = ? AND expires_at > ?'),
    // sqlite_sequence keeps the highest seq ever assigned, even after those rows were purged.
    latestSeq: q("SELECT seq FROM sqlite_sequence WHERE name = 'revocations'"),
    purgeRevocations: q('DELETE FROM revocations WHERE expires_at <= ?'),
    getOpaque: q('SELECT * FROM opaque_tokens WHERE hash = ?'),
    listOpaque: q('SELECT * FROM opaque_tokens WHERE expires_at > ? ORDER BY issued_at, hash'),
    deleteOpaque: q('DELETE FROM opaque_tokens WHERE hash = ?'),
    purgeOpaque: q('DELETE FROM opaque_tokens WHERE expires_at <= ?'),
    // One statement: two racing callers cannot both see "not used" (the row lock decides); an expired id
    // may be taken again, which keeps the table bounded without a purge racing the check.
    consumeOnce: q(
      `INSERT INTO used_ids (namespace, id, expires_at) VALUES (@namespace, @id, @expiresAt)
       ON CONFLICT (namespace, id) DO UPDATE SET expires_at = excluded.expires_at WHERE used_ids.expires_at <= @now`,
    ),
    purgeUsedIds: q('DELETE FROM used_ids WHERE expires_at <= ?'),
    appendAudit: q('INSERT INTO audit_events (at, type, data) VALUES (?, ?, ?)'),
    listAudit: q('SELECT at, type, data FROM audit_events ORDER BY at DESC, id DESC LIMIT ?'),
    // Take the lease if free, expired or ours, in one statement, so two instances never both hold it.
    acquireLease: q(
      `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expiresAt)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= @now`,
    ),
    releaseLease: q('DELETE FROM leases WHERE name = ? AND holder = ?'),
    // Revoke only live families and return their ids, in one statement (logout, user deleted).
    revokeSessionFamilies: q(
      `UPDATE refresh_families SET revoked_at = @now, revoked_reason = @reason
       WHERE session_id = @key AND revoked_at IS NULL AND absolute_expires_at > @now RETURNING id`,
    ),
    revokeUserFamilies: q(
      `UPDATE refresh_families SET revoked_at = @now, revoked_reason = @reason
       WHERE user_id = @key AND revoked_at IS NULL AND absolute_expires_at > @now RETURNING id`,
    ),
    getUser: q('SELECT * FROM users WHERE id = ?'),
    getUserByEmail: q('SELECT * FROM users WHERE email_key = ?'),
    listUsers: q('SELECT * FROM users ORDER BY created_at, id'),
    updateUser: q(
      `UPDATE users SET ${USER_UPDATE_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`,
    ),
    deleteUser: q('DELETE FROM users WHERE id = ?'),
    deleteUserConsents: q('DELETE FROM consents WHERE user_id = ?'),
    deleteUserLinks: q('DELETE FROM identity_links WHERE user_id = ?'),
    getProvider: q('SELECT * FROM identity_providers WHERE id = ?'),
    listProviders: q('SELECT * FROM identity_providers ORDER BY created_at, id'),
    deleteProvider: q('DELETE FROM identity_providers WHERE id = ?'),
    deleteProviderLinks: q('DELETE FROM identity_links WHERE provider_id = ?'),
    getLink: q('SELECT * FROM identity_links WHERE provider_id = ? AND subject = ?'),
    listLinks: q('SELECT * FROM identity_links ORDER BY created_at, provider_id, subject'),
    listUserLinks: q(
      'SELECT * FROM identity_links WHERE user_id = ? ORDER BY created_at, provider_id, subject',
    ),
    deleteUserSessions: q('DELETE FROM sessions WHERE user_id = ? RETURNING id'),
    getSessionBySecret: q(
      'SELECT * FROM sessions WHERE secret_hash = @secretHash AND idle_expires_at > @now AND absolute_expires_at > @now',
    ),
    getSession: q('SELECT * FROM sessions WHERE id = ?'),
    // Capped in the statement: a stolen cookie kept in use still dies at the absolute expiry (OWASP ASVS 3.3).
    touchSession: q('UPDATE sessions SET idle_expires_at = MIN(?, absolute_expires_at) WHERE id = ?'),
    deleteSession: q('DELETE FROM sessions WHERE id = ?'),
    purgeSessions: q('DELETE FROM sessions WHERE idle_expires_at <= @now OR absolute_expires_at <= @now'),
    listLiveSessions: q(
      'SELECT * FROM sessions WHERE idle_expires_at > @now AND absolute_expires_at > @now ORDER BY created_at, id',
    ),
    // The use-once step of RFC 6749 §4.1.2: only one caller sees used_at IS NULL.
    redeemCode: q('UPDATE auth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL RETURNING *'),
    getCode: q('SELECT * FROM auth_codes WHERE hash = ?'),
    recordCodeTokens: q(
      `UPDATE auth_codes SET access_token_jti = @accessTokenJti, access_token_expires_at = @accessTokenExpiresAt,
       refresh_family_id = @refreshFamilyId WHERE hash = @hash`,
    ),
    purgeCodes: q('DELETE FROM auth_codes WHERE expires_at <= ?'),
    getConsent: q('SELECT * FROM consents WHERE user_id = ? AND client_id = ?'),
    upsertConsent: q(
      `INSERT INTO consents (user_id, client_id, scope, created_at, updated_at) VALUES (@userId, @clientId, @scope, @now, @now)
       ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at
       RETURNING *`,
    ),
    revokeConsent: q('DELETE FROM consents WHERE user_id = ? AND client_id = ?'),
    listConsents: q('SELECT * FROM consents ORDER BY created_at, user_id, client_id'),
    getPending: q('SELECT * FROM pending WHERE kind = ? AND hash = ? AND expires_at > ?'),
    // Read and delete in one statement: of two racing takes only one gets the row (single use).
    takePending: q('DELETE FROM pending WHERE kind = ? AND hash = ? RETURNING *'),
    deletePending: q('DELETE FROM pending WHERE kind = ? AND hash = ?'),
    purgePending: q('DELETE FROM pending WHERE expires_at <= ?'),
    getPasskey: q('SELECT * FROM passkeys WHERE id = ?'),
    listUserPasskeys: q('SELECT * FROM passkeys WHERE user_id = ? ORDER BY created_at, id'),
    // WebAuthn §6.1.1: one conditional statement, so two assertions with the same counter cannot both pass.
    usePasskey: q(
      `UPDATE passkeys SET counter = @counter, backed_up = @backedUp, last_used_at = @now
       WHERE id = @id AND (counter < @counter OR (counter = 0 AND @counter = 0))`,
    ),
    deletePasskey: q('DELETE FROM passkeys WHERE id = ? AND user_id = ?'),
    deleteUserPasskeys: q('DELETE FROM passkeys WHERE user_id = ?'),
  };

  const inserts = new Map<string, Statement>();
  const insert = (table: string, row: Row): void => {
    let stmt = inserts.get(table);
    if (!stmt) {
      stmt = q(insertSQL(table, row, (_i, column) => `@${column}`));
      inserts.set(table, stmt);
    }
    stmt.run(row);
  };

  const transitions = new Map<string, Statement>();
  const transitionStatement = (columns: string[]): Statement => {
    const cacheKey = columns.join(',');
    let stmt = transitions.get(cacheKey);
    if (!stmt) {
      const set = columns.length ? columns.map((c) => `${c} = @${c}`).join(', ') : 'state = state';
      stmt = q(`UPDATE keys SET ${set} WHERE kid = @kid AND state = @from`);
      transitions.set(cacheKey, stmt);
    }
    return stmt;
  };

  // IMMEDIATE takes the write lock before the first read: a deferred transaction that read first and then
  // tried to write could fail with SQLITE_BUSY_SNAPSHOT without waiting when another process wrote meanwhile.
  const rotate = db.transaction(
    (oldHash: string, next: Parameters<Store['rotateRefreshToken']>[1], now: number): RotateResult => {
      // Mark-used first and check `changes`: of N racing rotations only one sees used_at IS NULL.
      const won = s.markUsed.run(now, oldHash).changes === 1;
      const previous = s.getToken.get(oldHash) as Row | undefined;
      const family = previous && (s.getFamily.get(previous.family_id) as Row | undefined);
      if (!previous || !family) return { status: 'unknown' };
      if (!won)
        return { status: 'reused', family: familyFromRow(family), previous: refreshTokenFromRow(previous) };
      insert('refresh_tokens', refreshTokenToRow({ ...next, familyId: String(previous.family_id) }));
      return { status: 'rotated', family: familyFromRow(family), previous: refreshTokenFromRow(previous) };
    },
  );

  const addRevocation = db.transaction((entry: Omit<RevocationRecord, 'seq'>): RevocationRecord => {
    // An entry that no longer matters is replaced, as if a purge had run: the answer must not depend on
    // purge timing. A live one is returned as is, so a retried revoke does not grow the feed.
    s.dropExpiredRevocation.run(entry.kind, entry.value, entry.revokedAt);
    const existing = s.getRevocation.get(entry.kind, entry.value) as Row | undefined;
    let expiresAt = entry.expiresAt;
    if (existing) {
      // A later client-wide revocation covers more tokens: it replaces the live one under a new seq.
      const covers =
        (entry.kind === 'client' || entry.kind === 'sub') && entry.revokedAt > Number(existing.revoked_at);
      if (!covers) return revocationFromRow(existing);
      expiresAt = Math.max(expiresAt, Number(existing.expires_at));
      s.deleteRevocation.run(existing.seq);
    }
    const row = s.insertRevocation.get(entry.kind, entry.value, expiresAt, entry.revokedAt) as Row;
    return revocationFromRow(row);
  });

  const revokeClientTokens = db.transaction((clientId: string, now: number) => ({
    opaqueTokens: s.deleteClientOpaque.run(clientId).changes,
    refreshFamilies: s.revokeClientFamilies.run({ clientId, now }).changes,
  }));

  const createFamily = db.transaction(
    (family: Parameters<Store['createFamily']>[0], first: Parameters<Store['createFamily']>[1]) => {
      insert('refresh_families', familyToRow(family));
      insert('refresh_tokens', refreshTokenToRow({ ...first, familyId: family.id }));
    },
  );

  const purgeRefresh = db.transaction((now: number): number => {
    // Tokens of dead families are deleted explicitly (not by cascade) so they are counted.
    const tokens = s.purgeTokens.run({ now }).changes;
    return tokens + s.purgeFamilies.run(now).changes;
  });

  const deleteUser = db.transaction((id: string): boolean => {
    if (s.deleteUser.run(id).changes !== 1) return false;
    s.deleteUserSessions.run(id);
    s.deleteUserConsents.run(id);
    s.deleteUserLinks.run(id);
    s.deleteUserPasskeys.run(id);
    return true;
  });

  const deleteProvider = db.transaction((id: string): boolean => {
    if (s.deleteProvider.run(id).changes !== 1) return false;
    s.deleteProviderLinks.run(id);
    return true;
  });

  const redeemCode = (hash: string, now: number): RedeemCodeResult => {
    const won = s.redeemCode.get(now, hash) as Row | undefined;
    if (won) return { status: 'redeemed', code: authCodeFromRow(won) };
    const seen = s.getCode.get(hash) as Row | undefined;
    return seen ? { status: 'reused', code: authCodeFromRow(seen) } : { status: 'unknown' };
  };

  // Read-modify-write under the write lock (IMMEDIATE): two grants at once both end up in the union.
  const grantConsent = db.transaction((userId: string, clientId: string, scope: string[], now: number) => {
    const existing = s.getConsent.get(userId, clientId) as Row | undefined;
    const merged = unionScope(existing ? consentFromRow(existing).scope : [], scope);
    return consentFromRow(
      s.upsertConsent.get({ userId, clientId, scope: JSON.stringify(merged), now }) as Row,
    );
  });

  // Every method is async for the networked stores; here the work is synchronous, so each call completes
  // before another starts in this process, and across processes the SQLite locks serialise writers.
  const run = async <T>(fn: () => T): Promise<T> => {
    try {
      return fn();
    } catch (err) {
      throw mapError(err);
    }
  };
  const limitOf = (limit: number): number => Math.max(0, Math.trunc(limit)); // a negative LIMIT means "all"

  return {
    kind: 'sqlite',
    ping: () => run(() => void s.ping.get()),
    close: () => run(() => void db.close()),

    listKeys: () => run(() => (s.listKeys.all() as Row[]).map(keyFromRow)),
    getKey: (kid) => run(() => optional(s.getKey.get(kid), keyFromRow)),
    insertKey: (key) => run(() => insert('keys', keyToRow(key))),
    transitionKey: (kid, from, changes) =>
      run(() => {
        const params: Row = { kid, from };
        for (const [field, value] of Object.entries(changes)) {
          const column = KEY_COLUMNS[field as Exclude<keyof KeyRecord, 'kid'>];
          if (column && value !== undefined) params[column] = value;
        }
        const columns = Object.keys(params).filter((c) => c !== 'kid' && c !== 'from');
        return transitionStatement(columns).run(params).changes === 1;
      }),
    deleteKey: (kid) => run(() => void s.deleteKey.run(kid)),

    createClient: (client) => run(() => insert('clients', clientToRow(client))),
    getClient: (id) => run(() => optional(s.getClient.get(id), clientFromRow)),
    listClients: () => run(() => (s.listClients.all() as Row[]).map(clientFromRow)),
    updateClient: (client) => run(() => s.updateClient.run(clientToRow(client)).changes === 1),
    deleteClient: (id) => run(() => s.deleteClient.run(id).changes === 1),
    revokeClientTokens: (clientId, now) => run(() => revokeClientTokens.immediate(clientId, now)),

    createFamily: (family, first) => run(() => createFamily.immediate(family, first)),
    getFamily: (id) => run(() => optional(s.getFamily.get(id), familyFromRow)),
    getRefreshToken: (hash) => run(() => optional(s.getToken.get(hash), refreshTokenFromRow)),
    rotateRefreshToken: (oldHash, next, now) => run(() => rotate.immediate(oldHash, next, now)),
    revokeFamily: (id, reason, now) =>
      run(() => {
        const row = s.revokeFamily.get(now, reason, id) as Row | undefined;
        return row !== undefined && Number(row.absolute_expires_at) > now;
      }),
    listLiveFamilies: (now) => run(() => (s.liveFamilies.all(now) as Row[]).map(familyFromRow)),
    listFamilyTokens: (familyId) =>
      run(() => (s.familyTokens.all(familyId) as Row[]).map(refreshTokenFromRow)),
    purgeRefresh: (now) => run(() => purgeRefresh.immediate(now)),

    addRevocation: (entry) => run(() => addRevocation.immediate(entry)),
    listRevocations: (since, limit, now) =>
      run(() => (s.listRevocations.all(since, now, limitOf(limit)) as Row[]).map(revocationFromRow)),
    getRevocation: (kind, value, now) =>
      run(() => optional(s.getLiveRevocation.get(kind, value, now), revocationFromRow)),
    isRevoked: (kind, value, now) => run(() => s.isRevoked.get(kind, value, now) !== undefined),
    latestRevocationSeq: () => run(() => Number((s.latestSeq.get() as Row | undefined)?.seq ?? 0)),
    purgeRevocations: (now) => run(() => s.purgeRevocations.run(now).changes),

    insertOpaqueToken: (token) => run(() => insert('opaque_tokens', opaqueToRow(token))),
    getOpaqueToken: (hash) => run(() => optional(s.getOpaque.get(hash), opaqueFromRow)),
    listOpaqueTokens: (now) => run(() => (s.listOpaque.all(now) as Row[]).map(opaqueFromRow)),
    deleteOpaqueToken: (hash) => run(() => s.deleteOpaque.run(hash).changes === 1),
    purgeOpaqueTokens: (now) => run(() => s.purgeOpaque.run(now).changes),

    consumeOnce: (namespace, id, expiresAt, now) =>
      run(() => s.consumeOnce.run({ namespace, id, expiresAt, now }).changes === 1),
    purgeUsedIds: (now) => run(() => s.purgeUsedIds.run(now).changes),

    appendAudit: (event) =>
      run(() => void s.appendAudit.run(event.at, event.type, JSON.stringify(event.data))),
    listAudit: (limit) => run(() => (s.listAudit.all(limitOf(limit)) as Row[]).map(auditFromRow)),

    tryAcquireLease: (name, holder, ttlMs, now) =>
      run(() => s.acquireLease.run({ name, holder, expiresAt: now + ttlMs, now }).changes === 1),
    releaseLease: (name, holder) => run(() => void s.releaseLease.run(name, holder)),

    revokeFamilies: (where, reason, now) =>
      run(() => {
        const [stmt, key] =
          'sessionId' in where
            ? [s.revokeSessionFamilies, where.sessionId]
            : [s.revokeUserFamilies, where.userId];
        return (stmt.all({ key, reason, now }) as Row[]).map((r) => String(r.id));
      }),

    createUser: (user) => run(() => insert('users', userToRow(user))),
    getUser: (id) => run(() => optional(s.getUser.get(id), userFromRow)),
    getUserByEmail: (email) => run(() => optional(s.getUserByEmail.get(emailKey(email)), userFromRow)),
    listUsers: () => run(() => (s.listUsers.all() as Row[]).map(userFromRow)),
    updateUser: (user) => run(() => s.updateUser.run(userToRow(user)).changes === 1),
    deleteUser: (id) => run(() => deleteUser.immediate(id)),

    createSession: (session) => run(() => insert('sessions', sessionToRow(session))),
    getSessionBySecret: (secretHash, now) =>
      run(() => optional(s.getSessionBySecret.get({ secretHash, now }), sessionFromRow)),
    getSession: (id) => run(() => optional(s.getSession.get(id), sessionFromRow)),
    touchSession: (id, idleExpiresAt) => run(() => s.touchSession.run(idleExpiresAt, id).changes === 1),
    deleteSession: (id) => run(() => s.deleteSession.run(id).changes === 1),
    deleteUserSessions: (userId) =>
      run(() => (s.deleteUserSessions.all(userId) as Row[]).map((r) => String(r.id))),
    purgeSessions: (now) => run(() => s.purgeSessions.run({ now }).changes),
    listLiveSessions: (now) => run(() => (s.listLiveSessions.all({ now }) as Row[]).map(sessionFromRow)),

    insertAuthCode: (code) => run(() => insert('auth_codes', authCodeToRow(code))),
    redeemAuthCode: (hash, now) => run(() => redeemCode(hash, now)),
    recordCodeTokens: (hash, issued) => run(() => void s.recordCodeTokens.run({ hash, ...issued })),
    purgeAuthCodes: (now) => run(() => s.purgeCodes.run(now - AUTH_CODE_KEEP_MS).changes),

    getConsent: (userId, clientId) => run(() => optional(s.getConsent.get(userId, clientId), consentFromRow)),
    grantConsent: (userId, clientId, scope, now) =>
      run(() => grantConsent.immediate(userId, clientId, scope, now)),
    revokeConsent: (userId, clientId) => run(() => s.revokeConsent.run(userId, clientId).changes === 1),
    listConsents: () => run(() => (s.listConsents.all() as Row[]).map(consentFromRow)),

    insertPending: (record) => run(() => insert('pending', pendingToRow(record))),
    getPending: (kind, hash, now) => run(() => optional(s.getPending.get(kind, hash, now), pendingFromRow)),
    takePending: (kind, hash, now) =>
      run(() => {
        // Deleted even when expired (it is dead anyway), but only a live record is handed out.
        const row = s.takePending.get(kind, hash) as Row | undefined;
        return row && Number(row.expires_at) > now ? pendingFromRow(row) : undefined;
      }),
    deletePending: (kind, hash) => run(() => s.deletePending.run(kind, hash).changes === 1),
    purgePending: (now) => run(() => s.purgePending.run(now).changes),

    createIdentityProvider: (provider) =>
      run(() => insert('identity_providers', identityProviderToRow(provider))),
    getIdentityProvider: (id) => run(() => optional(s.getProvider.get(id), identityProviderFromRow)),
    listIdentityProviders: () => run(() => (s.listProviders.all() as Row[]).map(identityProviderFromRow)),
    deleteIdentityProvider: (id) => run(() => deleteProvider.immediate(id)),
    createIdentityLink: (link) => run(() => insert('identity_links', identityLinkToRow(link))),
    getIdentityLink: (providerId, subject) =>
      run(() => optional(s.getLink.get(providerId, subject), identityLinkFromRow)),
    listIdentityLinks: (userId) =>
      run(() =>
        ((userId === undefined ? s.listLinks.all() : s.listUserLinks.all(userId)) as Row[]).map(
          identityLinkFromRow,
        ),
      ),
    createPasskey: (passkey) => run(() => insert('passkeys', passkeyToRow(passkey))),
    getPasskey: (id) => run(() => optional(s.getPasskey.get(id), passkeyFromRow)),
    listUserPasskeys: (userId) => run(() => (s.listUserPasskeys.all(userId) as Row[]).map(passkeyFromRow)),
    usePasskey: (id, counter, backedUp, now) =>
      run(() => s.usePasskey.run({ id, counter, backedUp: backedUp ? 1 : 0, now }).changes === 1),
    deletePasskey: (userId, id) => run(() => s.deletePasskey.run(id, userId).changes === 1),
  };
}

function optional<T>(row: unknown, map: (row: Row) => T): T | undefined {
  return row === undefined ? undefined : map(row as Row);
}
