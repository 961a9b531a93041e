import type { PoolClient } from 'pg';
import type { Migration } from './sqlite-schema.js';

/** The PostgreSQL schema: the SQLite one with BIGINT times and BIGSERIAL cursors. Append steps, never edit. */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
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
        created_at BIGINT NOT NULL,
        published_at BIGINT NOT NULL,
        activated_at BIGINT,
        retired_at BIGINT,
        remove_after BIGINT,
        revoked_at BIGINT
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
        access_ttl BIGINT NOT NULL,
        allowed_claims TEXT NOT NULL,
        refresh_absolute_ttl BIGINT NOT NULL,
        refresh_idle_ttl BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE refresh_families (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        sub TEXT NOT NULL,
        scope TEXT NOT NULL,
        claims TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        absolute_expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        revoked_reason TEXT
      );
      CREATE INDEX refresh_families_live ON refresh_families (absolute_expires_at) WHERE revoked_at IS NULL;
      CREATE TABLE refresh_tokens (
        hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
      CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
      -- A sequence never hands out a value twice, even after the newest rows are purged, so a verifier's
      -- cursor can never point past an entry it has not seen.
      CREATE TABLE revocations (
        seq BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT NOT NULL,
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
        issued_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX opaque_tokens_expires ON opaque_tokens (expires_at);
      CREATE TABLE used_ids (
        namespace TEXT NOT NULL,
        id TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (namespace, id)
      );
      CREATE INDEX used_ids_expires ON used_ids (expires_at);
      CREATE TABLE audit_events (
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX audit_events_at ON audit_events (at, id);
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL
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
      ALTER TABLE clients ADD COLUMN previous_secret_expires_at BIGINT;
      ALTER TABLE clients ADD COLUMN updated_at BIGINT;
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
        email_verified BOOLEAN NOT NULL,
        disabled BOOLEAN NOT NULL,
        claims TEXT NOT NULL,
        password_hash TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE UNIQUE INDEX users_email ON users (email_key);
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL,
        auth_time BIGINT NOT NULL,
        amr TEXT NOT NULL,
        acr TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        idle_expires_at BIGINT NOT NULL,
        absolute_expires_at BIGINT NOT NULL
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
        auth_time BIGINT NOT NULL,
        amr TEXT NOT NULL,
        acr TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        access_token_jti TEXT,
        access_token_expires_at BIGINT,
        refresh_family_id TEXT
      );
      CREATE INDEX auth_codes_expires ON auth_codes (expires_at);
      CREATE TABLE consents (
        user_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, client_id)
      );
      CREATE TABLE pending (
        kind TEXT NOT NULL CHECK (kind IN ('par', 'interaction', 'set_password')),
        hash TEXT NOT NULL,
        owner TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (kind, hash)
      );
      CREATE INDEX pending_expires ON pending (expires_at);
      ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE clients ADD COLUMN first_party BOOLEAN NOT NULL DEFAULT false;
      ALTER TABLE clients ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT false;
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
      ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT false;
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
    // sessions and codes (existing ones were password sign-ins: `local`). The CHECK on pending kinds goes, as
    // in SQLite (where it cannot be altered): the application's PendingKind type is the list of kinds.
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
        created_at BIGINT NOT NULL
      );
      CREATE TABLE identity_links (
        provider_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        user_id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (provider_id, subject)
      );
      CREATE INDEX identity_links_user ON identity_links (user_id);
      ALTER TABLE sessions ADD COLUMN idp TEXT NOT NULL DEFAULT 'local';
      ALTER TABLE auth_codes ADD COLUMN idp TEXT NOT NULL DEFAULT 'local';
      ALTER TABLE pending DROP CONSTRAINT IF EXISTS pending_kind_check;
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
        counter BIGINT NOT NULL,
        transports TEXT NOT NULL,
        backed_up BOOLEAN NOT NULL,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT
      );
      CREATE INDEX passkeys_user ON passkeys (user_id);
    `,
  },
];

/**
 * Applies the missing steps on `client` and returns their names. A session advisory lock (one per schema)
 * serialises this across every process: when N instances start together, one applies the steps and the
 * others wait, then find them recorded. Without it two could both read "not applied" and race their
 * `CREATE TABLE`s (even `IF NOT EXISTS` fails with a unique violation when two run at once).
 */
export async function migratePostgres(
  client: PoolClient,
  schema: string | undefined,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<string[]> {
  const lockName = `tessera:migrate:${schema ?? ''}`;
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockName]);
  try {
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    const newest = Math.max(0, ...migrations.map((m) => m.version));
    const ahead = [...done].find((v) => v > newest);
    if (ahead !== undefined) {
      throw new Error(
        `database schema version ${ahead} is newer than this tessera understands (${newest}); upgrade tessera`,
      );
    }
    const applied: string[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      // Each step and its record commit together: a crash mid-step leaves neither.
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          Date.now(),
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
      applied.push(m.name);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockName]).catch(() => {});
  }
}
