/** `tessera serve` as a real process: zero-config start, the banner, a JWKS fetch, graceful SIGTERM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/tessera.js', import.meta.url));

test('tessera serve starts with zero configuration, prints where things are and stops on SIGTERM', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--log-level', 'warn'], {
    cwd: dir,
    env: { ...process.env, TESSERA_KEK: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (c) => (out += String(c)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!/Tessera listening on (\S+)/.test(out)) {
    assert.ok(Date.now() < deadline, `no banner: ${out}`);
    assert.equal(child.exitCode, null, `serve exited early: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /Tessera listening on (\S+)/.exec(out)![1]!;
  assert.match(out, /data dir: .*\.tessera/);
  assert.match(out, /KEK: .*kek \(generated now: back it up\)/);
  assert.equal(statSync(join(dir, '.tessera', 'kek')).mode & 0o777, 0o600);
  assert.ok(existsSync(join(dir, '.tessera', 'tessera.db')));

  const res = await fetch(`${url}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { keys: unknown[] }).keys.length, 2);

  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  await assert.rejects(fetch(`${url}/healthz`));
});
