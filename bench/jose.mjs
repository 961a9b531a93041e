// Section 1 (issue 2): verify and sign ops/s of Tessera against jose, fast-jwt, jsonwebtoken and the raw
// node:crypto ceiling, for HS256, RS256, PS256, ES256 and EdDSA, interleaved in rounds in one process.
import assert from 'node:assert/strict';
import { createHmac, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { createSigner, createVerifier, exportPKCS8, exportSPKI } from '@tessera/jwt';
import { jwtVerify, SignJWT } from 'jose';
import { createSigner as fastSigner, createVerifier as fastVerifier } from 'fast-jwt';
import jsonwebtoken from 'jsonwebtoken';
import {
  AUDIENCE,
  BENCH_ALGS,
  HASH,
  ISSUER,
  keysFor,
  rawKeyInput,
  realisticPayload,
} from './lib/fixtures.mjs';
import { measureInterleaved, pairedCPURatio, pairedRatio } from './lib/measure.mjs';
import { fmtGoal, fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';

function setup(alg) {
  const { signKey, verifyKey } = keysFor(alg);
  const payload = realisticPayload();
  const kid = signKey.kid;
  const signer = createSigner({ key: signKey, alg });
  const token = signer.sign(payload);
  const d2 = token.lastIndexOf('.');
  const signingInput = Buffer.from(token.slice(0, d2), 'latin1');
  const signature = Buffer.from(token.slice(d2 + 1), 'base64url');
  const hmac = alg.startsWith('HS');
  const secretBytes = hmac ? signKey.keyObject.export() : undefined;
  // fast-jwt takes strings or buffers only: PEM for asymmetric keys, the raw bytes for HMAC.
  const fastSignKey = hmac ? secretBytes : exportPKCS8(signKey);
  const fastVerifyKey = hmac ? secretBytes : exportSPKI(verifyKey);
  const verifier = createVerifier({
    algorithms: [alg],
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [verifyKey],
  });
  return {
    alg,
    signKey,
    verifyKey,
    payload,
    kid,
    signer,
    token,
    signingInput,
    signature,
    hmac,
    fastSignKey,
    fastVerifyKey,
    verifier,
  };
}

function verifyContenders(s) {
  const { alg, token, signingInput, signature, verifyKey } = s;
  const hash = HASH[alg];
  const rawKey = rawKeyInput(alg, verifyKey.keyObject);
  const list = [];
  list.push({
    name: 'raw',
    fn: s.hmac
      ? () => timingSafeEqual(createHmac(hash, verifyKey.keyObject).update(signingInput).digest(), signature)
      : () => cryptoVerify(hash, signingInput, rawKey, signature),
    check: (r) => assert.equal(r, true),
  });
  // The floor: the raw check plus the one step no verifier that returns claims can skip, turning the payload
  // segment into an object (base64url decode and JSON.parse, on a pre-sliced segment). No other check at all.
  const payloadSegment = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
  const raw = list[0].fn;
  list.push({
    name: 'floor',
    fn: () => raw() && JSON.parse(Buffer.from(payloadSegment, 'base64url').toString('latin1')),
    check: (r) => assert.deepEqual(r, s.payload),
  });
  list.push({
    name: 'tessera',
    async: true,
    fn: () => s.verifier.verify(token),
    check: (r) => assert.deepEqual(r.payload, s.payload),
  });
  list.push({
    name: 'jose',
    async: true,
    fn: () =>
      jwtVerify(token, verifyKey.keyObject, { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE }),
    check: (r) => assert.deepEqual(r.payload, s.payload),
  });
  const fast = fastVerifier({ key: s.fastVerifyKey, algorithms: [alg], cache: false });
  list.push({ name: 'fast-jwt', fn: () => fast(token), check: (r) => assert.deepEqual(r, s.payload) });
  if (alg !== 'EdDSA') {
    list.push({
      name: 'jsonwebtoken',
      fn: () =>
        jsonwebtoken.verify(token, verifyKey.keyObject, {
          algorithms: [alg],
          issuer: ISSUER,
          audience: AUDIENCE,
        }),
      check: (r) => assert.deepEqual(r, s.payload),
    });
  }
  return list;
}

function signContenders(s) {
  const { alg, signKey, payload, signingInput, kid } = s;
  const hash = HASH[alg];
  const rawKey = rawKeyInput(alg, signKey.keyObject);
  // Every produced token must verify with the same payload (Tessera's verifier is the judge).
  const verifies = async (token) => assert.deepEqual((await s.verifier.verify(token)).payload, payload);
  const list = [];
  list.push({
    name: 'raw',
    fn: s.hmac
      ? () => createHmac(hash, signKey.keyObject).update(signingInput).digest()
      : () => cryptoSign(hash, signingInput, rawKey),
    check: (sig) => assert.ok(sig.length > 0),
  });
  list.push({ name: 'tessera', fn: () => s.signer.sign(payload), check: verifies });
  const joseHeader = kid === undefined ? { alg } : { alg, kid };
  list.push({
    name: 'jose',
    async: true,
    fn: () => new SignJWT(payload).setProtectedHeader(joseHeader).sign(signKey.keyObject),
    check: verifies,
  });
  const fast = fastSigner({ key: s.fastSignKey, algorithm: alg, ...(kid === undefined ? {} : { kid }) });
  list.push({ name: 'fast-jwt', fn: () => fast(payload), check: verifies });
  if (alg !== 'EdDSA') {
    const opts = kid === undefined ? { algorithm: alg } : { algorithm: alg, keyid: kid };
    list.push({
      name: 'jsonwebtoken',
      fn: () => jsonwebtoken.sign(payload, signKey.keyObject, opts),
      check: verifies,
    });
  }
  return list;
}

// Goals from issue 2, applied to Tessera's rows.
const VERIFY_RAW_GOAL = { HS256: 0.5, RS256: 0.95, PS256: 0.95, ES256: 0.95, EdDSA: 0.95 };
const SIGN_RAW_GOAL = { RS256: 0.9, PS256: 0.9, ES256: 0.9, EdDSA: 0.9 };
const JOSE_GOAL = 1.5;

/** Run section 1 and return `{ rows, goals, markdown }`. */
export async function runJoseSection({ quick }) {
  const rounds = quick ? 3 : 61;
  const roundMs = quick ? 15 : 25;
  const rows = [];
  for (const alg of BENCH_ALGS) {
    const s = setup(alg);
    for (const [op, contenders] of [
      ['verify', verifyContenders(s)],
      ['sign', signContenders(s)],
    ]) {
      for (const c of contenders) await c.check(await c.fn()); // every contender succeeds before timing
      const results = await measureInterleaved(contenders, { rounds, roundMs });
      const ratio = (a, b) => (results.has(b) ? pairedRatio(results.get(a), results.get(b)) : undefined);
      for (const c of contenders) {
        const r = results.get(c.name);
        rows.push({
          alg,
          op,
          contender: c.name,
          async: c.async === true,
          opsPerSec: r.median,
          bestOpsPerSec: r.best,
          opsPerCPUSecond: r.cpuMedian,
          rounds: r.rounds,
          ratioToRaw: ratio(c.name, 'raw'),
          cpuRatioToRaw: pairedCPURatio(r, results.get('raw')),
          ...(c.name === 'tessera'
            ? {
                tesseraOverJose: ratio('tessera', 'jose'),
                tesseraOverFastJwt: ratio('tessera', 'fast-jwt'),
                cpuTesseraOverJose: pairedCPURatio(r, results.get('jose')),
                cpuTesseraOverFastJwt: pairedCPURatio(r, results.get('fast-jwt')),
              }
            : {}),
        });
      }
      process.stderr.write(`  jose section: ${alg} ${op} done\n`);
    }
  }
  const goals = [];
  const goal = (row, text, key, cpuKey, test) =>
    goals.push({
      alg: row.alg,
      op: row.op,
      goal: text,
      value: row[key],
      pass: test(row[key]),
      valueCPU: row[cpuKey],
      passCPU: test(row[cpuKey]),
    });
  for (const row of rows) {
    if (row.contender !== 'tessera') continue;
    if (row.op === 'verify') {
      const min = VERIFY_RAW_GOAL[row.alg];
      goal(row, `≥ ${min}× raw`, 'ratioToRaw', 'cpuRatioToRaw', (v) => v >= min);
      goal(row, `≥ ${JOSE_GOAL}× jose`, 'tesseraOverJose', 'cpuTesseraOverJose', (v) => v >= JOSE_GOAL);
      goal(row, '> fast-jwt', 'tesseraOverFastJwt', 'cpuTesseraOverFastJwt', (v) => v > 1);
    } else if (SIGN_RAW_GOAL[row.alg] !== undefined) {
      const min = SIGN_RAW_GOAL[row.alg];
      goal(row, `≥ ${min}× raw`, 'ratioToRaw', 'cpuRatioToRaw', (v) => v >= min);
    }
  }
  return { rounds, roundMs, rows, goals, markdown: render(rows, goals, rounds, roundMs) };
}

function render(rows, goals, rounds, roundMs) {
  const main = markdownTable(
    [
      'alg',
      'op',
      'contender',
      'ops/s (median)',
      'best round',
      'ops/CPU-s',
      '× raw',
      '× raw (CPU)',
      'Tessera/jose',
      'Tessera/fast-jwt',
    ],
    rows.map((r) => [
      r.alg,
      r.op,
      r.contender + (r.async ? ' (await)' : ''),
      fmtOps(r.opsPerSec),
      fmtOps(r.bestOpsPerSec),
      fmtOps(r.opsPerCPUSecond),
      fmtRatio(r.ratioToRaw),
      fmtRatio(r.cpuRatioToRaw),
      fmtRatio(r.tesseraOverJose),
      fmtRatio(r.tesseraOverFastJwt),
    ]),
  );
  const goalTable = markdownTable(
    ['alg', 'op', 'goal (Tessera)', 'wall-clock ratio', 'pass', 'CPU-time ratio', 'pass (CPU)'],
    goals.map((g) => [
      g.alg,
      g.op,
      g.goal,
      fmtRatio(g.value),
      fmtGoal(g.pass),
      fmtRatio(g.valueCPU),
      fmtGoal(g.passCPU),
    ]),
  );
  const passed = goals.filter((g) => g.pass).length;
  const passedCPU = goals.filter((g) => g.passCPU).length;
  return [
    `### JOSE core: verify and sign (ops/s: median of ${rounds} interleaved rounds of ~${roundMs} ms; ratios: median of per-round paired ratios)`,
    '',
    main,
    '',
    `#### Goals (issue 2): ${passed}/${goals.length} met on wall-clock ratios, ${passedCPU}/${goals.length} on CPU-time ratios`,
    '',
    goalTable,
  ].join('\n');
}
