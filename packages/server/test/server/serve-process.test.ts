/** `tessera serve` as a real process: zero-config start, the banner, a JWKS fetch, graceful SIGTERM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
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

/**
 * `npx tessera serve` runs npm → sh -c → node. This parent plays npm: it passes SIGTERM to its own child
 * (the shell, which dies without passing it on) and exits, and it ignores SIGINT (Ctrl-C reaches the whole
 * process group anyway).
 */
const NPM_LIKE_PARENT = `
const { spawn } = require('node:child_process');
const [bin, ...args] = process.argv.slice(1);
const c = spawn('sh', ['-c', '"$0" "$@"', process.execPath, bin, 'serve', ...args], { stdio: 'inherit' });
process.on('SIGTERM', () => { c.kill('SIGTERM'); setTimeout(() => process.exit(143), 50); });
process.on('SIGINT', () => {});
c.on('exit', (code) => process.exit(code ?? 1));
`;

async function portClosedWithin(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (!open) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

for (const { how, stop } of [
  { how: 'SIGTERM to the npx process', stop: (pid: number) => process.kill(pid, 'SIGTERM') },
  { how: 'Ctrl-C (SIGINT to the process group)', stop: (pid: number) => process.kill(-pid, 'SIGINT') },
]) {
  test(`stopping npx tessera serve by ${how} stops the server too`, async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const parent = spawn(
      process.execPath,
      ['-e', NPM_LIKE_PARENT, BIN, '--port', '0', '--data-dir', dir, '--log-level', 'warn'],
      // npm sets npm_command for what it runs; detached: its own process group, like a terminal job.
      {
        env: { ...process.env, TESSERA_KEK: '', npm_command: 'exec' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let port = 0;
    t.after(() => {
      // Whatever the outcome, nothing of this test keeps running.
      try {
        process.kill(-parent.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    let out = '';
    parent.stdout.on('data', (c) => (out += String(c)));
    parent.stderr.on('data', (c) => (out += String(c)));
    const deadline = Date.now() + 20_000;
    while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out)) {
      assert.ok(Date.now() < deadline, `no banner: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    assert.equal(await portClosedWithin(port, 100), false, 'the server is up');
    stop(parent.pid!);
    assert.ok(await portClosedWithin(port, 5000), `port ${port} still open 5 s after ${how}:\n${out}`);
  });
}
