import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { startServer } from '../../src/server/start.js';
import { OPTIONS } from '../../src/server/config.js';
import { captureIO, sleep, tempDir, testConfig } from './helpers.js';
import { redisUrl, TEST_REDIS_PREFIX, testRedisArgs } from '../helpers/services.js';

const POLICY = ['--jwks-max-age', '30s', '--reload-interval', '200ms'];

async function waitFor(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

async function jwksKids(url: string): Promise<string[]> {
  const res = await fetch(`${url}/.well-known/jwks.json`);
  return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

test('tessera keys list/rotate/revoke work on the data dir of a running server, which follows within 5 s', async (t) => {
  const { dir, cleanup } = tempDir();
  const server = await startServer(testConfig(dir, { 'jwks-max-age': '30s', 'reload-interval': '200ms' }));
  t.after(async () => {
    await server.close();
    cleanup();
  });
  const run = async (...args: string[]) => {
    const io = captureIO();
    const code = await main(['keys', ...args, '--data-dir', dir, ...POLICY], io);
    return { code, out: io.out(), err: io.err() };
  };

  const list = await run('list', '--json');
  assert.equal(list.code, 0, list.err);
  const keys = JSON.parse(list.out) as { kid: string; alg: string; state: string; publishedAt: string }[];
  assert.deepEqual(
    keys.map((k) => k.state),
    ['current', 'next'],
  );
  assert.equal(keys[0]!.kid, server.keys.signer().kid);
  assert.equal(keys[0]!.alg, 'ES256');
  assert.match(keys[0]!.publishedAt, /^\d{4}-\d\d-\d\dT/);
  assert.doesNotMatch(list.out, /encrypted|"d"/);

  const table = await run('list');
  assert.match(table.out, /^KID\s+ALG\s+STATE/);

  // The next key was published moments ago (less than --jwks-max-age 30s): refused, nothing changed.
  const early = await run('rotate');
  assert.equal(early.code, 1, early.err);
  assert.match(early.err, /less than the JWKS cache lifetime \(--jwks-max-age 30s\).*--force/);
  assert.deepEqual(
    (JSON.parse((await run('list', '--json')).out) as { kid: string }[]).map((k) => k.kid),
    keys.map((k) => k.kid),
  );
  // --force rotates at once, with a warning.
  const rotated = await run('rotate', '--force');
  assert.equal(rotated.code, 0, rotated.err);
  assert.match(rotated.err, /warning: the next key .* less than the JWKS cache lifetime/);
  await waitFor(
    'the server signs with the promoted key',
    async () => server.keys.signer().kid === keys[1]!.kid,
  );
  assert.equal((await jwksKids(server.url)).length, 3, 'current, next and the retired key');

  const victim = keys[1]!.kid;
  const revoked = await run('revoke', victim);
  assert.equal(revoked.code, 0, revoked.err);
  assert.match(revoked.out, new RegExp(`revoked ${victim} \\(was current\\)`));
  await waitFor(
    'the revoked key leaves the served JWKS',
    async () => !(await jwksKids(server.url)).includes(victim),
  );
  assert.notEqual(server.keys.signer().kid, victim);
  const feed = await server.ctx.store.listRevocations(0, 10, Date.now());
  assert.ok(feed.some((e) => e.kind === 'kid' && e.value === victim));

  const after = JSON.parse((await run('list', '--json')).out) as { kid: string; state: string }[];
  assert.equal(after.find((k) => k.kid === victim)!.state, 'revoked');

  assert.equal((await run('revoke', 'no-such-kid')).code, 1);
  // Thumbprints may begin with "-": such a KID is a KID, not an unknown flag (exit 1 "no such key", not 2).
  assert.equal((await run('revoke', '-G0-no-such-kid')).code, 1);
  assert.equal((await run('frobnicate')).code, 2);
  assert.equal((await run('revoke')).code, 2);
  assert.equal((await run('list', '--bogus')).code, 2);

  // A wrong KEK: a clear error, exit 1, nothing changed.
  const before = JSON.stringify(await server.ctx.store.listKeys());
  const kekBefore = readFileSync(join(dir, 'kek'));
  const io = captureIO({ TESSERA_KEK: randomBytes(32).toString('base64url') });
  assert.equal(await main(['keys', 'rotate', '--data-dir', dir, ...POLICY], io), 1);
  assert.match(io.err(), /the KEK does not match the one the keys were encrypted with/);
  assert.equal(JSON.stringify(await server.ctx.store.listKeys()), before);
  assert.deepEqual(readFileSync(join(dir, 'kek')), kekBefore);
});

test('--help of serve and keys documents every option with its environment variable', async () => {
  const serve = captureIO();
  assert.equal(await main(['serve', '--help'], serve), 0);
  for (const o of OPTIONS) {
    assert.match(serve.out(), new RegExp(`--${o.flag} `), o.flag);
    assert.match(serve.out(), new RegExp(`TESSERA_${o.flag.toUpperCase().replaceAll('-', '_')}`), o.flag);
  }
  assert.match(serve.out(), /TESSERA_KEK=/);
  const keys = captureIO();
  assert.equal(await main(['keys', '--help'], keys), 0);
  for (const flag of [
    '--data-dir',
    '--store',
    '--kek-file',
    '--redis',
    '--redis-prefix',
    '--json',
    '--force',
    'TESSERA_KEK',
  ])
    assert.ok(keys.out().includes(flag), flag);
  const bad = captureIO();
  assert.equal(await main(['serve', '--port', 'eighty'], bad), 2);
  assert.match(bad.err(), /--port must be an integer/);
});

test('with --redis, a CLI rotation reaches the running server at once, not at its next poll', async (t) => {
  const url = await redisUrl();
  // redisUrl() throws under CI=true when Redis is missing; only a local run without Redis skips (loudly).
  if (!url) return t.skip('Redis not reachable');
  const { dir, cleanup } = tempDir();
  // A 20 s reload interval: only the push can make the change visible within the 3 s allowed below.
  const server = await startServer(
    testConfig(dir, {
      redis: url,
      'redis-prefix': TEST_REDIS_PREFIX,
      'reload-interval': '20s',
      'jwks-max-age': '1s',
    }),
  );
  t.after(async () => {
    await server.close();
    cleanup();
  });
  const before = server.keys.signer().kid;
  const io = captureIO();
  const code = await main(
    ['keys', 'rotate', '--force', '--data-dir', dir, ...testRedisArgs(url), '--reload-interval', '20s'],
    io,
  );
  assert.equal(code, 0, io.err());
  await waitFor('the pushed rotation is served', async () => server.keys.signer().kid !== before, 3000);
});

test('keys on a data dir without state fails clearly and creates nothing', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const io = captureIO();
  assert.equal(await main(['keys', 'list', '--data-dir', `${dir}/missing`], io), 1);
  assert.match(io.err(), /no Tessera state in/);
  assert.equal(existsSync(`${dir}/missing`), false);
});
