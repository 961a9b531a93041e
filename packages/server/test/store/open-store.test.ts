import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeStoreSpec, openStore, parseStoreSpec } from '../../src/store/open-store.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-open-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('store specs', () => {
  it('parses every supported form', () => {
    const opts = { dataDir: '/data' };
    assert.deepEqual(parseStoreSpec(undefined, opts), { kind: 'sqlite', path: '/data/tessera.db' });
    assert.deepEqual(parseStoreSpec('  ', opts), { kind: 'sqlite', path: '/data/tessera.db' });
    assert.deepEqual(parseStoreSpec('sqlite:/abs/x.db', opts), { kind: 'sqlite', path: '/abs/x.db' });
    assert.deepEqual(parseStoreSpec('sqlite:rel/x.db', opts), { kind: 'sqlite', path: resolve('rel/x.db') });
    assert.deepEqual(parseStoreSpec('memory:', opts), { kind: 'memory' });
    assert.deepEqual(parseStoreSpec('postgres://u@h:5432/db', opts), {
      kind: 'postgres',
      url: 'postgres://u@h:5432/db',
    });
    assert.deepEqual(parseStoreSpec('postgresql://u@h/db?schema=auth&sslmode=require', opts), {
      kind: 'postgres',
      url: 'postgresql://u@h/db?sslmode=require',
      schema: 'auth',
    });
  });

  it('rejects unknown schemes and an empty sqlite path clearly', () => {
    assert.throws(
      () => parseStoreSpec('mysql://h/db', { dataDir: dir }),
      /unknown store "mysql:…".*postgres:\/\//,
    );
    assert.throws(() => parseStoreSpec('tessera.db', { dataDir: dir }), /unknown store "tessera.db"/);
    assert.throws(() => parseStoreSpec('sqlite:', { dataDir: dir }), /needs a file path/);
  });

  it('never prints a password', () => {
    const text = describeStoreSpec(parseStoreSpec('postgres://u:hunter2@h/db?schema=s', { dataDir: dir }));
    assert.doesNotMatch(text, /hunter2/);
    assert.match(text, /schema s/);
  });
});

describe('openStore', () => {
  it('defaults to SQLite in a new owner-only data directory', async () => {
    const dataDir = join(dir, 'fresh', 'data');
    const store = await openStore(undefined, { dataDir });
    try {
      assert.equal(store.kind, 'sqlite');
      assert.equal(statSync(dataDir).mode & 0o777, 0o700);
      assert.ok(existsSync(join(dataDir, 'tessera.db')));
    } finally {
      await store.close();
    }
  });

  it('opens sqlite: paths and memory:', async () => {
    const sqlite = await openStore(`sqlite:${join(dir, 'nested', 'x.db')}`, { dataDir: dir });
    await sqlite.close();
    assert.ok(existsSync(join(dir, 'nested', 'x.db')));
    const memory = await openStore('memory:', { dataDir: dir });
    assert.equal(memory.kind, 'memory');
    await memory.close();
    await assert.rejects(openStore('redis://h', { dataDir: dir }), /unknown store/);
  });
});
