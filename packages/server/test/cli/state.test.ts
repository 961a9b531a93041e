/**
 * Writing commands and the state they write to: no silent creation of a KEK and database where there is no
 * Tessera state, the KEK checked against the stored keys before anything is written, and errors that name
 * the path and the cause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { openStore } from '../../src/store/open-store.js';
import { captureIO, tempDir } from '../server/helpers.js';

async function tessera(args: string[], env: NodeJS.ProcessEnv = {}) {
  const io = captureIO(env);
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
}

const create = (dd: string[], id: string, ...extra: string[]) => [
  'clients',
  'create',
  '--id',
  id,
  '--grants',
  'client_credentials',
  ...dd,
  ...extra,
];

test('a writing command on a directory without Tessera state refuses, names the path and creates nothing', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const dd = ['--data-dir', dir];
  for (const args of [
    create(dd, 'svc'),
    ['clients', 'delete', 'svc', ...dd],
    ['keys', 'rotate', ...dd],
    ['keys', 'revoke', 'some-kid', ...dd],
    ['clients', 'list', ...dd],
    ['keys', 'list', ...dd],
  ]) {
    const r = await tessera(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, new RegExp(`no Tessera state in ${dir}: ${join(dir, 'tessera.db')} does not exist`));
    assert.match(r.err, /--init .*tessera serve/);
    assert.doesNotMatch(r.out, /client_secret/);
    assert.deepEqual(readdirSync(dir), [], `${args.join(' ')} created nothing`);
  }
});

test('--init creates the state (KEK, database, first keys) that a later command and server use', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const dd = ['--data-dir', dir];
  const r = await tessera(create(dd, 'svc', '--init', '--json'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /created Tessera state .*generated a new key-encryption key in .*kek: back it up/);
  assert.ok(existsSync(join(dir, 'kek')) && existsSync(join(dir, 'tessera.db')));
  const listed = await tessera(['keys', 'list', '--json', ...dd]);
  assert.deepEqual(
    (JSON.parse(listed.out) as { state: string }[]).map((k) => k.state),
    ['current', 'next'],
  );
  // Now the state exists: no --init needed, and --init again changes nothing.
  const kek = readFileSync(join(dir, 'kek'));
  assert.equal((await tessera(create(dd, 'svc2'))).code, 0);
  assert.equal((await tessera(create(dd, 'svc3', '--init'))).code, 0);
  assert.deepEqual(readFileSync(join(dir, 'kek')), kek);
});

test('clients create with the wrong KEK refuses before printing a secret (the pepper comes from the KEK)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const dd = ['--data-dir', dir];
  assert.equal((await tessera(create(dd, 'first', '--init'))).code, 0);
  const wrong = { TESSERA_KEK: randomBytes(32).toString('base64url') };
  for (const args of [
    create(dd, 'svc'),
    ['clients', 'delete', 'first', ...dd],
    ['keys', 'rotate', '--force', ...dd],
  ]) {
    const r = await tessera(args, wrong);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /the KEK does not match the one the keys were encrypted with/);
    assert.doesNotMatch(r.out, /client_secret/);
  }
  const store = await openStore(undefined, { dataDir: dir });
  try {
    assert.equal(await store.getClient('svc'), undefined, 'no client written under the wrong KEK');
    assert.ok(await store.getClient('first'), 'nothing deleted under the wrong KEK');
  } finally {
    await store.close();
  }
  // A missing KEK file next to existing keys is refused too, and no new KEK is made.
  const r = await tessera(create(dd, 'svc', '--kek-file', join(dir, 'nope')));
  assert.equal(r.code, 1);
  assert.match(r.err, /no KEK: .*nope does not exist/);
  assert.equal(existsSync(join(dir, 'nope')), false);
});

test('errors name the path and the cause: not a directory, a directory as database, permission denied', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const notDir = await tessera(create(['--data-dir', join(file, 'sub')], 'svc'));
  assert.equal(notDir.code, 1);
  assert.match(
    notDir.err,
    new RegExp(`${join(file, 'sub', 'tessera.db')}: a component of the path is not a directory`),
  );
  assert.doesNotMatch(notDir.err, /no Tessera state/);

  // SQLite's own words name no file: ours do.
  const asDir = join(dir, 'db-is-a-dir');
  mkdirSync(asDir);
  const cantOpen = await tessera(['clients', 'list', '--data-dir', dir, '--store', `sqlite:${asDir}`]);
  assert.equal(cantOpen.code, 1);
  assert.match(
    cantOpen.err,
    new RegExp(
      `cannot open the SQLite database ${asDir}: unable to open database file \\(it is a directory\\)`,
    ),
  );

  if (process.getuid?.() === 0) return t.diagnostic('running as root: permission checks do not apply');
  const locked = join(dir, 'locked');
  mkdirSync(locked);
  assert.equal((await tessera(create(['--data-dir', locked], 'svc', '--init'))).code, 0);
  chmodSync(locked, 0o000);
  t.after(() => chmodSync(locked, 0o700));
  const denied = await tessera(create(['--data-dir', locked], 'svc2'));
  assert.equal(denied.code, 1);
  assert.match(denied.err, /permission denied/);
  assert.doesNotMatch(denied.err, /no Tessera state/);
});
