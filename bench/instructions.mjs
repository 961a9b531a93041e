#!/usr/bin/env node
// Instructions per verification, counted by valgrind's callgrind: unlike ops/s, the count does not move when
// other work shares the machine, so it shows the cost of Tessera's checks against the raw crypto call and
// fast-jwt even on a busy host. Each contender runs twice (N1 and N2 verifications) in fresh processes and
// the per-verification count is the difference divided by N2 − N1, which cancels startup and JIT warm-up.
//
//   node bench/instructions.mjs [ALG…]        (default: all five; about a minute per algorithm and contender)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK } from '@tessera/jwt';
import { BENCH_ALGS, keysFor, realisticPayload } from './lib/fixtures.mjs';
import { markdownTable } from './lib/table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'lib', 'instructions-child.mjs');
const CONTENDERS = ['raw', 'tessera', 'fast-jwt'];
// Fewer verifications for the slow asymmetric algorithms. N1 must be past JIT warm-up (the child also warms
// up first), or compilation lands in the difference.
const COUNTS = {
  HS256: [20000, 60000],
  RS256: [4000, 12000],
  PS256: [4000, 12000],
  ES256: [2000, 6000],
  EdDSA: [2000, 6000],
};

const algs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : BENCH_ALGS;
for (const alg of algs) if (!BENCH_ALGS.includes(alg)) throw new Error(`unknown algorithm ${alg}`);
try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('valgrind is not installed: nothing to count');
  process.exit(2);
}

function collected(alg, contender, n, keyFile) {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      // Valgrind runs one thread at a time, so TurboFan's background compiles finish late and a varying share
      // of the counted verifications runs in the baseline tier (HS256: 72,000 instructions with background
      // compiles against 52,000 without). Compiling on the main thread puts optimisation at the same point in
      // every run, and the N2 − N1 difference counts optimised code only.
      '--no-concurrent-recompilation',
      CHILD,
      alg,
      contender,
      String(n),
      keyFile,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m)
    throw new Error(`${alg} ${contender}: callgrind run failed\n${r.stderr.slice(-2000)}`);
  return Number(m[1]);
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-instr-'));
const rows = [];
try {
  for (const alg of algs) {
    const { signKey, verifyKey } = keysFor(alg);
    const keyFile = join(dir, `${alg}.json`);
    writeFileSync(
      keyFile,
      JSON.stringify({
        signJWK: { ...exportJWK(signKey, { includePrivate: true }), alg },
        verifyJWK: { ...exportJWK(verifyKey, { includePrivate: alg.startsWith('HS') }), alg },
        payload: realisticPayload(),
      }),
    );
    const [n1, n2] = COUNTS[alg];
    const perOp = {};
    for (const c of CONTENDERS) {
      perOp[c] = (collected(alg, c, n2, keyFile) - collected(alg, c, n1, keyFile)) / (n2 - n1);
      process.stderr.write(`  ${alg} ${c}: ${Math.round(perOp[c])} instructions per verification\n`);
    }
    rows.push([
      alg,
      ...CONTENDERS.map((c) => Math.round(perOp[c]).toLocaleString('en-US')),
      Math.round(perOp.tessera - perOp.raw).toLocaleString('en-US'),
      `${(perOp.raw / perOp.tessera).toFixed(3)}×`,
      `${(perOp['fast-jwt'] / perOp.tessera).toFixed(3)}×`,
    ]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  markdownTable(
    ['alg', 'raw', 'tessera', 'fast-jwt', 'tessera − raw', 'raw / tessera', 'fast-jwt / tessera'],
    rows,
  ),
);
