/**
 * Which real services (PostgreSQL, Redis) tests may use. The rule: with `CI=true` a missing service is a test
 * FAILURE (these functions throw, which fails the test file), never a silent skip; outside CI the test may
 * skip, with a loud message on stderr.
 *
 * @example
 * const url = await pgUrl();
 * describe('postgres store', { skip: url === undefined && 'PostgreSQL not reachable' }, () => { … });
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** TESSERA_TEST_PG_URL if PostgreSQL answers there (default URL allowed outside CI), else undefined. */
export function pgUrl(): Promise<string | undefined> {
  return serviceUrl('PostgreSQL', 'TESSERA_TEST_PG_URL', DEFAULT_PG_URL, 5432);
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
