// Section `proxy` (issue 16): `tessera proxy` with a live session against direct requests to the same
// upstream. Tessera, the upstream app, the proxy and autocannon each run in their own process; 50
// connections, small responses, interleaved rounds. Reported: requests/s of both and their ratio, p50/p99,
// and the per-request overhead in µs (the proxy's CPU time per request, and the difference in wall time
// per request at saturation).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad, runLoadWithCPU, track } from './lib/procs.mjs';
import { fmtGoal, fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';
import { createBenchClient, startTessera, tempDataDir, TESSERA_BIN } from './lib/tessera-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CONNECTIONS = 50;
const SECRET = 'bench-proxy-client-secret-'.padEnd(48, 'x');

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Start a child and resolve to its first stdout line. */
async function firstLine(child) {
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  for await (const chunk of child.stdout) {
    out += chunk;
    if (out.includes('\n')) return out.split('\n')[0];
  }
  throw new Error(`child exited before printing: ${err}`);
}

async function startUpstream() {
  const child = track(
    spawn(process.execPath, [join(here, 'lib', 'proxy-upstream.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const port = Number(await firstLine(child));
  return { url: `http://127.0.0.1:${port}`, child };
}

async function startBareProxy(upstream, authorization) {
  const child = track(
    spawn(process.execPath, [join(here, 'lib', 'bare-proxy.mjs'), upstream, authorization], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const port = Number(await firstLine(child));
  return { url: `http://127.0.0.1:${port}`, child };
}

// TESSERA_BENCH_PROXY_PROF=DIR writes a CPU profile of the proxy process there (node --cpu-prof).
async function startProxyChild(issuer, upstream) {
  const child = track(
    spawn(
      process.execPath,
      [
        ...(process.env.TESSERA_BENCH_PROXY_PROF
          ? ['--cpu-prof', '--cpu-prof-dir', process.env.TESSERA_BENCH_PROXY_PROF]
          : []),
        TESSERA_BIN,
        'proxy',
        '--listen',
        '127.0.0.1:0',
        '--upstream',
        upstream,
        '--issuer',
        issuer,
        '--client-id',
        'gate',
        '--client-secret-stdin',
        '--audience',
        'app',
        '--log-level',
        'warn',
        '--json',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    ),
  );
  child.stdin.end(`${SECRET}\n`);
  const summary = JSON.parse(await firstLine(child));
  return { url: summary.listening, child };
}

/** Run the section and return `{ rows, ratio, markdown }`. */
export async function runProxySection({ quick }) {
  if (!existsSync(new URL('../packages/server/dist/src/proxy/app.js', import.meta.url)))
    return { skipped: true, markdown: '### Proxy: skipped (packages/server not built)' };
  const { createCookieJar } = await import('../packages/server/dist/src/proxy/session.js');
  const duration = quick ? 0.5 : 5;
  const rounds = quick ? 1 : 3;
  const data = tempDataDir();
  const storage = ['--data-dir', data.dir];
  let tessera;
  try {
    const svc = await createBenchClient(storage, { id: 'bench-app', audience: 'app', scope: 'read' });
    tessera = await startTessera(storage);
    const tokenRes = await fetch(`${tessera.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: svc.basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const token = (await tokenRes.json()).access_token;
    assert.equal(typeof token, 'string');
    const upstream = await startUpstream();
    const proxy = await startProxyChild(tessera.url, upstream.url);
    const bare = await startBareProxy(upstream.url, `Bearer ${token}`);
    // A live session: the cookie the proxy would have set after sign-in, holding a valid token for "app".
    const now = Date.now();
    const setCookie = createCookieJar(new URL(proxy.url), SECRET).sessionCookie(
      { accessToken: token, expiresAt: now + 14 * 60_000, createdAt: now },
      now,
    );
    const cookie = setCookie.split(';')[0];
    const check = await fetch(`${proxy.url}/`, { headers: { cookie } });
    assert.equal(check.status, 200, `proxied request answered ${check.status}`);
    await check.arrayBuffer();
    const direct = await fetch(`${upstream.url}/`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(direct.status, 200);
    await direct.arrayBuffer();

    const loads = [
      {
        name: 'direct to the app',
        url: `${upstream.url}/`,
        headers: { authorization: `Bearer ${token}` },
        pids: [upstream.child.pid],
      },
      {
        name: 'through tessera proxy (live session cookie)',
        url: `${proxy.url}/`,
        headers: { cookie },
        pids: [proxy.child.pid],
      },
      {
        name: 'floor: bare node:http + undici proxy, no auth',
        url: `${bare.url}/`,
        headers: {},
        pids: [bare.child.pid],
      },
    ];
    const samples = loads.map(() => []);
    // Warm-up: JIT, the verifier's token cache, the upstream connection pool.
    for (const l of loads)
      await runLoad({ url: l.url, headers: l.headers, connections: CONNECTIONS, duration: quick ? 0.3 : 1 });
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < loads.length; k++) {
        const i = (k + r) % loads.length;
        const l = loads[i];
        samples[i].push(
          await runLoadWithCPU(
            { url: l.url, headers: l.headers, connections: CONNECTIONS, duration },
            l.pids,
          ),
        );
      }
      process.stderr.write(`  proxy section: round ${r + 1}/${rounds} done\n`);
    }
    const rows = loads.map((l, i) => {
      const s = samples[i];
      const sum = (key) => s.reduce((a, x) => a + (x[key] ?? 0), 0);
      return {
        name: l.name,
        requestsPerSec: median(s.map((x) => x.requestsPerSec)),
        rounds: s.map((x) => x.requestsPerSec),
        p50: median(s.map((x) => x.p50)),
        p99: median(s.map((x) => x.p99)),
        cpuMicrosPerRequest: s.every((x) => x.cpuSeconds)
          ? median(s.map((x) => (x.cpuSeconds / x.totalRequests) * 1e6))
          : undefined,
        non2xx: sum('non2xx'),
        errors: sum('errors') + sum('timeouts'),
      };
    });
    const [d, p, floor] = rows;
    const ratio = p.requestsPerSec / d.requestsPerSec;
    const floorRatio = floor.requestsPerSec / d.requestsPerSec;
    const wallOverhead = 1e6 / p.requestsPerSec - 1e6 / d.requestsPerSec;
    const goals = [
      { goal: 'proxied ≥ 0.5× direct requests/s', pass: ratio >= 0.5 },
      { goal: 'proxied p99 < 30 ms', pass: p.p99 < 30 },
      { goal: 'no errors, every answer 2xx', pass: rows.every((r) => r.errors === 0 && r.non2xx === 0) },
    ];
    const md = [
      `### Proxy: \`tessera proxy\` with a live session vs direct to the same upstream (Tessera, app, proxy and autocannon in separate processes; ${CONNECTIONS} connections, ${rounds} interleaved rounds of ${duration} s, medians)`,
      '',
      markdownTable(
        ['path', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'non-2xx', 'errors'],
        rows.map((r) => [
          r.name,
          fmtOps(r.requestsPerSec),
          r.p50,
          r.p99,
          r.cpuMicrosPerRequest?.toFixed(0) ?? 'n/a',
          r.non2xx,
          r.errors,
        ]),
      ),
      '',
      `Proxied/direct: **${fmtRatio(ratio)}** (the bare proxy: ${fmtRatio(floorRatio)}). Per-request overhead: the proxy process spends **${p.cpuMicrosPerRequest?.toFixed(0) ?? 'n/a'} µs of CPU** per request (the app ${d.cpuMicrosPerRequest?.toFixed(0) ?? 'n/a'} µs); at saturation each request costs ${wallOverhead.toFixed(0)} µs more wall time (1/rps proxied − 1/rps direct).`,
      '',
      markdownTable(
        ['goal', 'result'],
        goals.map((g) => [g.goal, fmtGoal(g.pass)]),
      ),
    ];
    return { rows, ratio, floorRatio, wallOverheadMicros: wallOverhead, goals, markdown: md.join('\n') };
  } finally {
    await tessera?.stop();
    data.remove();
  }
}
