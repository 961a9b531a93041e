import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/server/config.js';
import { UsageError } from '../../src/cli/args.js';
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
