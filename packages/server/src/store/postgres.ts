import { createHash } from 'node:crypto';
import pg from 'pg';
import type { PoolClient, QueryConfig, QueryResultRow } from 'pg';
import { migratePostgres } from './postgres-schema.js';
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
  type RotateResult,
  type Store,
} from './types.js';
import type { SignInListing } from './listing.js';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db` */
  url: string;
  /** Schema for the tables (created if missing); default: the server's search_path (usually `public`). */
  schema?: string;
  /** Pool size (default 10). */
  poolSize?: number;
  /** Shown in pg_stat_activity (default `tessera`). */
  applicationName?: string;
  /** Called with the names of the migration steps this call applied (empty when another instance did). */
  onMigrationsApplied?: (names: string[]) => void;
}

type Row = Record<string, unknown>;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

// BIGINT (oid 20) arrives as a string by default, since it can exceed 2^53; our values are millisecond times
// and cursors, far below that. Set per pool, not on the global `pg.types`, so other pg users are unaffected.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

// A database that stops answering without closing the connection (partition, frozen host) would otherwise
// hold a request, and its pooled connection, until TCP gives up (minutes): give up after this and discard
// the connection. Every statement the store runs is small; migrations (which may wait for another
// instance's lock) run on their own client without it.
const QUERY_TIMEOUT_MS = 5000;

/** Errors meaning "the database is not reachable right now" (answer 503 and try again later). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown: server stopping or backend terminated
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
  '08000', // connection_exception and subclasses
  '08001',
  '08003',
  '08004',
  '08006',
]);

function mapError(err: unknown): unknown {
  if (err instanceof StoreConflictError || err instanceof StoreUnavailableError) return err;
  const code = (err as { code?: unknown }).code;
  if (code === '23505') return new StoreConflictError('record already exists', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  // pg reports a dropped socket and a pool connect timeout without a code.
  if (
    (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/i.test(
      message,
    )
  ) {
    return new StoreUnavailableError(`PostgreSQL unavailable: ${message}`, { cause: err });
  }
  return err;
}

/**
 * Opens (and migrates) the PostgreSQL store. Several instances may share one database; every "use once"
 * operation is a single conditional statement or a short transaction whose first statement takes the row
 * lock, so the database decides races between instances.
 *
 * @example
 * const store = await openPostgresStore({ url: 'postgres://tessera@db/tessera', schema: 'tessera' });
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store & SignInListing> {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new Error(`invalid schema name "${options.schema}" (lower-case letters, digits and _)`);
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'tessera',
    // search_path at connection start: every pooled connection, including ones opened after a PostgreSQL
    // restart, lands in the right schema without an extra query racing the first request.
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    types,
  });
  // An idle client whose server went away (restart, pg_terminate_backend) emits 'error' on the pool; the
  // pool drops it and opens a fresh one on the next request. Unhandled, that event would crash the process.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    try {
      // Not inside `?.(…)`: an optional call skips evaluating its arguments when there is no callback.
      const applied = await migratePostgres(client, options.schema);
      options.onMigrationsApplied?.(applied);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => {});
    throw mapError(err);
  }
  return createPostgresStore(pool, options.schema ?? '');
}

function createPostgresStore(pool: pg.Pool, schema: string): Store & SignInListing {
  // Named queries are parsed and planned once per connection, then reused. (A future migration that changes
  // a table's columns under running instances would need them restarted: PostgreSQL refuses a cached
  // `SELECT *` plan whose result type changed.)
  const names = new Map<string, string>();
  const nameOf = (text: string): string => {
    let name = names.get(text);
    if (!name) {
      name = 't' + createHash('sha1').update(text).digest('hex').slice(0, 16);
      names.set(text, name);
    }
    return name;
  };
  type Queryable = Pick<PoolClient, 'query'>;
  const query = async <R extends QueryResultRow = Row>(
    text: string,
    values: unknown[] = [],
    on: Queryable = pool,
  ): Promise<pg.QueryResult<R>> => {
    try {
      // query_timeout is honoured per query by pg but missing from @types/pg's QueryConfig.
      return await on.query<R>({
        name: nameOf(text),
        text,
        values,
        query_timeout: QUERY_TIMEOUT_MS,
      } as QueryConfig);
    } catch (err) {
      throw mapError(err);
    }
  };
  const rows = async (text: string, values: unknown[] = []): Promise<Row[]> =>
    (await query(text, values)).rows;
  const one = async (text: string, values: unknown[] = []): Promise<Row | undefined> =>
    (await query(text, values)).rows[0];
  const insert = (table: string, row: Row, on?: Queryable): Promise<unknown> =>
    query(
      insertSQL(table, row, (i) => `$${i + 1}`),
      Object.values(row),
      on,
    );
  const count = async (text: string, values: unknown[]): Promise<number> =>
    (await query(text, values)).rowCount ?? 0;

  /** Runs `fn` in a transaction on one pooled connection; a broken connection is discarded, not reused. */
  const transaction = async <T>(fn: (client: PoolClient) => Promise<T>): Promise<T> => {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw mapError(err);
    }
    try {
      await client.query({ text: 'BEGIN', query_timeout: QUERY_TIMEOUT_MS } as QueryConfig);
      const result = await fn(client);
      await client.query({ text: 'COMMIT', query_timeout: QUERY_TIMEOUT_MS } as QueryConfig);
      client.release();
      return result;
    } catch (err) {
      const broken = mapError(err) instanceof StoreUnavailableError;
      if (!broken) await client.query('ROLLBACK').catch(() => {});
      client.release(broken ? (err as Error) : undefined);
      throw mapError(err);
    }
  };

  const revocationLock = `tessera:revocations:${schema}`;
  const limitOf = (limit: number): number => Math.max(0, Math.trunc(limit));

  return {
    kind: 'postgres',
    ping: async () => void (await query('SELECT 1')),
    close: () => pool.end(),

    listKeys: async () => (await rows('SELECT * FROM keys ORDER BY created_at, kid')).map(keyFromRow),
    getKey: async (kid) => optional(await one('SELECT * FROM keys WHERE kid = $1', [kid]), keyFromRow),
    insertKey: async (key) => void (await insert('keys', keyToRow(key))),
    async transitionKey(kid, from, changes) {
      const values: unknown[] = [kid, from];
      const set: string[] = [];
      for (const [field, value] of Object.entries(changes)) {
        const column = KEY_COLUMNS[field as Exclude<keyof KeyRecord, 'kid'>];
        if (!column || value === undefined) continue;
        values.push(value);
        set.push(`${column} = $${values.length}`);
      }
      // `AND state = $2` is the compare-and-set: of two instances promoting the same key, one updates a row.
      const sql = `UPDATE keys SET ${set.length ? set.join(', ') : 'state = state'} WHERE kid = $1 AND state = $2`;
      return (await count(sql, values)) === 1;
    },
    deleteKey: async (kid) => void (await query('DELETE FROM keys WHERE kid = $1', [kid])),

    createClient: async (client) => void (await insert('clients', clientToRow(client))),
    getClient: async (id) => optional(await one('SELECT * FROM clients WHERE id = $1', [id]), clientFromRow),
    listClients: async () => (await rows('SELECT * FROM clients ORDER BY created_at, id')).map(clientFromRow),
    async updateClient(client) {
      const row = clientToRow(client);
      const set = CLIENT_UPDATE_COLUMNS.map((c, i) => `${c} = $${i + 2}`).join(', ');
      const values = [client.id, ...CLIENT_UPDATE_COLUMNS.map((c) => row[c])];
      return (await count(`UPDATE clients SET ${set} WHERE id = $1`, values)) === 1;
    },
    deleteClient: async (id) => (await count('DELETE FROM clients WHERE id = $1', [id])) === 1,
    revokeClientTokens: (clientId, now) =>
      transaction(async (c) => {
        const opaque = await query('DELETE FROM opaque_tokens WHERE client_id = $1', [clientId], c);
        const families = await query(
          `UPDATE refresh_families SET revoked_at = $2, revoked_reason = 'client_deleted'
           WHERE client_id = $1 AND revoked_at IS NULL AND absolute_expires_at > $2`,
          [clientId, now],
          c,
        );
        return { opaqueTokens: opaque.rowCount ?? 0, refreshFamilies: families.rowCount ?? 0 };
      }),

    createFamily: (family, first) =>
      transaction(async (c) => {
        await insert('refresh_families', familyToRow(family), c);
        await insert('refresh_tokens', refreshTokenToRow({ ...first, familyId: family.id }), c);
      }),
    getFamily: async (id) =>
      optional(await one('SELECT * FROM refresh_families WHERE id = $1', [id]), familyFromRow),
    getRefreshToken: async (hash) =>
      optional(await one('SELECT * FROM refresh_tokens WHERE hash = $1', [hash]), refreshTokenFromRow),
    rotateRefreshToken: (oldHash, next, now) =>
      transaction(async (c): Promise<RotateResult> => {
        // The conditional UPDATE takes the row lock: a concurrent rotation of the same token blocks here until
        // this transaction ends, then re-checks `used_at IS NULL`, finds it set and updates nothing.
        const used = await query(
          'UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL RETURNING *',
          [now, oldHash],
          c,
        );
        const previous =
          used.rows[0] ?? (await query('SELECT * FROM refresh_tokens WHERE hash = $1', [oldHash], c)).rows[0];
        const family =
          previous &&
          (await query('SELECT * FROM refresh_families WHERE id = $1', [previous.family_id], c)).rows[0];
        if (!previous || !family) return { status: 'unknown' };
        if (!used.rows[0])
          return { status: 'reused', family: familyFromRow(family), previous: refreshTokenFromRow(previous) };
        await insert(
          'refresh_tokens',
          refreshTokenToRow({ ...next, familyId: String(previous.family_id) }),
          c,
        );
        return { status: 'rotated', family: familyFromRow(family), previous: refreshTokenFromRow(previous) };
      }),
    async revokeFamily(id, reason, now) {
      const row = await one(
        'UPDATE refresh_families SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING absolute_expires_at',
        [now, reason, id],
      );
      return row !== undefined && Number(row.absolute_expires_at) > now;
    },
    listLiveFamilies: async (now) =>
      (
        await rows(
          'SELECT * FROM refresh_families WHERE revoked_at IS NULL AND absolute_expires_at > $1 ORDER BY created_at, id',
          [now],
        )
      ).map(familyFromRow),
    listFamilyTokens: async (familyId) =>
      (
        await rows('SELECT * FROM refresh_tokens WHERE family_id = $1 ORDER BY created_at, hash', [familyId])
      ).map(refreshTokenFromRow),
    purgeRefresh: (now) =>
      transaction(async (c) => {
        // Tokens of dead families are deleted explicitly (not by cascade) so they are counted.
        const tokens = await query(
          `DELETE FROM refresh_tokens WHERE expires_at <= $1 OR family_id IN
             (SELECT id FROM refresh_families WHERE revoked_at IS NOT NULL OR absolute_expires_at <= $1)`,
          [now],
          c,
        );
        const families = await query(
          'DELETE FROM refresh_families WHERE revoked_at IS NOT NULL OR absolute_expires_at <= $1',
          [now],
          c,
        );
        return (tokens.rowCount ?? 0) + (families.rowCount ?? 0);
      }),

    addRevocation: (entry) =>
      transaction(async (c) => {
        // Serialise appends until commit. With plain BIGSERIAL, seq 7 could commit after seq 8 became
        // visible; a verifier polling in between would move its cursor to 8 and never see 7.
        await query('SELECT pg_advisory_xact_lock(hashtext($1))', [revocationLock], c);
        // An entry that no longer matters is replaced, as if purged; a live one is returned as is.
        await query(
          'DELETE FROM revocations WHERE kind = $1 AND value = $2 AND expires_at <= $3',
          [entry.kind, entry.value, entry.revokedAt],
          c,
        );
        const existing = await query(
          'SELECT * FROM revocations WHERE kind = $1 AND value = $2',
          [entry.kind, entry.value],
          c,
        );
        const found = existing.rows[0];
        let expiresAt = entry.expiresAt;
        if (found) {
          // A later client-wide revocation covers more tokens: it replaces the live one under a new seq.
          const covers =
            (entry.kind === 'client' || entry.kind === 'sub') && entry.revokedAt > Number(found.revoked_at);
          if (!covers) return revocationFromRow(found);
          expiresAt = Math.max(expiresAt, Number(found.expires_at));
          await query('DELETE FROM revocations WHERE seq = $1', [found.seq], c);
        }
        const inserted = await query(
          'INSERT INTO revocations (kind, value, expires_at, revoked_at) VALUES ($1, $2, $3, $4) RETURNING *',
          [entry.kind, entry.value, expiresAt, entry.revokedAt],
          c,
        );
        return revocationFromRow(inserted.rows[0]!);
      }),
    listRevocations: async (since, limit, now) =>
      (
        await rows('SELECT * FROM revocations WHERE seq > $1 AND expires_at > $2 ORDER BY seq LIMIT $3', [
          since,
          now,
          limitOf(limit),
        ])
      ).map(revocationFromRow),
    getRevocation: async (kind, value, now) =>
      optional(
        await one('SELECT * FROM revocations WHERE kind = $1 AND value = $2 AND expires_at > $3', [
          kind,
          value,
          now,
        ]),
        revocationFromRow,
      ),
    isRevoked: async (kind, value, now) =>
      (await one('SELECT 1 FROM revocations WHERE kind = $1 AND value = $2 AND expires_at > $3', [
        kind,
        value,
        now,
      ])) !== undefined,
    // The sequence remembers the highest seq handed out, even after those rows were purged.
    latestRevocationSeq: async () =>
      Number(
        (await one("SELECT COALESCE(pg_sequence_last_value('revocations_seq_seq'::regclass), 0) AS seq"))
          ?.seq ?? 0,
      ),
    purgeRevocations: (now) => count('DELETE FROM revocations WHERE expires_at <= $1', [now]),

    insertOpaqueToken: async (token) => void (await insert('opaque_tokens', opaqueToRow(token))),
    getOpaqueToken: async (hash) =>
      optional(await one('SELECT * FROM opaque_tokens WHERE hash = $1', [hash]), opaqueFromRow),
    listOpaqueTokens: async (now) =>
      (await rows('SELECT * FROM opaque_tokens WHERE expires_at > $1 ORDER BY issued_at, hash', [now])).map(
        opaqueFromRow,
      ),
    deleteOpaqueToken: async (hash) =>
      (await count('DELETE FROM opaque_tokens WHERE hash = $1', [hash])) === 1,
    purgeOpaqueTokens: (now) => count('DELETE FROM opaque_tokens WHERE expires_at <= $1', [now]),

    // One statement: of two instances checking the same jti, the unique index lets exactly one insert; the
    // other waits for it, then its DO UPDATE condition (expired) is false. An expired id may be reused.
    consumeOnce: async (namespace, id, expiresAt, now) =>
      (await count(
        `INSERT INTO used_ids (namespace, id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (namespace, id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE used_ids.expires_at <= $4`,
        [namespace, id, expiresAt, now],
      )) === 1,
    purgeUsedIds: (now) => count('DELETE FROM used_ids WHERE expires_at <= $1', [now]),

    appendAudit: async (event) =>
      void (await query('INSERT INTO audit_events (at, type, data) VALUES ($1, $2, $3)', [
        event.at,
        event.type,
        JSON.stringify(event.data),
      ])),
    listAudit: async (limit) =>
      (
        await rows('SELECT at, type, data FROM audit_events ORDER BY at DESC, id DESC LIMIT $1', [
          limitOf(limit),
        ])
      ).map(auditFromRow),

    // Take the lease if free, expired or ours, in one statement, so two instances never both hold it.
    tryAcquireLease: async (name, holder, ttlMs, now) =>
      (await count(
        `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= $4`,
        [name, holder, now + ttlMs, now],
      )) === 1,
    releaseLease: async (name, holder) =>
      void (await query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder])),

    // Revoke only live families and return their ids, in one statement (logout, user deleted).
    async revokeFamilies(where, reason, now) {
      const [column, key] =
        'sessionId' in where ? ['session_id', where.sessionId] : ['user_id', where.userId];
      return (
        await rows(
          `UPDATE refresh_families SET revoked_at = $1, revoked_reason = $2
           WHERE ${column} = $3 AND revoked_at IS NULL AND absolute_expires_at > $1 RETURNING id`,
          [now, reason, key],
        )
      ).map((r) => String(r.id));
    },

    createUser: async (user) => void (await insert('users', userToRow(user))),
    getUser: async (id) => optional(await one('SELECT * FROM users WHERE id = $1', [id]), userFromRow),
    getUserByEmail: async (email) =>
      optional(await one('SELECT * FROM users WHERE email_key = $1', [emailKey(email)]), userFromRow),
    listUsers: async () => (await rows('SELECT * FROM users ORDER BY created_at, id')).map(userFromRow),
    async updateUser(user) {
      const row = userToRow(user);
      const set = USER_UPDATE_COLUMNS.map((c, i) => `${c} = $${i + 2}`).join(', ');
      const values = [user.id, ...USER_UPDATE_COLUMNS.map((c) => row[c])];
      return (await count(`UPDATE users SET ${set} WHERE id = $1`, values)) === 1;
    },
    deleteUser: (id) =>
      transaction(async (c) => {
        const deleted = await query('DELETE FROM users WHERE id = $1', [id], c);
        if (deleted.rowCount !== 1) return false;
        await query('DELETE FROM sessions WHERE user_id = $1', [id], c);
        await query('DELETE FROM consents WHERE user_id = $1', [id], c);
        await query('DELETE FROM identity_links WHERE user_id = $1', [id], c);
        await query('DELETE FROM passkeys WHERE user_id = $1', [id], c);
        return true;
      }),

    createSession: async (session) => void (await insert('sessions', sessionToRow(session))),
    getSessionBySecret: async (secretHash, now) =>
      optional(
        await one(
          'SELECT * FROM sessions WHERE secret_hash = $1 AND idle_expires_at > $2 AND absolute_expires_at > $2',
          [secretHash, now],
        ),
        sessionFromRow,
      ),
    getSession: async (id) =>
      optional(await one('SELECT * FROM sessions WHERE id = $1', [id]), sessionFromRow),
    // Capped in the statement: a stolen cookie kept in use still dies at the absolute expiry (OWASP ASVS 3.3).
    touchSession: async (id, idleExpiresAt) =>
      (await count(
        'UPDATE sessions SET idle_expires_at = LEAST($2::bigint, absolute_expires_at) WHERE id = $1',
        [id, idleExpiresAt],
      )) === 1,
    deleteSession: async (id) => (await count('DELETE FROM sessions WHERE id = $1', [id])) === 1,
    deleteUserSessions: async (userId) =>
      (await rows('DELETE FROM sessions WHERE user_id = $1 RETURNING id', [userId])).map((r) => String(r.id)),
    purgeSessions: (now) =>
      count('DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1', [now]),
    listLiveSessions: async (now) =>
      (
        await rows(
          'SELECT * FROM sessions WHERE idle_expires_at > $1 AND absolute_expires_at > $1 ORDER BY created_at, id',
          [now],
        )
      ).map(sessionFromRow),

    insertAuthCode: async (code) => void (await insert('auth_codes', authCodeToRow(code))),
    async redeemAuthCode(hash, now) {
      // The use-once step of RFC 6749 §4.1.2: a racing UPDATE waits for the row lock, then finds used_at set.
      const won = await one(
        'UPDATE auth_codes SET used_at = $1 WHERE hash = $2 AND used_at IS NULL RETURNING *',
        [now, hash],
      );
      if (won) return { status: 'redeemed', code: authCodeFromRow(won) };
      const seen = await one('SELECT * FROM auth_codes WHERE hash = $1', [hash]);
      return seen ? { status: 'reused', code: authCodeFromRow(seen) } : { status: 'unknown' };
    },
    recordCodeTokens: async (hash, issued) =>
      void (await query(
        'UPDATE auth_codes SET access_token_jti = $2, access_token_expires_at = $3, refresh_family_id = $4 WHERE hash = $1',
        [hash, issued.accessTokenJti, issued.accessTokenExpiresAt, issued.refreshFamilyId],
      )),
    purgeAuthCodes: (now) =>
      count('DELETE FROM auth_codes WHERE expires_at <= $1', [now - AUTH_CODE_KEEP_MS]),

    getConsent: async (userId, clientId) =>
      optional(
        await one('SELECT * FROM consents WHERE user_id = $1 AND client_id = $2', [userId, clientId]),
        consentFromRow,
      ),
    grantConsent: (userId, clientId, scope, now) =>
      transaction(async (c) => {
        // Make sure the row exists (a racing insert makes this wait, then do nothing), then lock it: two
        // grants at once are serialised and both land in the union.
        await query(
          `INSERT INTO consents (user_id, client_id, scope, created_at, updated_at) VALUES ($1, $2, '[]', $3, $3)
           ON CONFLICT (user_id, client_id) DO NOTHING`,
          [userId, clientId, now],
          c,
        );
        const locked = await query(
          'SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2 FOR UPDATE',
          [userId, clientId],
          c,
        );
        const merged = unionScope(JSON.parse(String(locked.rows[0]!.scope)) as string[], scope);
        const updated = await query(
          'UPDATE consents SET scope = $3, updated_at = $4 WHERE user_id = $1 AND client_id = $2 RETURNING *',
          [userId, clientId, JSON.stringify(merged), now],
          c,
        );
        return consentFromRow(updated.rows[0]!);
      }),
    revokeConsent: async (userId, clientId) =>
      (await count('DELETE FROM consents WHERE user_id = $1 AND client_id = $2', [userId, clientId])) === 1,
    listConsents: async () =>
      (await rows('SELECT * FROM consents ORDER BY created_at, user_id, client_id')).map(consentFromRow),

    insertPending: async (record) => void (await insert('pending', pendingToRow(record))),
    getPending: async (kind, hash, now) =>
      optional(
        await one('SELECT * FROM pending WHERE kind = $1 AND hash = $2 AND expires_at > $3', [
          kind,
          hash,
          now,
        ]),
        pendingFromRow,
      ),
    async takePending(kind, hash, now) {
      // Read and delete in one statement: of two racing takes only one gets the row (single use). Deleted
      // even when expired (it is dead anyway), but only a live record is handed out.
      const row = await one('DELETE FROM pending WHERE kind = $1 AND hash = $2 RETURNING *', [kind, hash]);
      return row && Number(row.expires_at) > now ? pendingFromRow(row) : undefined;
    },
    deletePending: async (kind, hash) =>
      (await count('DELETE FROM pending WHERE kind = $1 AND hash = $2', [kind, hash])) === 1,
    purgePending: (now) => count('DELETE FROM pending WHERE expires_at <= $1', [now]),

    createIdentityProvider: async (provider) =>
      void (await insert('identity_providers', identityProviderToRow(provider))),
    getIdentityProvider: async (id) =>
      optional(await one('SELECT * FROM identity_providers WHERE id = $1', [id]), identityProviderFromRow),
    listIdentityProviders: async () =>
      (await rows('SELECT * FROM identity_providers ORDER BY created_at, id')).map(identityProviderFromRow),
    deleteIdentityProvider: (id) =>
      transaction(async (c) => {
        const deleted = await query('DELETE FROM identity_providers WHERE id = $1', [id], c);
        if (deleted.rowCount !== 1) return false;
        await query('DELETE FROM identity_links WHERE provider_id = $1', [id], c);
        return true;
      }),
    createIdentityLink: async (link) => void (await insert('identity_links', identityLinkToRow(link))),
    getIdentityLink: async (providerId, subject) =>
      optional(
        await one('SELECT * FROM identity_links WHERE provider_id = $1 AND subject = $2', [
          providerId,
          subject,
        ]),
        identityLinkFromRow,
      ),
    listIdentityLinks: async (userId) =>
      (userId === undefined
        ? await rows('SELECT * FROM identity_links ORDER BY created_at, provider_id, subject')
        : await rows(
            'SELECT * FROM identity_links WHERE user_id = $1 ORDER BY created_at, provider_id, subject',
            [userId],
          )
      ).map(identityLinkFromRow),
    createPasskey: async (passkey) => void (await insert('passkeys', passkeyToRow(passkey))),
    getPasskey: async (id) =>
      optional(await one('SELECT * FROM passkeys WHERE id = $1', [id]), passkeyFromRow),
    listUserPasskeys: async (userId) =>
      (await rows('SELECT * FROM passkeys WHERE user_id = $1 ORDER BY created_at, id', [userId])).map(
        passkeyFromRow,
      ),
    // WebAuthn §6.1.1: one conditional statement; the row lock makes a racing twin see the new counter.
    usePasskey: async (id, counter, backedUp, now) =>
      (await count(
        `UPDATE passkeys SET counter = $2, backed_up = $3, last_used_at = $4
         WHERE id = $1 AND (counter < $2 OR (counter = 0 AND $2 = 0))`,
        [id, counter, backedUp, now],
      )) === 1,
    deletePasskey: async (userId, id) =>
      (await count('DELETE FROM passkeys WHERE id = $1 AND user_id = $2', [id, userId])) === 1,
  };
}

function optional<T>(row: Row | undefined, map: (row: Row) => T): T | undefined {
  return row === undefined ? undefined : map(row);
}
