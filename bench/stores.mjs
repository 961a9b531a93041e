// Section 4 (issue 5): token endpoint requests/s with SQLite vs PostgreSQL, and 1 vs 3 `tessera serve`
// instances sharing one store (one autocannon child given all instance URLs: its connections are spread
// round-robin across them).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runLoad } from './lib/procs.mjs';
import { fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';
import { createBenchClient, startTessera, tempDataDir } from './lib/tessera-server.mjs';

const PG_URL = process.env.TESSERA_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const CONNECTIONS = 48; // a multiple of 3, so three instances get 16 connections each
const FORM = 'application/x-www-form-urlencoded';

async function pgReachable() {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function dropSchema(schema) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end().catch(() => {});
  }
}

async function runSetup(label, storeArgs, instances, duration) {
  const servers = [];
  try {
    for (let i = 0; i < instances; i++) servers.push(await startTessera(storeArgs.serve));
    const client = storeArgs.client;
    for (const s of servers) {
      const r = await fetch(`${s.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: client.basic, 'content-type': FORM },
        body: 'grant_type=client_credentials',
      });
      assert.equal(r.status, 200, `${label}: ${await r.text()}`);
      await r.arrayBuffer().catch(() => {});
    }
    const opts = {
      url: servers.map((s) => `${s.url}/oauth/token`),
      method: 'POST',
      headers: { authorization: client.basic, 'content-type': FORM },
      body: 'grant_type=client_credentials',
      connections: CONNECTIONS,
    };
    if (duration > 1) await runLoad({ ...opts, duration: 1 });
    const r = await runLoad({ ...opts, duration });
    process.stderr.write(`  stores section: ${label} done\n`);
    return {
      setup: label,
      instances,
      requestsPerSec: r.requestsPerSec,
      p50: r.p50,
      p99: r.p99,
      non2xx: r.non2xx,
      errors: r.errors + (r.timeouts ?? 0),
    };
  } finally {
    for (const s of servers) await s.stop();
  }
}

/** Run section 4 and return `{ rows, markdown }` (or a skip note). */
export async function runStoresSection({ quick }) {
  const built = new URL('../packages/server/dist/src/store/postgres.js', import.meta.url);
  if (!existsSync(built))
    return {
      skipped: 'no PostgreSQL store (packages/server/dist/src/store/postgres.js)',
      markdown: '### Stores: skipped (no PostgreSQL store in this build)',
    };
  if (!(await pgReachable()))
    return {
      skipped: `PostgreSQL not reachable at ${PG_URL}`,
      markdown: `### Stores: skipped (PostgreSQL not reachable at ${PG_URL})`,
    };
  const duration = quick ? 1 : 5;
  const data = tempDataDir();
  const schema = `tessera_bench_${process.pid}_${Date.now()}`;
  const pgStore = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  const rows = [];
  try {
    const sqliteArgs = ['--data-dir', data.dir];
    const pgArgs = ['--data-dir', data.dir, '--store', pgStore];
    const sqliteClient = await createBenchClient(sqliteArgs, {
      id: 'bench-sqlite',
      audience: 'https://orders.example',
      scope: 'orders:read',
    });
    const pgClient = await createBenchClient(pgArgs, {
      id: 'bench-pg',
      audience: 'https://orders.example',
      scope: 'orders:read',
    });
    const setups = [
      ['SQLite, 1 instance', { serve: sqliteArgs, client: sqliteClient }, 1],
      ['PostgreSQL, 1 instance', { serve: pgArgs, client: pgClient }, 1],
      ['SQLite, 3 instances', { serve: sqliteArgs, client: sqliteClient }, 3],
      ['PostgreSQL, 3 instances', { serve: pgArgs, client: pgClient }, 3],
    ];
    for (const [label, args, n] of setups) rows.push(await runSetup(label, args, n, duration));
  } finally {
    data.remove();
    await dropSchema(schema).catch((err) =>
      process.stderr.write(`  could not drop schema ${schema}: ${err.message}\n`),
    );
  }
  const base = rows[0].requestsPerSec;
  const md = [
    `### Stores and instances: client_credentials tokens/s (autocannon child, ${CONNECTIONS} connections spread round-robin over the instances, ${duration} s after a 1 s warm-up, rate limits off, no Redis)`,
    '',
    markdownTable(
      ['setup', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', '× SQLite 1 instance'],
      rows.map((r) => [
        r.setup,
        fmtOps(r.requestsPerSec),
        r.p50,
        r.p99,
        r.non2xx,
        r.errors,
        fmtRatio(r.requestsPerSec / base),
      ]),
    ),
  ];
  return { duration, connections: CONNECTIONS, rows, markdown: md.join('\n') };
}
