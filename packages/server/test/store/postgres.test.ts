import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres.js';
import { POSTGRES_MIGRATIONS, migratePostgres } from '../../src/store/postgres-schema.js';
import { clientToRow, familyToRow, insertSQL } from '../../src/store/rows.js';
import { StoreUnavailableError, type Store } from '../../src/store/types.js';
import { dropPgSchemas, pgUrl, randomSchema } from '../helpers/services.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { clientFixture, familyFixture, runStoreContract, sessionFixture, userFixture } from './contract.js';

// Throws under CI=true when PostgreSQL is missing (the file fails); outside CI undefined means skip.
const url = await pgUrl();

if (url === undefined) {
  it('postgres store', { skip: 'PostgreSQL not reachable (see the message above)' }, () => {});
} else {
  const schemas = new Set<string>();
  const openFresh = (schema = randomSchema(), extra: { applicationName?: string } = {}): Promise<Store> => {
    schemas.add(schema);
    return openPostgresStore({ url, schema, poolSize: 4, ...extra });
  };
  after(() => dropPgSchemas(url, schemas));

  runStoreContract('postgres', () => openFresh());

  describe('postgres: instances, schemas and outages', () => {
    it('3 stores opening one fresh schema together apply the migrations exactly once', async () => {
      const schema = randomSchema();
      schemas.add(schema);
      const applied: string[][] = [];
      const stores = await Promise.all(
        [1, 2, 3].map(() =>
          openPostgresStore({ url, schema, onMigrationsApplied: (names) => applied.push(names) }),
        ),
      );
      try {
        assert.deepEqual(
          applied.flat(),
          POSTGRES_MIGRATIONS.map((m) => m.name),
        );
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
        await admin.end();
        assert.equal(rows[0].n, POSTGRES_MIGRATIONS.length);
        // And they share state: a client created through one is seen by the others.
        await stores[0]!.createClient(clientFixture('web'));
        assert.ok(await stores[2]!.getClient('web'));
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('upgrading a version-2 schema (before sign-in) keeps its clients and families and adds the sign-in tables', async () => {
      const schema = randomSchema();
      schemas.add(schema);
      const v2 = new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${schema}` });
      try {
        const client = await v2.connect();
        try {
          await migratePostgres(client, schema, POSTGRES_MIGRATIONS.slice(0, 2));
          // Rows as the version-2 schema stored them: only its columns.
          const insertLegacy = async (table: string, full: Record<string, unknown>) => {
            const { rows } = await client.query<{ column_name: string }>(
              'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
              [schema, table],
            );
            const row = Object.fromEntries(rows.map((r) => [r.column_name, full[r.column_name]]));
            await client.query(
              insertSQL(table, row, (i) => `$${i + 1}`),
              Object.values(row),
            );
          };
          await insertLegacy(
            'clients',
            clientToRow(clientFixture('web', { redirectUris: ['https://a.example/cb'] })),
          );
          await insertLegacy('refresh_families', familyToRow(familyFixture('f1')));
        } finally {
          client.release();
        }
      } finally {
        await v2.end();
      }
      const applied: string[][] = [];
      const store = await openPostgresStore({
        url,
        schema,
        onMigrationsApplied: (names) => applied.push(names),
      });
      try {
        assert.deepEqual(applied, [POSTGRES_MIGRATIONS.filter((m) => m.version > 2).map((m) => m.name)]);
        // Not first-party (consent is asked), no PAR requirement, no logout redirects: the safe defaults.
        assert.deepEqual(
          await store.getClient('web'),
          clientFixture('web', { redirectUris: ['https://a.example/cb'] }),
        );
        assert.deepEqual(await store.getFamily('f1'), familyFixture('f1'));
        await store.createUser(userFixture('u1'));
        await store.createSession(sessionFixture('s1'));
        assert.equal((await store.getUserByEmail('U1@example.com'))?.id, 'u1');
        assert.ok(await store.getSession('s1'));
      } finally {
        await store.close();
      }
    });

    it('keeps schemas apart', async () => {
      const a = await openFresh();
      const b = await openFresh();
      try {
        await a.createClient(clientFixture('web'));
        assert.equal(await b.getClient('web'), undefined);
        await b.createClient(clientFixture('web')); // no conflict across schemas
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('rejects an unsafe schema name', async () => {
      await assert.rejects(
        openPostgresStore({ url, schema: 'x"; DROP TABLE keys; --' }),
        /invalid schema name/,
      );
    });

    it('an unreachable server is StoreUnavailableError', async () => {
      const dead = new URL(url);
      dead.port = '1';
      await assert.rejects(openPostgresStore({ url: dead.toString() }), StoreUnavailableError);
    });

    it('while PostgreSQL is down requests fail with StoreUnavailableError, and succeed once it is back', async () => {
      const target = new URL(url);
      const proxy = await startTcpProxy(target.hostname, Number(target.port) || 5432);
      const viaProxy = new URL(url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const schema = randomSchema();
      schemas.add(schema);
      const store = await openPostgresStore({ url: viaProxy.toString(), schema, poolSize: 3 });
      try {
        await store.createClient(clientFixture('before'));
        await proxy.down(); // pooled connections cut, new ones refused: as during a restart
        await assert.rejects(store.getClient('before'), StoreUnavailableError);
        await assert.rejects(store.createClient(clientFixture('during')), StoreUnavailableError);
        await assert.rejects(
          store.rotateRefreshToken('x', { hash: 'y', createdAt: 0, expiresAt: 1, usedAt: null }, 0),
          StoreUnavailableError,
        );
        await assert.rejects(store.ping(), StoreUnavailableError);
        await proxy.up();
        // The pool opens fresh connections; nothing was half-written while it was down.
        assert.ok(await store.getClient('before'));
        assert.equal(await store.getClient('during'), undefined);
        await store.createClient(clientFixture('after'));
        await store.ping();
      } finally {
        await store.close();
        await proxy.close();
      }
    });

    it('survives its connections being killed (as in a PostgreSQL restart): later requests succeed', async () => {
      const applicationName = `tessera_test_${randomBytes(4).toString('hex')}`;
      const store = await openFresh(randomSchema(), { applicationName });
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await Promise.all([store.ping(), store.ping(), store.ping()]); // several pooled connections
        const killed = await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        );
        assert.ok(killed.rowCount! >= 1, 'the test must actually kill connections');
        // While the pool notices, a request may fail, but only as StoreUnavailableError (HTTP 503).
        let ok = false;
        for (let attempt = 0; attempt < 20 && !ok; attempt++) {
          try {
            await store.createClient(clientFixture(`c${attempt}`));
            ok = true;
          } catch (err) {
            assert.ok(err instanceof StoreUnavailableError, `unexpected error: ${String(err)}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        assert.ok(ok, 'the store recovered');
        await store.ping();
      } finally {
        await admin.end();
        await store.close();
      }
    });
  });
}
