// Section dpop-sdk (issue 15): DPoP at a resource service. (1) One proof verification (verifyDpopProof, with
// `ath`) against raw crypto.verify of the same signature, for ES256 and EdDSA: goal ≥ 0.9× raw. (2) The
// per-request cost of verifier.verifyRequest, DPoP against Bearer, without and with the verified-token
// cache: with the cache a DPoP request should cost at most one proof verification more than a Bearer one.
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import {
  calculateJWKThumbprint,
  createDpopProof,
  createMemoryDpopReplayStore,
  createSigner,
  createVerifier,
  DPOP_ALGORITHMS,
  verifyDpopProof,
} from '@tessera/jwt';
import { AUDIENCE, ISSUER, keysFor, realisticPayload } from './lib/fixtures.mjs';
import { measureInterleaved, pairedCPURatio, pairedRatio } from './lib/measure.mjs';
import { fmtGoal, fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';

const URL_ = 'https://orders.api.tessera.example.com/orders';
const POOL = 4096;

function clientKey(alg) {
  return alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519');
}

/** A token bound to `client`, signed by the issuer (ES256), and the verifier options that accept it. */
function setup(alg, client) {
  const { signKey, verifyKey } = keysFor('ES256');
  const jkt = calculateJWKThumbprint(client.publicKey.export({ format: 'jwk' }));
  const signer = createSigner({ key: signKey, alg: 'ES256' });
  const bound = signer.sign({ ...realisticPayload(), cnf: { jkt } });
  const bearer = signer.sign(realisticPayload());
  const base = { algorithms: ['ES256'], issuer: ISSUER, audience: AUDIENCE, keys: [verifyKey] };
  return { bound, bearer, base };
}

async function proofBench({ rounds, roundMs }) {
  const rows = [];
  for (const alg of ['ES256', 'EdDSA']) {
    const client = clientKey(alg);
    const { bound } = setup(alg, client);
    const proof = createDpopProof({
      privateKey: client.privateKey,
      htm: 'GET',
      htu: URL_,
      accessToken: bound,
    });
    const d2 = proof.lastIndexOf('.');
    const data = Buffer.from(proof.slice(0, d2), 'latin1');
    const sig = Buffer.from(proof.slice(d2 + 1), 'base64url');
    const hash = alg === 'ES256' ? 'sha256' : null;
    const rawKey = alg === 'ES256' ? { key: client.publicKey, dsaEncoding: 'ieee-p1363' } : client.publicKey;
    const check = { method: 'GET', url: URL_, algorithms: DPOP_ALGORITHMS, accessToken: bound };
    const contenders = [
      { name: 'raw crypto.verify (ceiling)', fn: () => cryptoVerify(hash, data, rawKey, sig) },
      { name: 'verifyDpopProof (with ath)', fn: () => verifyDpopProof(proof, check) },
    ];
    assert.equal(contenders[0].fn(), true);
    assert.ok(contenders[1].fn().jkt);
    const results = await measureInterleaved(contenders, { rounds, roundMs });
    const ratio = pairedRatio(results.get(contenders[1].name), results.get(contenders[0].name));
    // Process CPU time too: on a shared machine wall-clock rounds also measure the neighbours.
    const cpuRatio = pairedCPURatio(results.get(contenders[1].name), results.get(contenders[0].name));
    for (const c of contenders) {
      const own = c === contenders[1];
      rows.push({
        alg,
        contender: c.name,
        opsPerSec: results.get(c.name).median,
        ratioToRaw: own ? ratio : 1,
        cpuRatioToRaw: own ? cpuRatio : 1,
        ...(own && { pass: ratio >= 0.9 }),
      });
    }
  }
  return rows;
}

/**
 * verifyRequest per request. DPoP requests need a fresh jti each time: a pool of proofs is cycled, and the
 * replay store's own clock jumps a window ahead at each wrap so the recycled identifiers have expired (the
 * store still does its real work: one Map insert per proof, expiry sweeps). The verifier's clock is fixed,
 * so every proof's iat stays in its window.
 */
async function requestBench({ rounds, roundMs }) {
  const alg = 'ES256';
  const client = clientKey(alg);
  const { bound, bearer, base } = setup(alg, client);
  const now = Date.now();
  let storeNow = now;
  const replayStore = createMemoryDpopReplayStore({ max: 2 * POOL, clock: () => storeNow });
  const dpopOptions = { replayStore };
  const common = { ...base, clock: () => now, dpop: 'allowed', dpopOptions };
  const plain = createVerifier(common);
  const cached = createVerifier({ ...common, cache: { maxEntries: 1000 } });
  const iat = Math.floor(now / 1000);
  const proofs = Array.from({ length: POOL }, () =>
    createDpopProof({ privateKey: client.privateKey, htm: 'GET', htu: URL_, accessToken: bound, iat }),
  );
  let p = 0;
  const nextProof = () => {
    if (p === POOL) {
      p = 0;
      storeNow += 10 * 60_000;
    }
    return proofs[p++];
  };
  const bearerReq = { method: 'GET', url: URL_, headers: { authorization: `Bearer ${bearer}` } };
  const dpopReq = () => ({
    method: 'GET',
    url: URL_,
    headers: { authorization: `DPoP ${bound}`, dpop: nextProof() },
  });
  const check = { method: 'GET', url: URL_, algorithms: DPOP_ALGORITHMS, accessToken: bound };
  // The floor of a DPoP request on top of a cached Bearer one: what the issue itself requires per request,
  // the proof verification and its jti replay record (RFC 9449 §11.1), with nothing else.
  let floorNow = now;
  const floorStore = createMemoryDpopReplayStore({ max: 2 * POOL, clock: () => floorNow });
  let q = 0;
  const proofAndRecord = () => {
    if (q === POOL) {
      q = 0;
      floorNow += 10 * 60_000;
    }
    const verified = verifyDpopProof(proofs[q++], check);
    return floorStore.claim(`${verified.jkt}.${verified.jti}`, floorNow + 120_000);
  };
  const contenders = [
    { name: 'Bearer, no cache', async: true, fn: () => plain.verifyRequest(bearerReq) },
    { name: 'DPoP, no cache', async: true, fn: () => plain.verifyRequest(dpopReq()) },
    { name: 'Bearer, cache hit', async: true, fn: () => cached.verifyRequest(bearerReq) },
    { name: 'DPoP, cache hit', async: true, fn: () => cached.verifyRequest(dpopReq()) },
    { name: 'one proof verification (verifyDpopProof)', fn: () => verifyDpopProof(proofs[0], check) },
    { name: 'floor: proof verification + its jti replay record', fn: proofAndRecord },
  ];
  for (const c of contenders) assert.ok(await c.fn());
  const results = await measureInterleaved(contenders, { rounds, roundMs });
  const ops = (name) => results.get(name).median;
  const us = (name) => 1e6 / ops(name);
  // The same per process CPU second: what the service pays, whatever else the machine runs.
  const cpuUs = (name) => 1e6 / results.get(name).cpuMedian;
  const rows = contenders.map((c) => ({
    contender: c.name,
    opsPerSec: ops(c.name),
    microseconds: us(c.name),
    cpuMicroseconds: cpuUs(c.name),
  }));
  // The extra cost of DPoP over Bearer with the cache, in proof verifications (goal ≤ 1, small slack for the
  // replay store and header reads is reported, not hidden).
  const extraCached = (us('DPoP, cache hit') - us('Bearer, cache hit')) / us(contenders[4].name);
  const extraUncached = (us('DPoP, no cache') - us('Bearer, no cache')) / us(contenders[4].name);
  const proofName = contenders[4].name;
  const extraCachedCPU = (cpuUs('DPoP, cache hit') - cpuUs('Bearer, cache hit')) / cpuUs(proofName);
  const extraUncachedCPU = (cpuUs('DPoP, no cache') - cpuUs('Bearer, no cache')) / cpuUs(proofName);
  // Against the floor: the same extra cost divided by what a DPoP request cannot skip.
  const extraCachedVsFloor =
    (us('DPoP, cache hit') - us('Bearer, cache hit')) /
    us('floor: proof verification + its jti replay record');
  const cachedRatio = pairedRatio(results.get('DPoP, cache hit'), results.get('Bearer, cache hit'));
  const uncachedRatio = pairedRatio(results.get('DPoP, no cache'), results.get('Bearer, no cache'));
  [plain, cached].forEach((v) => v.close());
  return {
    rows,
    extraCached,
    extraCachedVsFloor,
    extraUncached,
    extraCachedCPU,
    extraUncachedCPU,
    cachedRatio,
    uncachedRatio,
    pass: extraCached <= 1,
    cacheStats: cached.stats().cache,
  };
}

/** Run the dpop-sdk section and return `{ proof, request, markdown }`. */
export async function runDpopSDKSection({ quick }) {
  const timing = { rounds: quick ? 3 : 9, roundMs: quick ? 15 : 150 };
  const proof = await proofBench(timing);
  process.stderr.write('  dpop-sdk section: proof verification done\n');
  const request = await requestBench(timing);
  const md = [
    `### DPoP: proof verification against raw crypto.verify (ops/s, median of ${timing.rounds} interleaved rounds)`,
    '',
    markdownTable(
      ['alg', 'contender', 'ops/s', '× raw (wall)', '× raw (CPU time)', 'goal ≥ 0.9× (wall)'],
      proof.map((r) => [
        r.alg,
        r.contender,
        fmtOps(r.opsPerSec),
        fmtRatio(r.ratioToRaw),
        fmtRatio(r.cpuRatioToRaw),
        fmtGoal(r.pass),
      ]),
    ),
    '',
    `### DPoP: per-request cost at a resource service (verifyRequest, ES256 token and proof, one in flight)`,
    '',
    markdownTable(
      ['contender', 'ops/s', 'µs/request (wall)', 'CPU µs/request'],
      request.rows.map((r) => [
        r.contender,
        fmtOps(r.opsPerSec),
        r.microseconds.toFixed(1),
        r.cpuMicroseconds.toFixed(1),
      ]),
    ),
    '',
    `DPoP / Bearer throughput: ${fmtRatio(request.cachedRatio)} with the cache, ${fmtRatio(request.uncachedRatio)} without.`,
    `Extra cost of DPoP over Bearer, in proof verifications: ${request.extraCached.toFixed(2)} with the cache ` +
      `(goal ≤ 1: ${fmtGoal(request.pass)}), ${request.extraUncached.toFixed(2)} without; ` +
      `by CPU time ${request.extraCachedCPU.toFixed(2)} with the cache, ${request.extraUncachedCPU.toFixed(2)} without.`,
    `With the cache, DPoP's extra cost is ${request.extraCachedVsFloor.toFixed(2)}× the floor (one proof verification plus its replay record).`,
  ];
  return { proof, request, markdown: md.join('\n') };
}
