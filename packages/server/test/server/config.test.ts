import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { assertIssuerForHost, isLoopbackHost, loadConfig } from '../../src/server/config.js';
import { UsageError, parseDuration } from '../../src/cli/args.js';
import { tempDir } from './helpers.js';

test('defaults: zero configuration', () => {
  const c = loadConfig({ cwd: '/srv' });
  assert.equal(c.port, 7070);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.dataDir, '/srv/.tessera');
  assert.equal(c.kekFile, '/srv/.tessera/kek');
  assert.equal(c.issuer, 'http://127.0.0.1:7070');
  assert.equal(c.issuerIsDefault, true);
  assert.equal(c.store, undefined);
  assert.equal(c.alg, 'ES256');
  assert.equal(c.rotationInterval, 90 * 86400);
  assert.equal(c.jwksMaxAge, 300);
  assert.equal(c.accessTtl, 900);
  assert.equal(c.maxAccessTtl, 3600);
  assert.equal(c.refreshAbsoluteTtl, 7 * 86400);
  assert.equal(c.refreshIdleTtl, 86400);
  assert.equal(c.clockTolerance, 30);
  assert.equal(c.claimsWarnBytes, 1024);
  assert.equal(c.claimsMaxBytes, 4096);
  assert.equal(c.rateLimitClient, 6000);
  assert.equal(c.rateLimitIp, 12000);
  assert.equal(c.reloadInterval, 2);
  assert.equal(c.trustProxy, false);
  assert.equal(c.logLevel, 'info');
});

test('precedence: flags > TESSERA_* env > config file > defaults', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = join(dir, 'tessera.json');
  writeFileSync(
    file,
    JSON.stringify({ port: 1111, host: '0.0.0.0', 'jwks-max-age': '10m', accessTtl: '5m' }),
  );
  const c = loadConfig({
    values: { config: file, port: '3333' },
    env: { TESSERA_PORT: '2222', TESSERA_HOST: '::1', TESSERA_KEK: 'k' },
    cwd: dir,
  });
  assert.equal(c.port, 3333);
  assert.equal(c.host, '::1');
  assert.equal(c.issuer, 'http://[::1]:3333');
  assert.equal(c.jwksMaxAge, 600);
  assert.equal(c.accessTtl, 300);
  assert.equal(c.kek, 'k');
  const fromEnvFile = loadConfig({ env: { TESSERA_CONFIG: file }, cwd: dir });
  assert.equal(fromEnvFile.port, 1111);
});

test('parsing: durations, rates, algorithms and bad values', () => {
  const c = loadConfig({
    values: {
      'rate-limit-ip': '100/s',
      'rate-limit-client': '0',
      alg: 'RS256',
      'rsa-bits': '3072',
      issuer: 'https://a.example/',
    },
  });
  assert.equal(c.rateLimitIp, 6000);
  assert.equal(c.rateLimitClient, 0);
  assert.equal(c.rsaBits, 3072);
  assert.equal(c.issuer, 'https://a.example');
  assert.equal(c.issuerIsDefault, false);
  for (const values of [
    { port: '70000' },
    { alg: 'HS256' },
    { alg: 'none' },
    { 'rsa-bits': '1024' },
    { 'access-ttl': 'soon' },
    { 'access-ttl': '2h' },
    { issuer: 'not a url' },
    { 'rate-limit-ip': 'lots' },
  ])
    assert.throws(() => loadConfig({ values }), UsageError, JSON.stringify(values));
});

test('config file: unknown keys and non-objects are usage errors', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ prot: 1 }));
  assert.throws(() => loadConfig({ configFile: file }), /unknown option "prot"/);
  writeFileSync(file, '[1]');
  assert.throws(() => loadConfig({ configFile: file }), /JSON object/);
});

const UNITS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 } as const;

test('durations need a unit: a bare number is a usage error, with a unit it is exact (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.constantFrom(...(Object.keys(UNITS) as Array<keyof typeof UNITS>)),
      (n, unit) => parseDuration(`${n}${unit}`) === n * UNITS[unit],
    ),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.nat(99), (n, frac) => {
      for (const text of [String(n), `${n}.${frac}`, ` ${n} `])
        assert.throws(
          () => parseDuration(text),
          (e: unknown) => e instanceof UsageError && /no unit/.test(String(e)),
        );
      return true;
    }),
  );
  // Whatever else: either an exact unit form or a UsageError, never a silent guess.
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), (text) => {
      try {
        const s = parseDuration(text);
        return Number.isFinite(s) && /^\s*(0+(\.0+)?|\d+(\.\d+)?(ms|s|m|h|d))\s*$/.test(text);
      } catch (err) {
        return err instanceof UsageError;
      }
    }),
  );
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('1.5m'), 90);
});

test('a duration without a unit is refused from flags, TESSERA_* env and the config file alike', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  assert.throws(() => loadConfig({ values: { 'access-ttl': '15' } }), /--access-ttl .*"15" has no unit/);
  assert.throws(() => loadConfig({ env: { TESSERA_JWKS_MAX_AGE: '300' } }), /TESSERA_JWKS_MAX_AGE.*no unit/);
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ 'refresh-idle-ttl': 86400 }));
  assert.throws(() => loadConfig({ configFile: file }), /--refresh-idle-ttl .*"86400" has no unit/);
  writeFileSync(file, JSON.stringify({ 'refresh-idle-ttl': '1d' }));
  assert.equal(loadConfig({ configFile: file }).refreshIdleTtl, 86400);
});

test('slow-request limits and connection cap: defaults, flags, env, and headers within the request bound', () => {
  const c = loadConfig({});
  assert.equal(c.requestTimeout, 10);
  assert.equal(c.headersTimeout, 5);
  assert.equal(c.keepAliveTimeout, 5);
  assert.equal(c.maxConnections, 1024);
  const d = loadConfig({
    values: { 'request-timeout': '2s', 'keep-alive-timeout': '500ms' },
    env: { TESSERA_HEADERS_TIMEOUT: '1s', TESSERA_MAX_CONNECTIONS: '8' },
  });
  assert.deepEqual(
    [d.requestTimeout, d.headersTimeout, d.keepAliveTimeout, d.maxConnections],
    [2, 1, 0.5, 8],
  );
  assert.throws(
    () => loadConfig({ values: { 'headers-timeout': '20s' } }),
    /must not exceed --request-timeout/,
  );
  assert.throws(() => loadConfig({ values: { 'max-connections': '0' } }), UsageError);
});

test('TLS: both files or neither, and the default issuer becomes https', () => {
  const c = loadConfig({ values: { 'tls-cert': 'c.pem', 'tls-key': 'k.pem', port: '8443' }, cwd: '/srv' });
  assert.equal(c.tlsCert, '/srv/c.pem');
  assert.equal(c.issuer, 'https://127.0.0.1:8443');
  assert.throws(
    () => loadConfig({ values: { 'tls-cert': 'c.pem' } }),
    /--tls-cert and --tls-key go together/,
  );
  assert.equal(
    loadConfig({ env: { TESSERA_TLS_CERT: 'c', TESSERA_TLS_KEY: 'k' } }).issuer.slice(0, 8),
    'https://',
  );
});

test("a non-loopback --host without --issuer is refused: the issuer is every token's iss", () => {
  for (const host of ['0.0.0.0', '::', '10.0.0.5', 'auth.internal'])
    assert.throws(
      () => assertIssuerForHost(loadConfig({ values: { host } })),
      (e: unknown) => e instanceof UsageError && /needs --issuer.*"iss" of every token/.test(String(e)),
      host,
    );
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
    assert.ok(isLoopbackHost(host), host);
    assertIssuerForHost(loadConfig({ values: { host } }));
  }
  assertIssuerForHost(loadConfig({ values: { host: '0.0.0.0', issuer: 'https://auth.example.com' } }));
});

test('--redis-prefix names every Redis key and channel prefix; default tessera:, validated', () => {
  assert.equal(loadConfig({ values: {}, env: {} }).redisPrefix, 'tessera:');
  assert.equal(loadConfig({ values: { 'redis-prefix': 'acme_prod:' }, env: {} }).redisPrefix, 'acme_prod:');
  assert.equal(loadConfig({ values: {}, env: { TESSERA_REDIS_PREFIX: 'staging:' } }).redisPrefix, 'staging:');
  for (const bad of ['', 'with space', 'a*b', 'x'.repeat(65), 'tessera:\n'])
    assert.throws(
      () => loadConfig({ values: { 'redis-prefix': bad }, env: {} }),
      UsageError,
      JSON.stringify(bad),
    );
});
