import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { openSQLiteStore } from '../../src/store/sqlite.js';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS, migrateSQLite } from '../../src/store/sqlite-schema.js';
import { clientToRow, familyToRow, sessionToRow } from '../../src/store/rows.js';
import {
  clientFixture,
  familyFixture,
  pendingFixture,
  runStoreContract,
  sessionFixture,
  tokenFixture,
  userFixture,
} from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(dir, `store-${++n}.db`);

runStoreContract('sqlite', () => openSQLiteStore({ path: freshPath() }));

describe('sqlite: CLI and server on one file', () => {
  it('creates the file owner-only and applies migrations once', async () => {
    const path = freshPath();
    const applied: string[][] = [];
    const first = await openSQLiteStore({ path, onMigrationsApplied: (names) => applied.push(names) });
    const second = await openSQLiteStore({ path, onMigrationsApplied: (names) => applied.push(names) });
    assert.deepEqual(applied, [SQLITE_MIGRATIONS.map((m) => m.name), []]);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await first.close();
    await second.close();
  });

  it('upgrading a version-1 database keeps its clients, with no introspection permission (docs/oauth.md)', async () => {
    const path = freshPath();
    const v1 = new Database(path);
    migrateSQLite(v1, SQLITE_MIGRATIONS.slice(0, 1));
    // A client as the version-1 schema stored it: only its columns.
    const legacy = clientToRow(clientFixture('orders-api', { audience: ['orders-api'] }));
    const columns = (v1.prepare('PRAGMA table_info(clients)').all() as { name: string }[]).map((c) => c.name);
    const row = Object.fromEntries(columns.map((c) => [c, legacy[c]]));
    v1.prepare(
      `INSERT INTO clients (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`,
    ).run(row);
    v1.close();
    const applied: string[][] = [];
    const store = await openSQLiteStore({ path, onMigrationsApplied: (names) => applied.push(names) });
    try {
      assert.deepEqual(applied, [SQLITE_MIGRATIONS.slice(1).map((m) => m.name)]);
      assert.deepEqual(
        await store.getClient('orders-api'),
        clientFixture('orders-api', { audience: ['orders-api'] }),
      );
    } finally {
      await store.close();
    }
  });

  it('upgrading a version-2 database (before sign-in) keeps its clients and families and adds the sign-in tables', async () => {
    const path = freshPath();
    const v2 = new Database(path);
    migrateSQLite(v2, SQLITE_MIGRATIONS.slice(0, 2));
    // Rows as the version-2 schema stored them: only its columns.
    const insertLegacy = (table: string, full: Record<string, unknown>) => {
      const columns = (v2.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map(
        (c) => c.name,
      );
      v2.prepare(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`,
      ).run(Object.fromEntries(columns.map((c) => [c, full[c]])));
    };
    insertLegacy('clients', clientToRow(clientFixture('web', { redirectUris: ['https://app.example/cb'] })));
    insertLegacy('refresh_families', familyToRow(familyFixture('f1')));
    v2.close();
    const applied: string[][] = [];
    const store = await openSQLiteStore({ path, onMigrationsApplied: (names) => applied.push(names) });
    try {
      assert.deepEqual(applied, [SQLITE_MIGRATIONS.filter((m) => m.version > 2).map((m) => m.name)]);
      // Not first-party (consent is asked), no PAR requirement, no logout redirects: the safe defaults.
      assert.deepEqual(
        await store.getClient('web'),
        clientFixture('web', { redirectUris: ['https://app.example/cb'] }),
      );
      assert.deepEqual(await store.getFamily('f1'), familyFixture('f1'));
      assert.deepEqual(await store.revokeFamilies({ userId: 'u1' }, 'user_deleted', 1), []);
      await store.createUser(userFixture('u1'));
      await store.createSession(sessionFixture('s1'));
      assert.equal((await store.getUserByEmail('U1@example.com'))?.id, 'u1');
      assert.ok(await store.getSession('s1'));
    } finally {
      await store.close();
    }
  });

  it('upgrading a version-3 database adds the dpop (4) and exchange (5) steps: no exchange rights, DPoP allowed; a step missing below an applied one still applies, once', async () => {
    const path = freshPath();
    const v3 = new Database(path);
    migrateSQLite(v3, SQLITE_MIGRATIONS.slice(0, 3));
    const legacy = clientToRow(clientFixture('svc'));
    const columns = (v3.prepare('PRAGMA table_info(clients)').all() as { name: string }[]).map((c) => c.name);
    v3.prepare(
      `INSERT INTO clients (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`,
    ).run(Object.fromEntries(columns.map((c) => [c, legacy[c]])));
    // A build with the exchange step but not yet the DPoP step (4), as when the branches land apart.
    const upTo5 = SQLITE_MIGRATIONS.filter((m) => m.version <= 5);
    const withGap = upTo5.filter((m) => m.version !== 4);
    assert.deepEqual(migrateSQLite(v3, withGap), ['exchange']);
    // Numbers may have gaps: a step numbered below one already applied is still applied, once.
    assert.deepEqual(migrateSQLite(v3, upTo5), ['dpop']);
    assert.deepEqual(
      migrateSQLite(v3),
      SQLITE_MIGRATIONS.filter((m) => m.version > 5).map((m) => m.name),
    );
    assert.deepEqual(migrateSQLite(v3), []);
    v3.close();
    const store = await openSQLiteStore({ path });
    try {
      const client = await store.getClient('svc');
      assert.deepEqual(client?.exchangeAudiences, []);
      assert.deepEqual(client?.exchangeTrustIssuers, []);
      assert.equal(client?.dpopBoundAccessTokens, false);
    } finally {
      await store.close();
    }
  });

  it('upgrading a version-5 database adds federation (6) and passkeys (7): pending rows survive the table rebuild, old sessions read idp local, the new pending kinds are admitted', async () => {
    const path = freshPath();
    const v5 = new Database(path);
    migrateSQLite(
      v5,
      SQLITE_MIGRATIONS.filter((m) => m.version <= 5),
    );
    v5.prepare(
      "INSERT INTO pending (kind, hash, owner, data, created_at, expires_at) VALUES ('interaction', 'h1', 'web', '{}', 1, 9999999999999)",
    ).run();
    // Before the rebuild, the CHECK on kinds refuses a kind it does not list.
    assert.throws(() =>
      v5
        .prepare(
          "INSERT INTO pending (kind, hash, owner, data, created_at, expires_at) VALUES ('passkey_link', 'h', 'u1', '{}', 1, 2)",
        )
        .run(),
    );
    const session = sessionToRow(sessionFixture('s1'));
    delete session.idp;
    v5.prepare(
      `INSERT INTO sessions (${Object.keys(session).join(', ')}) VALUES (${Object.keys(session)
        .map((c) => '@' + c)
        .join(', ')})`,
    ).run(session);
    assert.deepEqual(migrateSQLite(v5), ['federation', 'passkeys']);
    v5.close();
    const store = await openSQLiteStore({ path });
    try {
      assert.equal((await store.takePending('interaction', 'h1', 2))?.owner, 'web');
      assert.equal((await store.getSession('s1'))?.idp, 'local');
      for (const kind of ['idp_signin', 'passkey_link'] as const) {
        await store.insertPending({ ...pendingFixture(kind), kind });
        assert.ok(await store.getPending(kind, kind, 1));
      }
      assert.equal(await store.purgePending(0), 0, 'the expiry index answers');
    } finally {
      await store.close();
    }
  });

  it("two connections see each other's writes", async () => {
    const path = freshPath();
    const server = await openSQLiteStore({ path });
    const cli = await openSQLiteStore({ path });
    try {
      await cli.createFamily(familyFixture('f1'), tokenFixture('h1', 'f1'));
      assert.deepEqual(await server.getFamily('f1'), familyFixture('f1'));
      assert.equal(await server.revokeFamily('f1', 'logout', 1), true);
      assert.equal((await cli.getFamily('f1'))?.revokedReason, 'logout');
      const seq = (await cli.addRevocation({ kind: 'jti', value: 'j', expiresAt: 10, revokedAt: 1 })).seq;
      assert.equal(await server.latestRevocationSeq(), seq);
    } finally {
      await server.close();
      await cli.close();
    }
  });

  it('concurrent rotation across two connections has exactly one winner', async () => {
    const path = freshPath();
    const a = await openSQLiteStore({ path });
    const b = await openSQLiteStore({ path });
    try {
      await a.createFamily(familyFixture('f1'), tokenFixture('h0', 'f1'));
      const next = (hash: string) => ({ hash, createdAt: 1, expiresAt: 2, usedAt: null });
      const results = await Promise.all([
        a.rotateRefreshToken('h0', next('via-a'), 1),
        b.rotateRefreshToken('h0', next('via-b'), 1),
      ]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['reused', 'rotated']);
      assert.equal((await a.listFamilyTokens('f1')).length, 2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('racing processes (worker threads) opening and rotating on one file: one migration, one winner', async () => {
    const path = freshPath();
    const workers = 4;
    const script = new URL('./sqlite-race-worker.js', import.meta.url);
    const shared = new Int32Array(new SharedArrayBuffer(4));
    const outcomes = await Promise.all(
      Array.from(
        { length: workers },
        (_, i) =>
          new Promise<{ applied: string[]; status: string }>((resolve, reject) => {
            const worker = new Worker(script, { workerData: { path, index: i, workers, shared } });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    assert.deepEqual(
      outcomes.flatMap((o) => o.applied),
      SQLITE_MIGRATIONS.map((m) => m.name),
      'migrations applied exactly once in total',
    );
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['reused', 'reused', 'reused', 'rotated']);
  });
});
