/**
 * The `tessera proxy` command as users run it (the real binary): help, usage errors (exit 2), an issuer that
 * cannot be reached (exit 1), and a run that starts, answers, and stops on SIGTERM (exit 0).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Harness } from '../oauth/harness.js';
import { startOidcHarness } from '../oidc/helpers.js';
import { startApp, type App } from './setup.js';

const BIN = fileURLToPath(new URL('../../../bin/tessera.js', import.meta.url));

function tessera(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'proxy', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('tessera proxy (command)', () => {
  let h: Harness;
  let app: App;
  before(async () => {
    h = await startOidcHarness();
    app = await startApp(h.url, 'app');
  });
  after(async () => {
    await app.close();
    await h.close();
  });

  it('prints its help', async () => {
    const r = await tessera(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--client-secret-stdin/);
    assert.match(r.stdout, /--allow-email-domain/);
  });

  it('refuses usage errors with exit 2, never echoing the secret', async () => {
    const base = ['--upstream', app.url, '--client-id', 'gate'];
    const cases: [string[], RegExp][] = [
      [[...base, '--issuer', h.url], /--client-secret-stdin is required/],
      [[...base, '--issuer', 'http://idp.example', '--client-secret-stdin'], /--issuer must be https/],
      [[...base, '--issuer', h.url, '--client-secret-stdin', '--allow-claim', 'nope'], /NAME=VALUE/],
      [[...base, '--issuer', h.url, '--client-secret', 'x'], /Unknown option/],
    ];
    for (const [args, message] of cases) {
      const r = await tessera(args, 'the-secret-value\n');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr + r.stdout, /the-secret-value/);
    }
  });

  it('exits 1 when the issuer cannot be reached', async () => {
    const r = await tessera(
      [
        '--listen',
        '127.0.0.1:0',
        '--upstream',
        app.url,
        '--issuer',
        'http://127.0.0.1:9',
        '--client-id',
        'gate',
        '--client-secret-stdin',
      ],
      'secret\n',
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tessera: /);
  });

  it('starts, prints its summary as JSON, gates requests, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'proxy',
        '--listen',
        '127.0.0.1:0',
        '--upstream',
        app.url,
        '--issuer',
        h.url,
        '--client-id',
        'gate',
        '--client-secret-stdin',
        '--audience',
        'app',
        '--log-level',
        'silent',
        '--json',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child.stdin.end('secret\n');
    let out = '';
    for await (const chunk of child.stdout) {
      out += String(chunk);
      if (out.includes('\n')) break;
    }
    const summary = JSON.parse(out.split('\n')[0]!) as Record<string, string>;
    assert.equal(summary['upstream'], app.url);
    assert.equal(summary['redirect_uri'], `${summary['listening']}/.tessera/callback`);
    const res = await fetch(`${summary['listening']}/`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 401);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
