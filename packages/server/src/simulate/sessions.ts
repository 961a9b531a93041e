/**
 * The session stores behind session-redis and session-sql: Redis under a random key prefix, SQLite in a
 * temporary directory or a throw-away PostgreSQL schema. Everything written is removed at close.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { openRedisClient } from '../store/redis-ephemeral.js';

/** A session row: the subject, its expiry (s) and the claims a JWT would have carried. */
export interface SessionRecord {
  sub: string;
  exp: number;
  claims: Record<string, unknown>;
}

/** A session store shared by the two session strategies' set-up and the revocation scenario. */
export interface SessionStore {
  put(id: string, record: SessionRecord): Promise<void>;
  putMany(entries: ReadonlyArray<[string, SessionRecord]>): Promise<void>;
  delete(id: string): Promise<void>;
}

/** Sessions in Redis under a random key prefix. */
export interface RedisSessions extends SessionStore {
  redis: Redis;
  prefix: string;
  close(): Promise<void>;
}

/** Redis sessions under a random key prefix; every key written is deleted at close. */
export async function openRedisSessions(url: string): Promise<RedisSessions> {
  const redis = await openRedisClient(url, { commandTimeout: 2000 });
  const prefix = `tessera-sim:${randomBytes(6).toString('hex')}:`;
  const ttl = (r: SessionRecord) => Math.max(1, r.exp - Math.floor(Date.now() / 1000));
  return {
    redis,
    prefix,
    async put(id, record) {
      await redis.set(prefix + id, JSON.stringify(record), 'EX', ttl(record));
    },
    async putMany(entries) {
      for (let i = 0; i < entries.length; i += 500) {
        const pipe = redis.pipeline();
        for (const [id, r] of entries.slice(i, i + 500))
          pipe.set(prefix + id, JSON.stringify(r), 'EX', ttl(r));
        await pipe.exec();
      }
    },
    async delete(id) {
      await redis.del(prefix + id);
    },
    async close() {
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** Sessions in SQLite or PostgreSQL. */
export interface SQLSessions extends SessionStore {
  engine: 'sqlite' | 'postgresql';
  get(id: string): Promise<SessionRecord | undefined>;
  close(): Promise<void>;
}

/** SQL sessions: SQLite in a temp dir, or a throw-away schema in PostgreSQL. */
export async function openSQLSessions(postgresUrl: string | undefined): Promise<SQLSessions> {
  if (postgresUrl === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-sim-sql-'));
    const db = new Database(join(dir, 'sessions.db'));
    db.pragma('journal_mode = WAL');
    db.exec(
      'CREATE TABLE sessions (id TEXT PRIMARY KEY, sub TEXT NOT NULL, exp INTEGER NOT NULL, claims TEXT NOT NULL) WITHOUT ROWID',
    );
    const select = db.prepare<[string], { sub: string; exp: number; claims: string }>(
      'SELECT sub, exp, claims FROM sessions WHERE id = ?',
    );
    const insert = db.prepare('INSERT OR REPLACE INTO sessions (id, sub, exp, claims) VALUES (?, ?, ?, ?)');
    const remove = db.prepare('DELETE FROM sessions WHERE id = ?');
    const many = db.transaction((entries: ReadonlyArray<[string, SessionRecord]>) => {
      for (const [id, r] of entries) insert.run(id, r.sub, r.exp, JSON.stringify(r.claims));
    });
    return {
      engine: 'sqlite',
      async get(id) {
        const row = select.get(id);
        return (
          row && { sub: row.sub, exp: row.exp, claims: JSON.parse(row.claims) as Record<string, unknown> }
        );
      },
      async put(id, r) {
        insert.run(id, r.sub, r.exp, JSON.stringify(r.claims));
      },
      async putMany(entries) {
        many(entries);
      },
      async delete(id) {
        remove.run(id);
      },
      async close() {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `tessera_sim_${randomBytes(6).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 16, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {});
  try {
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(
      `CREATE TABLE ${schema}.sessions (id TEXT PRIMARY KEY, sub TEXT NOT NULL, exp BIGINT NOT NULL, claims TEXT NOT NULL)`,
    );
  } catch (err) {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw err;
  }
  const select = {
    name: `${schema}-get`,
    text: `SELECT sub, exp, claims FROM ${schema}.sessions WHERE id = $1`,
  };
  const insertSQL = `INSERT INTO ${schema}.sessions (id, sub, exp, claims) VALUES ($1, $2, $3, $4)
    ON CONFLICT (id) DO UPDATE SET sub = EXCLUDED.sub, exp = EXCLUDED.exp, claims = EXCLUDED.claims`;
  return {
    engine: 'postgresql',
    async get(id) {
      const { rows } = await pool.query<{ sub: string; exp: string; claims: string }>({
        ...select,
        values: [id],
      });
      const row = rows[0];
      return (
        row && {
          sub: row.sub,
          exp: Number(row.exp),
          claims: JSON.parse(row.claims) as Record<string, unknown>,
        }
      );
    },
    async put(id, r) {
      await pool.query(insertSQL, [id, r.sub, r.exp, JSON.stringify(r.claims)]);
    },
    async putMany(entries) {
      for (let i = 0; i < entries.length; i += 500) {
        const chunk = entries.slice(i, i + 500);
        const values: unknown[] = [];
        const rows = chunk.map(([id, r], j) => {
          values.push(id, r.sub, r.exp, JSON.stringify(r.claims));
          return `($${j * 4 + 1}, $${j * 4 + 2}, $${j * 4 + 3}, $${j * 4 + 4})`;
        });
        await pool.query(
          `INSERT INTO ${schema}.sessions (id, sub, exp, claims) VALUES ${rows.join(', ')}
           ON CONFLICT (id) DO UPDATE SET sub = EXCLUDED.sub, exp = EXCLUDED.exp, claims = EXCLUDED.claims`,
          values,
        );
      }
    },
    async delete(id) {
      await pool.query(`DELETE FROM ${schema}.sessions WHERE id = $1`, [id]);
    },
    async close() {
      try {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await pool.end();
      }
    },
  };
}
