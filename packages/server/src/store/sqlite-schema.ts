import type { Database } from 'better-sqlite3';

/** One schema step. Steps are applied in `version` order and never edited once released: add a new one. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The SQLite schema. Times are integer milliseconds since the epoch; lists are JSON text. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
      CREATE TABLE keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired', 'revoked')),
        public_jwk TEXT NOT NULL,
        encrypted_private_key TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        published_at INTEGER NOT NULL,
        activated_at INTEGER,
        retired_at INTEGER,
        remove_after INTEGER,
        revoked_at INTEGER
      );
      CREATE TABLE clients (
        id TEXT PRIMARY KEY,
        secret_hash TEXT,
        auth_method TEXT NOT NULL,
        grants TEXT NOT NULL,
        audience TEXT NOT NULL,
        scope TEXT NOT NULL,
        jwks TEXT,
        token_format TEXT NOT NULL,
        access_ttl INTEGER NOT NULL,
        allowed_claims TEXT NOT NULL,
        refresh_absolute_ttl INTEGER NOT NULL,
        refresh_idle_ttl INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE refresh_families (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        sub TEXT NOT NULL,
        scope TEXT NOT NULL,
        claims TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        absolute_expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        revoked_reason TEXT
      );
      CREATE INDEX refresh_families_live ON refresh_families (absolute_expires_at) WHERE revoked_at IS NULL;
      CREATE TABLE refresh_tokens (
        hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
      -- AUTOINCREMENT: a seq is never reused, even after the newest rows are purged, so a verifier's cursor
      -- can never point past an entry it has not seen.
      CREATE TABLE revocations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL,
        UNIQUE (kind, value)
      );
      CREATE INDEX revocations_expires ON revocations (expires_at);
      CREATE TABLE opaque_tokens (
        hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        sub TEXT NOT NULL,
        scope TEXT NOT NULL,
        audience TEXT NOT NULL,
        claims TEXT NOT NULL,
        jti TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX opaque_tokens_expires ON opaque_tokens (expires_at);
      CREATE TABLE used_ids (
        namespace TEXT NOT NULL,
        id TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (namespace, id)
      ) WITHOUT ROWID;
      CREATE INDEX used_ids_expires ON used_ids (expires_at);
      CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX audit_events_at ON audit_events (at, id);
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'client-lifecycle',
    // Existing clients get no introspection permission (docs/oauth.md "Upgrading"): the safe default.
    sql: `
      ALTER TABLE clients ADD COLUMN introspect_audiences TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT;
      ALTER TABLE clients ADD COLUMN previous_secret_expires_at INTEGER;
      ALTER TABLE clients ADD COLUMN updated_at INTEGER;
      CREATE INDEX opaque_tokens_client ON opaque_tokens (client_id);
      CREATE INDEX refresh_families_client ON refresh_families (client_id);
    `,
  },
  {
    version: 3,
    name: 'sign-in',
    // Existing clients are not first-party (their users are asked for consent) and need no PAR: the safe
    // defaults. `email_key` is the email lower-cased by the application (see rows.ts `emailKey`).
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL,
        name TEXT,
        email_verified INTEGER NOT NULL,
        disabled INTEGER NOT NULL,
        claims TEXT NOT NULL,
        password_hash TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX users_email ON users (email_key);
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL,
        auth_time INTEGER NOT NULL,
        amr TEXT NOT NULL,
        acr TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        idle_expires_at INTEGER NOT NULL,
        absolute_expires_at INTEGER NOT NULL
      );
      CREATE INDEX sessions_user ON sessions (user_id);
      CREATE INDEX sessions_idle_expires ON sessions (idle_expires_at);
      CREATE TABLE auth_codes (
        hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        nonce TEXT,
        user_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        auth_time INTEGER NOT NULL,
        amr TEXT NOT NULL,
        acr TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        access_token_jti TEXT,
        access_token_expires_at INTEGER,
        refresh_family_id TEXT
      );
      CREATE INDEX auth_codes_expires ON auth_codes (expires_at);
      CREATE TABLE consents (
        user_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, client_id)
      ) WITHOUT ROWID;
      CREATE TABLE pending (
        kind TEXT NOT NULL CHECK (kind IN ('par', 'interaction', 'set_password')),
        hash TEXT NOT NULL,
        owner TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (kind, hash)
      ) WITHOUT ROWID;
      CREATE INDEX pending_expires ON pending (expires_at);
      ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE clients ADD COLUMN first_party INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE clients ADD COLUMN require_par INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE refresh_families ADD COLUMN user_id TEXT;
      ALTER TABLE refresh_families ADD COLUMN session_id TEXT;
      CREATE INDEX refresh_families_user ON refresh_families (user_id) WHERE user_id IS NOT NULL;
      CREATE INDEX refresh_families_session ON refresh_families (session_id) WHERE session_id IS NOT NULL;
    `,
  },
  {
    version: 4,
    name: 'dpop',
    // RFC 9449: existing clients stay `--dpop allowed` (bearer tokens still work); existing refresh families
    // and codes are bound to no key.
    sql: `
      ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE refresh_families ADD COLUMN dpop_jkt TEXT;
      ALTER TABLE auth_codes ADD COLUMN dpop_jkt TEXT;
    `,
  },
  {
    version: 5,
    name: 'exchange',
    // Token exchange (RFC 8693, issue 15). Existing clients may exchange nothing: no exchange audiences and
    // no trusted foreign issuers, the safe defaults.
    sql: `
      ALTER TABLE clients ADD COLUMN exchange_audiences TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE clients ADD COLUMN exchange_trust_issuers TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    version: 6,
    name: 'federation',
    // Upstream identity providers (issue 16): providers, (provider, upstream sub) → user links, the `idp` of
    // sessions and codes (existing ones were password sign-ins: `local`). The pending table is rebuilt
    // without its CHECK on `kind`: SQLite cannot alter a CHECK, and each new kind of pending record (the
    // federation's here, the passkeys' next) would otherwise need this rebuild again; the application's
    // PendingKind type is the list of kinds.
    sql: `
      CREATE TABLE identity_providers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        issuer TEXT NOT NULL,
        client_id TEXT NOT NULL,
        encrypted_client_secret TEXT NOT NULL,
        scope TEXT NOT NULL,
        claims_map TEXT NOT NULL,
        allowed_domains TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE identity_links (
        provider_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (provider_id, subject)
      ) WITHOUT ROWID;
      CREATE INDEX identity_links_user ON identity_links (user_id);
      ALTER TABLE sessions ADD COLUMN idp TEXT NOT NULL DEFAULT 'local';
      ALTER TABLE auth_codes ADD COLUMN idp TEXT NOT NULL DEFAULT 'local';
      CREATE TABLE pending_rebuilt (
        kind TEXT NOT NULL,
        hash TEXT NOT NULL,
        owner TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (kind, hash)
      ) WITHOUT ROWID;
      INSERT INTO pending_rebuilt (kind, hash, owner, data, created_at, expires_at)
        SELECT kind, hash, owner, data, created_at, expires_at FROM pending;
      DROP TABLE pending;
      ALTER TABLE pending_rebuilt RENAME TO pending;
      CREATE INDEX pending_expires ON pending (expires_at);
    `,
  },
  {
    version: 7,
    name: 'passkeys',
    // WebAuthn credentials (issue 16); their challenges and enrolment links are pending records.
    sql: `
      CREATE TABLE passkeys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        public_key TEXT NOT NULL,
        counter INTEGER NOT NULL,
        transports TEXT NOT NULL,
        backed_up INTEGER NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
      );
      CREATE INDEX passkeys_user ON passkeys (user_id);
    `,
  },
];

/**
 * Applies the missing steps and returns their names. Everything runs inside one `BEGIN IMMEDIATE`
 * transaction, which takes the database's write lock before reading `schema_migrations`: when the CLI and a
 * running server open the same file at once, the second waits (busy_timeout) and then sees the steps as done,
 * instead of both reading "not applied" and both running `CREATE TABLE`.
 */
export function migrateSQLite(db: Database, migrations: readonly Migration[] = SQLITE_MIGRATIONS): string[] {
  const applied: string[] = [];
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const rows = db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[];
    const done = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...migrations.map((m) => m.version));
    const ahead = rows.find((r) => r.version > newest);
    if (ahead) {
      throw new Error(
        `database schema version ${ahead.version} is newer than this tessera understands (${newest}); upgrade tessera`,
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
      applied.push(m.name);
    }
    db.exec('COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
  return applied;
}
