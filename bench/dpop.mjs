// Section `dpop` (issue 15): the token endpoint with DPoP (RFC 9449) against plain client_credentials, on a
// real `tessera serve` child process on SQLite. Interleaved rounds; each DPoP request carries a fresh proof
// (own jti, iat = now) pre-generated in a child process, so the load generator signs nothing. Goal: DPoP at
// least 0.6× the plain rate. Next to it, the floor: the work DPoP adds per request (one ES256 verification of
// the proof plus one jti insert into the store's used-id table) measured alone in this process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './lib/procs.mjs';
import { fmtGoal, fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';
import { createBenchClient, startTessera, tempDataDir } from './lib/tessera-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const FORM = 'application/x-www-form-urlencoded';

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Run a bench/lib child script with one JSON argument; resolves to the last line of its stdout, parsed. */
function child(script, opts) {
  return new Promise((resolve, reject) => {
    const proc = track(
      spawn(process.execPath, [join(here, 'lib', script), JSON.stringify(opts)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    proc.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()))
        : reject(new Error(`${script} exited ${code}: ${err.slice(-2000)}`)),
    );
  });
}

/**
 * The floor: per request, what DPoP adds to a token request: one ES256 verification (node's crypto.verify
 * of a proof-sized input) and one single-use insert into the SQLite used-id table (the server's own store,
 * `consumeOnce`, as without Redis). Operations per second, in this process.
 */
async function measureFloor(dir, seconds) {
  const { openSQLiteStore } = await import('../packages/server/dist/src/store/sqlite.js');
  const store = await openSQLiteStore({ path: join(dir, 'floor.db') });
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const input = Buffer.from(`${'h'.repeat(180)}.${'p'.repeat(160)}`);
    const signature = sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    let done = 0;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 200; i++) {
        assert.ok(verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature));
        const id = createHash('sha256').update(randomBytes(16)).digest('base64url');
        const now = Date.now();
        assert.ok(await store.consumeOnce('dpop_jti', id, now + 150_000, now));
        done++;
      }
    }
    return done / ((performance.now() - t0) / 1000);
  } finally {
    await store.close();
  }
}

/** Run section `dpop` and return `{ rows, goals, markdown }`. */
export async function runDpopSection({ quick }) {
  if (!existsSync(new URL('../packages/server/dist/src/dpop/index.js', import.meta.url))) {
    return { skipped: true, markdown: '### DPoP: skipped (packages/server not built)' };
  }
  const rounds = quick ? 1 : 3;
  const amount = quick ? 1000 : 12_000;
  const connections = 10;
  const data = tempDataDir();
  const storage = ['--data-dir', data.dir];
  let server;
  const samples = { plain: [], dpop: [], floor: [] };
  let failures = 0;
  try {
    const cc = await createBenchClient(storage, {
      id: 'bench-cc',
      audience: 'https://orders.example',
      scope: 'orders:read',
    });
    server = await startTessera(storage);
    const tokenUrl = `${server.url}/oauth/token`;
    const proofsFile = join(data.dir, 'proofs.json');

    // Each path works once before any load: a DPoP-bound token for a fresh proof, a bearer one without.
    const probe = await child('dpop-proofs-child.mjs', { htu: tokenUrl, count: 1, file: proofsFile });
    const [proof] = JSON.parse(readFileSync(proofsFile, 'utf8'));
    const bound = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: cc.basic, 'content-type': FORM, dpop: proof },
      body: 'grant_type=client_credentials',
    });
    const boundBody = await bound.json();
    assert.equal(bound.status, 200, JSON.stringify(boundBody));
    assert.equal(boundBody.token_type, 'DPoP');
    const payload = JSON.parse(Buffer.from(boundBody.access_token.split('.')[1], 'base64url').toString());
    assert.equal(payload.cnf?.jkt, probe.jkt);

    const load = (withProofs) =>
      child('dpop-load-child.mjs', {
        url: tokenUrl,
        basic: cc.basic,
        amount,
        connections,
        ...(withProofs && { proofsFile }),
      });
    const steps = [
      async () => samples.plain.push(await load(false)),
      async () => {
        // Fresh proofs for this round only: they are good for the 60 s proof window.
        await child('dpop-proofs-child.mjs', { htu: tokenUrl, count: amount, file: proofsFile });
        samples.dpop.push(await load(true));
      },
      async () => samples.floor.push(await measureFloor(data.dir, quick ? 0.5 : 2)),
    ];
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]();
      process.stderr.write(`  dpop section: round ${r + 1}/${rounds} done\n`);
    }
    failures = [...samples.plain, ...samples.dpop].reduce((a, s) => a + s.non2xx + s.errors + s.timeouts, 0);
  } finally {
    await server?.stop();
    data.remove();
  }
  const plain = median(samples.plain.map((s) => s.requestsPerSec));
  const dpop = median(samples.dpop.map((s) => s.requestsPerSec));
  const floor = median(samples.floor);
  // If DPoP cost only the floor's work on top of a plain request, it would run at this rate.
  const plainPlusFloor = 1 / (1 / plain + 1 / floor);
  const ratio = dpop / plain;
  const rows = [
    ['floor: ES256 verify + SQLite jti insert, in-process', fmtOps(floor), '', ''],
    [
      `client_credentials, plain, ${connections} connections`,
      fmtOps(plain),
      '',
      `${median(samples.plain.map((s) => s.p99))}`,
    ],
    [
      `client_credentials with a fresh DPoP proof each, ${connections} connections`,
      fmtOps(dpop),
      fmtRatio(ratio),
      `${median(samples.dpop.map((s) => s.p99))}`,
    ],
    [
      'plain with the floor work added (predicted)',
      fmtOps(plainPlusFloor),
      fmtRatio(plainPlusFloor / plain),
      '',
    ],
    ['DPoP measured against that prediction', '', fmtRatio(dpop / plainPlusFloor), ''],
  ];
  const goals = [
    { goal: 'token endpoint with DPoP ≥ 0.6× plain client_credentials', value: ratio, pass: ratio >= 0.6 },
  ];
  const md = [
    `### DPoP at the token endpoint: \`tessera serve\` on SQLite (child process; autocannon in child processes; ${rounds} interleaved rounds of ${amount} requests, medians; proofs pre-generated, one per request)`,
    '',
    markdownTable(['load', 'per second', 'ratio to plain', 'p99 ms'], rows),
    '',
    `Requests that failed: ${failures}.`,
    '',
    markdownTable(
      ['goal', 'result'],
      goals.map((g) => [g.goal, fmtGoal(g.pass)]),
    ),
  ];
  return { rounds, amount, connections, samples, goals, markdown: md.join('\n') };
}
