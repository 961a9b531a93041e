// Section 4 (issue 5): token endpoint requests/s with SQLite vs PostgreSQL, and 1 vs 3 `tessera serve`
// instances sharing one store (one autocannon child given all instance URLs: its connections are spread
// round-robin across them).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runLoad, runLoadWithCPU } from './lib/procs.mjs';
import { fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';
import { createBenchClient, startTessera, tempDataDir } from './lib/tessera-server.mjs';

const PG_URL = process.env.TESSERA_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const CONNECTIONS = 48; // a multiple of 3, so three instances get 16 connections each
const FORM = 'application/x-www-form-urlencoded';

async function withPG(fn) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

const pgReachable = () => withPG((c) => c.query('select 1').then(() => true)).catch(() => false);
const dropSchema = (schema) => withPG((c) => c.query(`drop schema if exists "${schema}" cascade`));

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function checkToken(url, client, label) {
  const r = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: client.basic, 'content-type': FORM },
    body: 'grant_type=client_credentials',
  });
  assert.equal(r.status, 200, `${label}: ${await r.text()}`);
}

/** Run section 4 and return `{ rows, markdown }` (or a skip note). */
export async function runStoresSection({ quick }) {
  const built = new URL('../packages/server/dist/src/store/postgres.js', import.meta.url);
  if (!existsSync(built)) {
    return {
      skipped: 'no PostgreSQL store',
      markdown: '### Stores: skipped (no PostgreSQL store in this build)',
    };
  }
  if (!(await pgReachable())) {
    return {
      skipped: `PostgreSQL not reachable at ${PG_URL}`,
      markdown: `### Stores: skipped (PostgreSQL not reachable at ${PG_URL})`,
    };
  }
  const duration = quick ? 0.5 : 3;
  const rounds = quick ? 1 : 3;
  const data = tempDataDir();
  // A schema of our own in the shared database: nothing of the tests' state is touched, and it is dropped after.
  const schema = `tessera_bench_${process.pid}_${Date.now()}`;
  const pgStore = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  const servers = [];
  const rows = [];
  try {
    const sqliteArgs = ['--data-dir', data.dir];
    const pgArgs = ['--data-dir', data.dir, '--store', pgStore];
    const clientOptions = { audience: 'https://orders.example', scope: 'orders:read' };
    const sqliteClient = await createBenchClient(sqliteArgs, { id: 'bench-sqlite', ...clientOptions });
    const pgClient = await createBenchClient(pgArgs, { id: 'bench-pg', ...clientOptions });
    // Three instances per store, all listening for the whole section (idle ones cost next to nothing);
    // "1 instance" loads only the first. The setups run in rotated rounds so drift hits all alike.
    // --quick starts one instance per store (startup dominates a smoke run) and skips the 3-instance rows.
    const perStore = quick ? 1 : 3;
    const sqlite = [];
    const pg = [];
    for (let i = 0; i < perStore; i++)
      servers.push(await startTessera(sqliteArgs).then((sv) => (sqlite.push(sv), sv)));
    for (let i = 0; i < perStore; i++)
      servers.push(await startTessera(pgArgs).then((sv) => (pg.push(sv), sv)));
    const setups = [
      { setup: 'SQLite, 1 instance', instances: 1, servers: sqlite.slice(0, 1), client: sqliteClient },
      { setup: 'PostgreSQL, 1 instance', instances: 1, servers: pg.slice(0, 1), client: pgClient },
    ];
    if (perStore === 3) {
      setups.push({ setup: 'SQLite, 3 instances', instances: 3, servers: sqlite, client: sqliteClient });
      setups.push({ setup: 'PostgreSQL, 3 instances', instances: 3, servers: pg, client: pgClient });
    }
    for (const st of setups) {
      for (const sv of st.servers) await checkToken(sv.url, st.client, st.setup);
      st.opts = {
        url: st.servers.map((sv) => `${sv.url}/oauth/token`),
        method: 'POST',
        headers: { authorization: st.client.basic, 'content-type': FORM },
        body: 'grant_type=client_credentials',
        connections: CONNECTIONS,
      };
      st.samples = [];
      if (!quick) await runLoad({ ...st.opts, duration: 1 });
    }
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < setups.length; k++) {
        const st = setups[(k + r) % setups.length];
        st.samples.push(
          await runLoadWithCPU(
            { ...st.opts, duration },
            st.servers.map((sv) => sv.child.pid),
          ),
        );
      }
      process.stderr.write(`  stores section: round ${r + 1}/${rounds} done\n`);
    }
    for (const st of setups) {
      const sum = (k) => st.samples.reduce((a, x) => a + (x[k] ?? 0), 0);
      rows.push({
        setup: st.setup,
        instances: st.instances,
        requestsPerSec: median(st.samples.map((x) => x.requestsPerSec)),
        rounds: st.samples.map((x) => x.requestsPerSec),
        p50: median(st.samples.map((x) => x.p50)),
        p99: median(st.samples.map((x) => x.p99)),
        requestsPerCPUSecond: st.samples.every((x) => x.requestsPerCPUSecond)
          ? median(st.samples.map((x) => x.requestsPerCPUSecond))
          : undefined,
        non2xx: sum('non2xx'),
        errors: sum('errors') + sum('timeouts'),
      });
    }
  } finally {
    for (const sv of servers) await sv.stop();
    data.remove();
    await dropSchema(schema).catch((err) =>
      process.stderr.write(`  could not drop schema ${schema}: ${err.message}\n`),
    );
  }
  const base = rows[0].requestsPerSec;
  const md = [
    `### Stores and instances: client_credentials tokens/s (autocannon child, ${CONNECTIONS} connections spread round-robin over the instances, ${rounds} interleaved rounds of ${duration} s, medians; rate limits off, no Redis)`,
    '',
    markdownTable(
      ['setup', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', '× SQLite 1 instance', 'req/server-CPU-s'],
      rows.map((r) => [
        r.setup,
        fmtOps(r.requestsPerSec),
        r.p50,
        r.p99,
        r.non2xx,
        r.errors,
        fmtRatio(r.requestsPerSec / base),
        fmtOps(r.requestsPerCPUSecond),
      ]),
    ),
  ];
  return { duration, rounds, connections: CONNECTIONS, rows, markdown: md.join('\n') };
}
