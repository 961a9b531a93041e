// `tessera simulate` end to end on real components: short runs (a few seconds, few connections) through the
// real command and the real function, with every strategy whose store is reachable (Redis and PostgreSQL
// follow the CI rule of test/helpers/services.ts: missing in CI is a failure, outside CI a loud skip).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main, type CommandIO } from '../../src/cli/main.js';
import { runSimulation } from '../../src/simulate/run.js';
import { StrategyRecorder, percentiles } from '../../src/simulate/metrics.js';
import { requestsPerSecond } from '../../src/simulate/report-html.js';
import { paddingClaims } from '../../src/simulate/scenarios.js';
import type { SimulationReport, StrategyReport } from '../../src/simulate/report.js';
import { STRATEGY_NAMES, type StrategyName } from '../../src/simulate/strategies.js';
import { pgUrl, redisUrl } from '../helpers/services.js';

let redis: string | undefined;
let postgres: string | undefined;
let available: StrategyName[] = [];

before(async () => {
  redis = await redisUrl();
  postgres = await pgUrl();
  available = STRATEGY_NAMES.filter((s) => s !== 'session-redis' || redis !== undefined);
});

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c: Buffer) => out.push(c.toString()));
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  const cio: CommandIO = { stdout, stderr, stdin: new PassThrough(), env };
  return { cio, out: () => out.join(''), err: () => err.join('') };
}

const byName = (report: SimulationReport, name: StrategyName) => {
  const r = report.strategies.find((s) => s.name === name);
  assert.ok(r, `${name} is in the report`);
  return r;
};

function assertPlausible(r: StrategyReport): void {
  const v = r.token_validation_ms;
  assert.ok(r.requests > 0, `${r.name}: requests > 0`);
  assert.ok(r.throughput_rps > 0, `${r.name}: throughput > 0`);
  for (const k of ['p50', 'p95', 'p99', 'max'] as const)
    assert.ok(Number.isFinite(v[k]) && v[k] >= 0, `${r.name}: ${k} is a number`);
  assert.ok(v.p50 <= v.p95 && v.p95 <= v.p99 && v.p99 <= v.max, `${r.name}: p50 ≤ p95 ≤ p99 ≤ max`);
  assert.ok(r.payload_size_bytes > 20, `${r.name}: an Authorization header was sent`);
  assert.ok(
    r.bytes_sent_total >= r.payload_size_bytes * r.requests,
    `${r.name}: bytes sent include the header`,
  );
  assert.ok(r.errors >= 0 && r.errors <= r.requests);
  assert.ok(r.issuer_calls_per_request >= 0);
  if (r.cache_hit_ratio !== null)
    assert.ok(r.cache_hit_ratio >= 0 && r.cache_hit_ratio <= 1, `${r.name}: 0 ≤ hit ratio ≤ 1`);
  assert.ok(r.timeseries.length >= 1 && r.timeseries.every((p) => p.requests >= 0));
}

test('the requests/s chart plots full seconds only: the partial last second does not drag every line to zero', () => {
  const rec = new StrategyRecorder();
  rec.start(0);
  // 100 requests in each of two full seconds, then the load stops 0.1 s into the third: 10 more.
  const at = (ms: number) => rec.record(1, true, false, 10, 100, false, ms);
  for (let i = 0; i < 100; i++) at(i * 10);
  for (let i = 0; i < 100; i++) at(1000 + i * 10);
  for (let i = 0; i < 10; i++) at(2000 + i * 10);
  rec.stop(2100);
  const series = rec.timeseries();
  assert.deepEqual(
    series.map((p) => [p.t, p.seconds, p.requests]),
    [
      [0, 1, 100],
      [1, 1, 100],
      [2, 0.1, 10],
    ],
  );
  assert.deepEqual(requestsPerSecond(series), [
    [0.5, 100],
    [1.5, 100],
  ]);
  // A run shorter than one second has no full second: its bucket is scaled to a rate.
  const short = new StrategyRecorder();
  short.start(0);
  for (let i = 0; i < 50; i++) short.record(1, true, false, 10, 100, false, i * 10);
  short.stop(500);
  assert.deepEqual(requestsPerSecond(short.timeseries()), [[0.25, 100]]);
});

test('percentiles are nearest-rank over every sample; padding claims grow to the asked size', () => {
  const values = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1000 … 1
  assert.deepEqual(percentiles(values), { p50: 500, p95: 950, p99: 990, max: 1000, mean: 500.5 });
  assert.deepEqual(percentiles(new Float64Array(0)), { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 });
  for (const n of [100, 1000, 3000]) {
    const size = JSON.stringify(paddingClaims(n)).length;
    assert.ok(size >= n && size < n + 60, `${n} → ${size}`);
  }
  assert.deepEqual(paddingClaims(0), {});
});

test('--help documents every flag, strategy and scenario; bad flags are usage errors', async () => {
  const h = io();
  assert.equal(await main(['simulate', '--help'], h.cio), 0);
  for (const word of [
    '--strategies',
    '--scenario',
    '--duration',
    '--requests',
    '--connections',
    '--users',
    '--json',
    '--html',
    ...STRATEGY_NAMES,
    'baseline',
    'idp-outage',
    'rotation',
    'revocation',
    'bloat',
  ])
    assert.ok(h.out().includes(word), `help mentions ${word}`);
  for (const argv of [
    ['--strategies', 'jwt,nope'],
    ['--scenario', 'chaos'],
    ['--duration', '1s', '--requests', '10'],
    ['--connections', '0'],
  ]) {
    const u = io();
    assert.equal(await main(['simulate', ...argv], u.cio), 2, argv.join(' '));
  }
});

test('baseline through the command: every available strategy, every figure present and plausible', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-sim-test-'));
  try {
    const json = join(dir, 'report.json');
    const h = io({
      ...(redis && { TESSERA_SIM_REDIS_URL: redis }),
      ...(postgres && { TESSERA_SIM_POSTGRES_URL: postgres }),
    });
    const code = await main(
      [
        'simulate',
        '--strategies',
        available.join(','),
        '--scenario',
        'baseline',
        '--duration',
        '1s',
        '--connections',
        '4',
        '--users',
        '20',
        '--json',
        json,
        ...(postgres ? [] : ['--sql-store', 'sqlite']),
      ],
      h.cio,
    );
    assert.equal(code, 0, h.err());
    assert.match(h.out(), /STRATEGY/);
    assert.match(h.err(), /req\/s/, 'a progress line went to stderr');
    const report = JSON.parse(readFileSync(json, 'utf8')) as SimulationReport;
    assert.equal(report.scenario, 'baseline');
    assert.deepEqual(
      report.strategies.map((s) => s.name),
      available,
    );
    for (const r of report.strategies) {
      assertPlausible(r);
      assert.equal(r.errors, 0, `${r.name}: no errors at baseline`);
    }
    assert.equal(byName(report, 'session-sql').store, postgres ? 'postgresql' : 'sqlite');
    // Uncached introspection asks the issuer about (nearly) every request; local JWT checks never do.
    assert.ok(byName(report, 'introspect').issuer_calls_per_request > 0.5);
    assert.equal(byName(report, 'jwt').issuer_calls_per_request, 0);
    assert.ok(byName(report, 'jwt-cached').cache_hit_ratio! > 0, 'the verified-token cache was hit');
    assert.equal(byName(report, 'jwt').cache_hit_ratio, null);
    assert.ok(byName(report, 'jwt').payload_size_bytes > byName(report, 'introspect').payload_size_bytes);
    // Torn down: the issuer no longer answers.
    await assert.rejects(fetch(`${report.issuer.url}/.well-known/jwks.json`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('idp-outage: introspection fails after the issuer stops, JWT strategies keep serving', async () => {
  const report = await runSimulation({
    scenario: 'idp-outage',
    strategies: [
      'jwt',
      'jwt-cached',
      'jwt-denylist',
      'jwt-dpop',
      'jwt-exchange',
      'introspect',
      'introspect-cached',
    ],
    duration: 4,
    connections: 7,
    users: 20,
  });
  assert.ok(report.outage_at_s! > 0);
  // Nothing in a DPoP proof needs the issuer: jwt-dpop serves through the outage like jwt.
  for (const name of ['jwt', 'jwt-cached', 'jwt-denylist', 'jwt-dpop'] as const) {
    const r = byName(report, name);
    assertPlausible(r);
    assert.equal(r.errors, 0, `${name} has zero errors through the outage`);
  }
  for (const name of ['introspect', 'introspect-cached'] as const) {
    const r = byName(report, name);
    assert.equal(r.errors_before_outage, 0, `${name}: no errors before the outage`);
    assert.ok(r.errors_after_outage! > 0, `${name}: errors after the outage`);
    // The time series shows it: error-free buckets before, failing ones at the end.
    assert.ok(r.timeseries.some((p) => p.errors > 0));
  }
  assert.ok(byName(report, 'introspect').error_rate_after_outage! > 0.9);
  // Delegation needs the issuer for every exchange: none failed before it stopped.
  const exchange = byName(report, 'jwt-exchange');
  assert.equal(exchange.errors_before_outage, 0);
  // After it, a cache miss cannot be exchanged: a 503 (could not decide), never a refusal of the user.
  assert.equal(exchange.errors, exchange.errors_unavailable, 'every error is undecided, not refused');
});

test('rotation: keys rotate during the run and no valid token is rejected', async () => {
  const report = await runSimulation({
    scenario: 'rotation',
    strategies: ['jwt', 'jwt-cached', 'jwt-denylist', 'introspect'],
    duration: 5,
    connections: 4,
    users: 20,
  });
  assert.ok(report.rotations!.length >= 2, `rotated ${report.rotations!.length} times`);
  assert.equal(new Set(report.rotations!.map((r) => r.kid)).size, report.rotations!.length);
  for (const r of report.strategies) {
    assertPlausible(r);
    assert.equal(r.rejected_valid_tokens, 0, `${r.name}: zero rejected valid tokens`);
    if (r.name.startsWith('jwt')) assert.equal(r.errors, 0, `${r.name}: no errors at all`);
  }
});

test('revocation: sessions and introspection refuse at once, the deny-list after the feed lag, plain JWT never', async () => {
  const report = await runSimulation({
    scenario: 'revocation',
    strategies: available,
    duration: 5,
    connections: available.length,
    users: 20,
    ...(postgres && { postgresUrl: postgres }),
  });
  const lag = (name: StrategyName) => {
    const f = byName(report, name).revocation!;
    assert.ok(f.revoked > 0);
    return f.lag_ms === null ? Infinity : f.lag_ms.p50;
  };
  const denylist = lag('jwt-denylist');
  assert.ok(Number.isFinite(denylist), 'the deny-list refuses revoked tokens within the run');
  for (const name of ['introspect', 'session-sql', ...(redis ? (['session-redis'] as const) : [])] as const)
    assert.ok(lag(name) <= denylist, `${name} (${lag(name)} ms) ≤ jwt-denylist (${denylist} ms)`);
  assert.ok(Number.isFinite(lag('introspect-cached')), 'the introspection cache expires within the run');
  const jwt = byName(report, 'jwt').revocation!;
  assert.equal(jwt.rejected, 0, 'plain JWT never refuses a revoked token');
  // A bound token is no easier to revoke: jwt-dpop has no deny-list either.
  assert.equal(byName(report, 'jwt-dpop').revocation!.rejected, 0, 'jwt-dpop never refuses it');
  assert.ok(jwt.remaining_lifetime_s! > 60, 'its remaining lifetime is reported instead');
  for (const r of report.strategies) assertPlausible(r);
});

test('bloat: bigger tokens cost bytes per request for JWTs, not for opaque credentials', async () => {
  const report = await runSimulation({
    scenario: 'bloat',
    strategies: ['jwt', 'introspect-cached'],
    duration: 1,
    connections: 4,
    users: 10,
  });
  assert.deepEqual(
    report.bloat!.map((b) => b.token_size),
    ['300B', '1KiB', '4KiB'],
  );
  const jwt = report.strategies.filter((s) => s.name === 'jwt').map((s) => s.payload_size_bytes);
  assert.equal(jwt.length, 3);
  assert.ok(jwt[0]! < jwt[1]! && jwt[1]! < jwt[2]!, `JWT header bytes grow: ${jwt.join(' < ')}`);
  assert.ok(
    Math.abs(report.bloat![2]!.jwt_bytes - 4096) < 200,
    `4 KiB tier is ~4 KiB (${report.bloat![2]!.jwt_bytes})`,
  );
  const opaque = report.strategies
    .filter((s) => s.name === 'introspect-cached')
    .map((s) => s.payload_size_bytes);
  assert.equal(new Set(opaque).size, 1, 'opaque tokens stay the same size');
  for (const r of report.strategies) assertPlausible(r);
});
