/**
 * Tests must not write into a developer's own PostgreSQL or Redis data by default (issue 13): without
 * TESSERA_TEST_PG_URL they use a database `tessera_test`, created when it is missing, and without
 * TESSERA_TEST_REDIS_URL Redis database 15.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createRedisRevocationTransport } from '@tessera/jwt';
import { ensureDatabase, pgUrl, redisUrl } from './helpers/services.js';

// The URLs CI or the developer chose, read before this file clears them to look at the defaults.
const configuredPg = await pgUrl();

async function withDefaults<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  delete process.env.TESSERA_TEST_PG_URL;
  delete process.env.TESSERA_TEST_REDIS_URL;
  delete process.env.CI; // the defaults apply outside CI only; under CI the URLs must be set
  try {
    return await fn();
  } finally {
    process.env = saved;
  }
}

describe('test service defaults', () => {
  it('without TESSERA_TEST_PG_URL the tests use a database of their own, never the default ones', async (t) => {
    const url = await withDefaults(() => pgUrl());
    // Deliberate: this checks the defaults on a developer's machine; under CI=true a missing PostgreSQL has
    // already failed the file above (`configuredPg`).
    if (url === undefined) return t.skip('nothing listens on 127.0.0.1:5432');
    const db = new URL(url).pathname.slice(1);
    assert.ok(!['', 'postgres', 'test', 'template1'].includes(db), `default test database "${db}"`);
    assert.match(db, /test/);
    // pgUrl() created it if it was missing: connecting works.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    await client.end();
    assert.equal(rows[0]!.db, db);
  });

  it('without TESSERA_TEST_REDIS_URL the tests use a Redis database other than 0', async (t) => {
    const url = await withDefaults(() => redisUrl());
    // Deliberate, as above: under CI=true a missing Redis fails every Redis test elsewhere (redisUrl() throws).
    if (url === undefined) return t.skip('nothing listens on 127.0.0.1:6379');
    const db = Number(new URL(url).pathname.slice(1) || '0');
    assert.ok(Number.isInteger(db) && db > 0, `default Redis database ${db}`);
    // A key written through the test URL is not in database 0, where a developer's own data lives.
    const key = `tessera_test:${randomBytes(6).toString('hex')}`;
    const test = new Redis(url, { lazyConnect: true });
    const zero = new Redis(Object.assign(new URL(url), { pathname: '/0' }).toString(), { lazyConnect: true });
    await Promise.all([test.connect(), zero.connect()]);
    try {
      await test.set(key, '1', 'EX', 30);
      assert.equal(await zero.get(key), null);
      assert.equal(await test.get(key), '1');
    } finally {
      await test.del(key);
      test.disconnect();
      zero.disconnect();
    }
  });

  it("the SDK's Redis transport takes a URL with a database number (pub/sub is not per database)", () => {
    // No SELECT needed: Redis delivers a PUBLISH to subscribers of every database.
    const transport = createRedisRevocationTransport({ url: 'redis://127.0.0.1:6379/15' });
    assert.equal(typeof transport.subscribe, 'function');
  });
});

describe('ensureDatabase', { skip: configuredPg === undefined && 'PostgreSQL not reachable' }, () => {
  const created: string[] = [];
  after(async () => {
    const admin = new pg.Client({
      connectionString: Object.assign(new URL(configuredPg!), { pathname: '/postgres' }).toString(),
    });
    await admin.connect();
    for (const name of created) await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
    await admin.end();
  });

  it('creates a missing database through the postgres maintenance database, once, even when racing', async () => {
    const name = `tessera_test_${randomBytes(4).toString('hex')}`;
    created.push(name);
    const url = Object.assign(new URL(configuredPg!), { pathname: `/${name}` }).toString();
    await Promise.all([ensureDatabase(url), ensureDatabase(url), ensureDatabase(url)]);
    await ensureDatabase(url); // exists now: nothing to do
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    await client.end();
    assert.equal(rows[0]!.db, name);
  });
});
