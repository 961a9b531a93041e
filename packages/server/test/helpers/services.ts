/**
 * Which real services (PostgreSQL, Redis) tests may use. The rule: with `CI=true` a missing service is a test
 * FAILURE (these functions throw, which fails the test file), never a silent skip; outside CI the test may
 * skip, with a loud message on stderr.
 *
 * By default tests never write into a developer's own data: PostgreSQL database `tessera_test` (created through
 * the `postgres` maintenance database when it is missing) and Redis database 15. Redis pub/sub channels are
 * not per database, so tests that subscribe use channel names of their own.
 *
 * @example
 * const url = await pgUrl();
 * describe('postgres store', { skip: url === undefined && 'PostgreSQL not reachable' }, () => { … });
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';

/** Where tests write when TESSERA_TEST_PG_URL is unset: a database of their own, never `postgres`. */
export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/tessera_test';
/** Where tests write when TESSERA_TEST_REDIS_URL is unset: database 15, not the default database 0. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/15';

/**
 * TESSERA_TEST_PG_URL if PostgreSQL answers there (default URL allowed outside CI), else undefined. The
 * database in the URL is created when it does not exist yet.
 */
export async function pgUrl(): Promise<string | undefined> {
  const url = await serviceUrl('PostgreSQL', 'TESSERA_TEST_PG_URL', DEFAULT_PG_URL, 5432);
  if (url !== undefined) await ensureDatabase(url);
  return url;
}

/**
 * Create the URL's database through the `postgres` maintenance database unless it exists. Two test files
 * racing to create it is fine: the loser sees `duplicate_database` (42P04) or the catalog's unique violation
 * (23505) and goes on.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (name === '') return; // the server's default database (the user's name) exists by definition
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenance.toString() });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await admin.end();
  }
}

/** TESSERA_TEST_REDIS_URL if Redis answers there (default URL allowed outside CI), else undefined. */
export function redisUrl(): Promise<string | undefined> {
  return serviceUrl('Redis', 'TESSERA_TEST_REDIS_URL', DEFAULT_REDIS_URL, 6379);
}

/** A fresh schema name, so concurrently running test files never share tables. */
export function randomSchema(): string {
  return `tessera_test_${randomBytes(6).toString('hex')}`;
}

/** Drops test schemas (call from `after`), so runs do not leave `tessera_test_*` schemas behind. */
export async function dropPgSchemas(url: string, schemas: Iterable<string>): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    for (const schema of schemas)
      await admin.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await admin.end();
  }
}

/**
 * The `--redis-prefix` of every server a test starts with Redis, and so of the channels its verifiers
 * subscribe to: pub/sub channels are shared by all Redis databases, so database 15 alone would still let
 * test servers publish revocations on a developer's own `tessera:revocations`.
 */
export const TEST_REDIS_PREFIX = 'tessera_test:';
/** The flags that point a test's `tessera` process at Redis: always with TEST_REDIS_PREFIX. */
export function testRedisArgs(url: string): string[] {
  return ['--redis', url, '--redis-prefix', TEST_REDIS_PREFIX];
}
/** The revocation channel of servers started with TEST_REDIS_PREFIX. */
export const TEST_REVOCATION_CHANNEL = `${TEST_REDIS_PREFIX}revocations`;

/** A fresh Redis key prefix, for the same reason. */
export function randomPrefix(): string {
  return `tessera_test:${randomBytes(6).toString('hex')}:`;
}

const inCI = (): boolean => process.env.CI === 'true';

async function serviceUrl(name: string, envVar: string, fallback: string, defaultPort: number) {
  const fromEnv = process.env[envVar];
  if (!fromEnv && inCI()) throw new Error(`CI=true but ${envVar} is not set: ${name} tests cannot run`);
  const url = fromEnv || fallback;
  const { hostname, port } = new URL(url);
  const reachable = await canConnect(hostname || '127.0.0.1', Number(port) || defaultPort);
  if (reachable) return url;
  if (inCI()) throw new Error(`CI=true but ${name} is not reachable at ${redact(url)}`);
  process.stderr.write(
    `\n*** SKIPPING ${name} tests: nothing listens at ${redact(url)} (set ${envVar}; in CI this fails) ***\n\n`,
  );
  return undefined;
}

function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
