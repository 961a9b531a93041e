// Section 3 (issue 4): autocannon against a real `tessera serve` child process on SQLite in a temp data dir:
// client_credentials tokens/s, introspections/s (opaque and JWT), JWKS requests/s; then the same
// client_credentials load, in the same run, against node-oidc-provider as the peer.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runLoad, runLoadWithCPU } from './lib/procs.mjs';
import { fmtGoal, fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';
import {
  createBenchClient,
  startOIDCPeer,
  startTessera,
  tempDataDir,
  TESSERA_BIN,
} from './lib/tessera-server.mjs';

const CONNECTIONS = 50;
const AUDIENCE = 'https://orders.example';
const SCOPE = 'orders:read';
const FORM = 'application/x-www-form-urlencoded';

async function post(url, basic, body) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': FORM },
    body,
  });
  return { status: r.status, json: await r.json() };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// One table row from a load's rounds: medians of req/s and of the percentiles, errors summed.
function summarise(l) {
  const sum = (k) => l.samples.reduce((a, x) => a + (x[k] ?? 0), 0);
  return {
    kind: l.kind,
    name: l.name,
    requestsPerSec: median(l.samples.map((x) => x.requestsPerSec)),
    rounds: l.samples.map((x) => x.requestsPerSec),
    p50: median(l.samples.map((x) => x.p50)),
    p99: median(l.samples.map((x) => x.p99)),
    requestsPerCPUSecond: l.samples.every((x) => x.requestsPerCPUSecond)
      ? median(l.samples.map((x) => x.requestsPerCPUSecond))
      : undefined,
    non2xx: sum('non2xx'),
    errors: sum('errors') + sum('timeouts'),
  };
}

/** Run section 3 and return `{ rows, ratio, markdown }`. */
export async function runHTTPSection({ quick }) {
  if (!existsSync(new URL('../packages/server/dist/src/server/start.js', import.meta.url))) {
    return {
      skipped: true,
      markdown: '### Server: skipped (packages/server/dist/src/server/start.js not built)',
    };
  }
  const duration = quick ? 0.5 : 3;
  const rounds = quick ? 1 : 3;
  const data = tempDataDir();
  const storage = ['--data-dir', data.dir];
  const rows = [];
  let ratio;
  let cpuRatio;
  let server;
  let peer;
  try {
    // bench-jwt also introspects the opaque client's tokens: a resource server's permission (issue 12 #5).
    const jwtClient = await createBenchClient(storage, {
      id: 'bench-jwt',
      audience: AUDIENCE,
      scope: SCOPE,
      introspectAudience: AUDIENCE,
    });
    const opaqueClient = await createBenchClient(storage, {
      id: 'bench-opaque',
      tokenFormat: 'opaque',
      audience: AUDIENCE,
      scope: SCOPE,
    });
    server = await startTessera(storage);
    const tokenURL = `${server.url}/oauth/token`;
    const introspectURL = `${server.url}/oauth/introspect`;
    // Each endpoint works once before any load: a token of each format, each introspected as active.
    const jwt = await post(tokenURL, jwtClient.basic, 'grant_type=client_credentials');
    assert.equal(jwt.status, 200, JSON.stringify(jwt.json));
    assert.equal(jwt.json.access_token.split('.').length, 3);
    const opaque = await post(tokenURL, opaqueClient.basic, 'grant_type=client_credentials');
    assert.equal(opaque.status, 200, JSON.stringify(opaque.json));
    for (const token of [jwt.json.access_token, opaque.json.access_token]) {
      const i = await post(introspectURL, jwtClient.basic, `token=${encodeURIComponent(token)}`);
      assert.equal(i.status, 200);
      assert.equal(i.json.active, true, JSON.stringify(i.json));
    }
    const jwks = await fetch(`${server.url}/.well-known/jwks.json`);
    assert.equal(jwks.status, 200);
    await jwks.arrayBuffer();

    const secret = 'bench-secret-'.padEnd(48, 'x');
    peer = await startOIDCPeer({ clientId: 'bench', clientSecret: secret, audience: AUDIENCE, scope: SCOPE });
    const peerBasic = `Basic ${Buffer.from(`bench:${secret}`).toString('base64')}`;
    const p = await post(`${peer.url}/token`, peerBasic, 'grant_type=client_credentials');
    assert.equal(p.status, 200, JSON.stringify(p.json));
    assert.equal(p.json.access_token.split('.').length, 3);

    const form = (basic, body) => ({
      method: 'POST',
      headers: { authorization: basic, 'content-type': FORM },
      body,
    });
    const loads = [
      {
        kind: 'token',
        pid: server.child.pid,
        name: 'tessera: client_credentials (JWT, client_secret_basic)',
        url: tokenURL,
        ...form(jwtClient.basic, 'grant_type=client_credentials'),
      },
      {
        kind: 'introspect-opaque',
        pid: server.child.pid,
        name: 'tessera: introspection, opaque token',
        url: introspectURL,
        ...form(jwtClient.basic, `token=${encodeURIComponent(opaque.json.access_token)}`),
      },
      {
        kind: 'introspect-jwt',
        pid: server.child.pid,
        name: 'tessera: introspection, JWT token',
        url: introspectURL,
        ...form(jwtClient.basic, `token=${encodeURIComponent(jwt.json.access_token)}`),
      },
      {
        kind: 'jwks',
        pid: server.child.pid,
        name: 'tessera: GET /.well-known/jwks.json',
        url: `${server.url}/.well-known/jwks.json`,
      },
      {
        kind: 'peer-token',
        pid: peer.child.pid,
        name: 'node-oidc-provider: client_credentials (JWT, client_secret_basic)',
        url: `${peer.url}/token`,
        ...form(peerBasic, 'grant_type=client_credentials'),
      },
    ];
    // Both servers listen throughout (an idle one costs nothing); the loads run in rotated rounds so drift
    // on this shared machine hits Tessera and the peer alike.
    for (const l of loads) {
      l.samples = [];
      if (!quick)
        await runLoad({
          url: l.url,
          method: l.method,
          headers: l.headers,
          body: l.body,
          connections: CONNECTIONS,
          duration: 1,
        });
    }
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < loads.length; k++) {
        const l = loads[(k + r) % loads.length];
        const opts = {
          url: l.url,
          method: l.method,
          headers: l.headers,
          body: l.body,
          connections: CONNECTIONS,
          duration,
        };
        l.samples.push(await runLoadWithCPU(opts, [l.pid]));
      }
      process.stderr.write(`  http section: round ${r + 1}/${rounds} done\n`);
    }
    for (const l of loads) rows.push(summarise(l));
    const t = loads.find((l) => l.kind === 'token').samples;
    const pt = loads.find((l) => l.kind === 'peer-token').samples;
    ratio = median(t.map((x, i) => x.requestsPerSec / pt[i].requestsPerSec));
    if (t.every((x) => x.requestsPerCPUSecond) && pt.every((x) => x.requestsPerCPUSecond)) {
      cpuRatio = median(t.map((x, i) => x.requestsPerCPUSecond / pt[i].requestsPerCPUSecond));
    }
  } finally {
    await server?.stop();
    await peer?.stop();
    data.remove();
  }
  const by = (k) => rows.find((r) => r.kind === k);
  const goals = [
    { goal: 'client_credentials ≥ 5,000 tokens/s', pass: by('token').requestsPerSec >= 5000 },
    { goal: 'client_credentials p99 < 20 ms', pass: by('token').p99 < 20 },
    { goal: 'opaque introspection ≥ 10,000/s', pass: by('introspect-opaque').requestsPerSec >= 10000 },
    { goal: 'opaque introspection p99 < 20 ms', pass: by('introspect-opaque').p99 < 20 },
    { goal: 'tokens/s ≥ 3× node-oidc-provider', value: ratio, pass: ratio >= 3 },
  ];
  const md = [
    `### Server: \`tessera serve\` on SQLite vs node-oidc-provider (both child processes, rate limits off; autocannon in a child process, ${CONNECTIONS} connections, ${rounds} interleaved rounds of ${duration} s, medians)`,
    '',
    markdownTable(
      ['load', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'req/server-CPU-s'],
      rows.map((r) => [
        r.name,
        fmtOps(r.requestsPerSec),
        r.p50,
        r.p99,
        r.non2xx,
        r.errors,
        fmtOps(r.requestsPerCPUSecond),
      ]),
    ),
    '',
    `Tessera / node-oidc-provider client_credentials tokens/s: ${fmtRatio(ratio)} (wall clock), ${fmtRatio(cpuRatio)} (per server CPU-second)`,
    '',
    markdownTable(
      ['goal', 'result'],
      goals.map((g) => [g.goal, fmtGoal(g.pass)]),
    ),
  ];
  return {
    duration,
    rounds,
    connections: CONNECTIONS,
    tesseraBin: TESSERA_BIN,
    rows,
    ratio,
    cpuRatio,
    goals,
    markdown: md.join('\n'),
  };
}
