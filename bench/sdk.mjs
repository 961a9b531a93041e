// Section 2 (issue 3): the verifier SDK. Verified-token cache miss vs hit (against fast-jwt's cache),
// concurrent verification on node's thread pool against the single-thread raw ceiling, and the HTTP cost of
// each framework middleware (bench/sdk-http.mjs).
import assert from 'node:assert/strict';
import { verify as cryptoVerify } from 'node:crypto';
import { createSigner, createVerifier, exportSPKI } from '@tessera/jwt';
import { createVerifier as fastVerifier } from 'fast-jwt';
import { AUDIENCE, ISSUER, keysFor, realisticPayload } from './lib/fixtures.mjs';
import { measureInterleaved, pairedRatio } from './lib/measure.mjs';
import { fmtGoal, fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';
import { runMiddlewareHTTP } from './sdk-http.mjs';

const IN_FLIGHT = 64;

/** Whether this build of @tessera/jwt has the verified-token cache (createVerifier `cache` + `stats().cache`). */
export function hasTokenCache(keys) {
  try {
    const v = createVerifier({
      algorithms: ['ES256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      keys,
      cache: { maxEntries: 8 },
    });
    const ok = typeof v.stats === 'function' && v.stats().cache !== undefined;
    v.close?.();
    return ok;
  } catch {
    return false;
  }
}

async function cacheBench({ rounds, roundMs }) {
  const alg = 'ES256';
  const { signKey, verifyKey } = keysFor(alg);
  if (!hasTokenCache([verifyKey]))
    return { skipped: 'createVerifier has no `cache` option (stats().cache) in this build' };
  const signer = createSigner({ key: signKey, alg });
  const payload = realisticPayload();
  const token = signer.sign(payload);
  // Misses: cycle through more distinct tokens than the cache holds, so every lookup misses and evicts.
  const missTokens = Array.from({ length: 2048 }, (_, i) =>
    signer.sign({ ...payload, jti: `${payload.jti}-${i}` }),
  );
  const base = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, keys: [verifyKey] };
  const plain = createVerifier(base);
  const cachedHit = createVerifier({ ...base, cache: { maxEntries: 1000 } });
  const cachedMiss = createVerifier({ ...base, cache: { maxEntries: 256 } });
  const pem = exportSPKI(verifyKey);
  const fastHit = fastVerifier({ key: pem, algorithms: [alg], cache: true });
  const fastOff = fastVerifier({ key: pem, algorithms: [alg], cache: false });
  let m = 0;
  const contenders = [
    { name: 'tessera, no cache', async: true, fn: () => plain.verify(token) },
    { name: 'tessera cache miss', async: true, fn: () => cachedMiss.verify(missTokens[m++ & 2047]) },
    { name: 'tessera cache hit', async: true, fn: () => cachedHit.verify(token) },
    { name: 'fast-jwt, cache off', fn: () => fastOff(token) },
    { name: 'fast-jwt cache hit', fn: () => fastHit(token) },
  ];
  for (const c of contenders) {
    const r = await c.fn();
    assert.equal((r.payload ?? r).sub, payload.sub);
  }
  const results = await measureInterleaved(contenders, { rounds, roundMs });
  const hitStats = cachedHit.stats().cache;
  const missStats = cachedMiss.stats().cache;
  const rows = contenders.map((c) => ({
    contender: c.name,
    opsPerSec: results.get(c.name).median,
    ratioToNoCache: pairedRatio(results.get(c.name), results.get('tessera, no cache')),
  }));
  const hitOverFast = pairedRatio(results.get('tessera cache hit'), results.get('fast-jwt cache hit'));
  [plain, cachedHit, cachedMiss].forEach((v) => v.close());
  return { alg, rows, hitOverFast, pass: hitOverFast >= 2, hitStats, missStats };
}

async function concurrencyBench({ rounds, roundMs }) {
  const out = [];
  for (const alg of ['ES256', 'EdDSA']) {
    const { signKey, verifyKey } = keysFor(alg);
    const payload = realisticPayload();
    const token = createSigner({ key: signKey, alg }).sign(payload);
    const d2 = token.lastIndexOf('.');
    const data = Buffer.from(token.slice(0, d2), 'latin1');
    const sig = Buffer.from(token.slice(d2 + 1), 'base64url');
    const hash = alg === 'ES256' ? 'sha256' : null;
    const rawKey =
      alg === 'ES256' ? { key: verifyKey.keyObject, dsaEncoding: 'ieee-p1363' } : verifyKey.keyObject;
    const base = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, keys: [verifyKey] };
    const pooled = createVerifier({ ...base, threadPool: true });
    const single = createVerifier({ ...base, threadPool: false });
    const tokens = Array.from({ length: IN_FLIGHT }, () => token);
    const rawAsync = () =>
      new Promise((resolve, reject) =>
        cryptoVerify(hash, data, rawKey, sig, (err, ok) => (err ? reject(err) : resolve(ok))),
      );
    const contenders = [
      {
        name: 'raw crypto.verify, sync, 1 thread (ceiling)',
        fn: () => cryptoVerify(hash, data, rawKey, sig),
      },
      {
        name: `tessera threadPool: true, ${IN_FLIGHT} in flight`,
        async: true,
        batch: IN_FLIGHT,
        fn: () => Promise.all(tokens.map((t) => pooled.verify(t))),
      },
      {
        name: `tessera threadPool: false, ${IN_FLIGHT} in flight`,
        async: true,
        batch: IN_FLIGHT,
        fn: () => Promise.all(tokens.map((t) => single.verify(t))),
      },
      {
        name: `raw crypto.verify callback, ${IN_FLIGHT} in flight`,
        async: true,
        batch: IN_FLIGHT,
        fn: () => Promise.all(tokens.map(rawAsync)),
      },
    ];
    assert.equal(contenders[0].fn(), true);
    for (const c of contenders.slice(1)) {
      const r = await c.fn();
      assert.equal(r.length, IN_FLIGHT);
      assert.ok(r.every((x) => x === true || x.payload?.sub === payload.sub));
    }
    const results = await measureInterleaved(contenders, { rounds, roundMs });
    for (const c of contenders) {
      const ratio = pairedRatio(results.get(c.name), results.get(contenders[0].name));
      out.push({
        alg,
        contender: c.name,
        opsPerSec: results.get(c.name).median,
        ratioToRawSync: ratio,
        ...(c.name.includes('threadPool: true') ? { pass: ratio >= 1.4 } : {}),
      });
    }
    pooled.close();
    single.close();
  }
  return { inFlight: IN_FLIGHT, threadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)', rows: out };
}

/** Run section 2 and return `{ cache, concurrency, http, markdown }`. */
export async function runSDKSection({ quick }) {
  const timing = { rounds: quick ? 3 : 9, roundMs: quick ? 15 : 150 };
  const cache = await cacheBench(timing);
  process.stderr.write('  sdk section: cache done\n');
  const concurrency = await concurrencyBench(timing);
  process.stderr.write('  sdk section: concurrency done\n');
  const http = await runMiddlewareHTTP({ quick });
  const md = [];
  md.push(
    `### Verifier SDK: verified-token cache (ES256, ops/s, median of ${timing.rounds} interleaved rounds)`,
    '',
  );
  if (cache.skipped) md.push(`Skipped: ${cache.skipped}.`);
  else {
    md.push(
      markdownTable(
        ['contender', 'ops/s', '× tessera no cache'],
        cache.rows.map((r) => [r.contender, fmtOps(r.opsPerSec), fmtRatio(r.ratioToNoCache)]),
      ),
      '',
      `Tessera cache hit / fast-jwt cache hit: ${fmtRatio(cache.hitOverFast)} (goal ≥ 2×: ${fmtGoal(cache.pass)})`,
    );
  }
  md.push(
    '',
    `### Verifier SDK: concurrent verification (${IN_FLIGHT} in flight, ops/s, median of ${timing.rounds} interleaved rounds)`,
    '',
  );
  md.push(
    markdownTable(
      ['alg', 'contender', 'ops/s', '× raw sync 1 thread', 'goal ≥ 1.4×'],
      concurrency.rows.map((r) => [
        r.alg,
        r.contender,
        fmtOps(r.opsPerSec),
        fmtRatio(r.ratioToRawSync),
        fmtGoal(r.pass),
      ]),
    ),
  );
  md.push('', http.markdown);
  return { cache, concurrency, http: { ...http, markdown: undefined }, markdown: md.join('\n') };
}
