/** `tessera clients create|list|show|delete`, and a created secret working against a server on the same data dir. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/start.js';
import { createLogger } from '../../src/server/app.js';
import { basic, makeClientKey } from './harness.js';

async function tessera(args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const code = await main(args, { stdout, stderr, stdin: new PassThrough(), env });
  return { code, out, err };
}

describe('tessera clients', () => {
  let dir: string;
  let dd: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-clients-'));
    dd = ['--data-dir', dir, '--init']; // --init: the first create makes the state (the CLI refuses an empty dir)
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('create prints the secret once; list and show never do', async () => {
    const created = await tessera([
      'clients',
      'create',
      '--id',
      'svc',
      '--grants',
      'client_credentials',
      '--scope',
      'read write',
      '--audience',
      'api',
      '--access-ttl',
      '10m',
      '--json',
      ...dd,
    ]);
    assert.equal(created.code, 0, created.err);
    const view = JSON.parse(created.out);
    assert.equal(view.client_id, 'svc');
    assert.equal(view.access_token_ttl, 600);
    assert.equal(view.scope, 'read write');
    assert.ok(Buffer.from(view.client_secret, 'base64url').length >= 32);

    const listed = await tessera(['clients', 'list', '--json', ...dd]);
    assert.equal(listed.code, 0);
    assert.deepEqual(
      JSON.parse(listed.out).map((c: { client_id: string }) => c.client_id),
      ['svc'],
    );
    const shown = await tessera(['clients', 'show', 'svc', ...dd]);
    assert.equal(shown.code, 0);
    for (const text of [listed.out, shown.out]) {
      assert.ok(!text.includes(view.client_secret));
      assert.ok(!/secretHash|secret_hash|"client_secret"|client_secret:/.test(text));
    }
    const human = await tessera([
      'clients',
      'create',
      '--id',
      'svc-h',
      '--grants',
      'client_credentials',
      ...dd,
    ]);
    assert.match(human.out, /client_secret: {2}\S{43}/);
  });

  it('refuses what the server would not honour', async () => {
    const ttl = await tessera([
      'clients',
      'create',
      '--id',
      'long',
      '--grants',
      'client_credentials',
      '--access-ttl',
      '2h',
      ...dd,
    ]);
    assert.equal(ttl.code, 1);
    assert.match(ttl.err, /exceeds the server maximum of 3600s/);
    const raised = await tessera(
      ['clients', 'create', '--id', 'long', '--grants', 'client_credentials', '--access-ttl', '2h', ...dd],
      {
        TESSERA_MAX_ACCESS_TTL: '3h',
      },
    );
    assert.equal(raised.code, 0, raised.err);
    const claims = await tessera([
      'clients',
      'create',
      '--id',
      'c1',
      '--grants',
      'client_credentials',
      '--claims',
      'password',
      ...dd,
    ]);
    assert.equal(claims.code, 1);
    assert.match(claims.err, /looks sensitive/);
    const registered = await tessera([
      'clients',
      'create',
      '--id',
      'c2',
      '--grants',
      'client_credentials',
      '--claims',
      'sub',
      ...dd,
    ]);
    assert.match(registered.err, /registered claim/);
    const grant = await tessera(['clients', 'create', '--id', 'c3', '--grants', 'password', ...dd]);
    assert.match(grant.err, /unknown grant/);
    const keys = await tessera([
      'clients',
      'create',
      '--id',
      'c4',
      '--grants',
      'client_credentials',
      '--auth',
      'private_key_jwt',
      ...dd,
    ]);
    assert.match(keys.err, /--jwks/);
    const dup = await tessera(['clients', 'create', '--id', 'svc', '--grants', 'client_credentials', ...dd]);
    assert.match(dup.err, /already exists/);
    const usage = await tessera(['clients', 'create', '--grants', 'client_credentials', ...dd]);
    assert.equal(usage.code, 2);
  });

  it('private_key_jwt clients get no secret and keep their public JWKS', async () => {
    const key = await makeClientKey();
    const file = join(dir, 'client-jwks.json');
    writeFileSync(file, key.jwks);
    const res = await tessera([
      'clients',
      'create',
      '--id',
      'pkj',
      '--grants',
      'client_credentials',
      '--auth',
      'private_key_jwt',
      '--jwks',
      file,
      '--json',
      ...dd,
    ]);
    assert.equal(res.code, 0, res.err);
    const view = JSON.parse(res.out);
    assert.equal(view.client_secret, undefined);
    assert.equal(view.jwks.keys[0].kid, key.kid);
  });

  it('delete removes a client; show then fails', async () => {
    assert.equal((await tessera(['clients', 'delete', 'svc-h', ...dd])).code, 0);
    assert.equal((await tessera(['clients', 'show', 'svc-h', ...dd])).code, 1);
    assert.equal((await tessera(['clients', 'delete', 'svc-h', ...dd])).code, 1);
  });

  it('a secret created by the CLI authenticates at a server on the same data dir', async () => {
    const created = await tessera([
      'clients',
      'create',
      '--id',
      'live',
      '--grants',
      'client_credentials',
      '--json',
      ...dd,
    ]);
    const { client_secret: secret } = JSON.parse(created.out);
    const config = loadConfig({ values: { port: '0', 'data-dir': dir }, env: {} });
    const server = await startServer(config, { log: createLogger('silent'), scheduleKeys: false });
    try {
      const res = await fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basic('live', secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 200);
    } finally {
      await server.close();
    }
  });
});
