/**
 * `tessera users passkey-link` and `users create --passkey-link`: a one-time enrolment link under the issuer,
 * stored only as a hash, refused where passkeys cannot work (an IP-address or plain-http issuer).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { openStore } from '../../src/store/open-store.js';
import { findPasskeyLink, takePasskeyLink } from '../../src/passkeys/links.js';

const ISSUER = 'https://auth.example.org';

async function tessera(args: string[]) {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const stdin = new PassThrough();
  stdin.end('');
  const code = await main(args, { stdout, stderr, stdin, env: {} });
  return { code, out, err };
}

describe('tessera users passkey links', () => {
  let dir: string;
  let dd: string[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-passkey-cli-'));
    dd = ['--data-dir', dir, '--issuer', ISSUER];
    assert.equal((await tessera(['keys', 'list', '--init', '--data-dir', dir])).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function find(url: string) {
    const token = new URL(url).searchParams.get('token')!;
    const store = await openStore(undefined, { dataDir: dir });
    try {
      return { token, user: await findPasskeyLink(store, token, Date.now()), store };
    } finally {
      await store.close();
    }
  }

  it('create --passkey-link prints a passkey link instead of a set-password link (a passkey-only user)', async () => {
    const res = await tessera([
      'users',
      'create',
      '--email',
      'pia@example.org',
      '--passkey-link',
      '--json',
      ...dd,
    ]);
    assert.equal(res.code, 0, res.err);
    const view = JSON.parse(res.out);
    assert.equal(view.has_password, false);
    assert.equal(view.set_password_url, undefined);
    assert.match(
      view.passkey_url,
      /^https:\/\/auth\.example\.org\/account\/passkey\?token=[A-Za-z0-9_-]{43}$/,
    );
    assert.ok(Date.parse(view.passkey_expires_at) > Date.now() + 23 * 3600_000);
    const { user } = await find(view.passkey_url);
    assert.equal(user?.id, view.id);
  });

  it('passkey-link ID|EMAIL prints a new one-time link; the store keeps only its hash; one use', async () => {
    const res = await tessera(['users', 'passkey-link', 'pia@example.org', '--link-ttl', '1h', ...dd]);
    assert.equal(res.code, 0, res.err);
    assert.match(
      res.out,
      /^passkey link \(one use, until .+\):\n {2}https:\/\/auth\.example\.org\/account\/passkey\?token=/,
    );
    const url = /https:\S+/.exec(res.out)![0];
    const token = new URL(url).searchParams.get('token')!;
    const store = await openStore(undefined, { dataDir: dir });
    try {
      const audit = JSON.stringify(await store.listAudit(50));
      assert.match(audit, /passkey\.link_created/);
      assert.ok(!audit.includes(token), 'the token is never stored or logged');
      assert.ok(await takePasskeyLink(store, token, Date.now()));
      assert.equal(await takePasskeyLink(store, token, Date.now()), undefined, 'single use');
    } finally {
      await store.close();
    }
  });

  it('refuses an issuer browsers cannot use for passkeys, and unknown users', async () => {
    for (const issuer of ['http://127.0.0.1:7070', 'http://auth.example.org']) {
      const res = await tessera([
        'users',
        'passkey-link',
        'pia@example.org',
        '--data-dir',
        dir,
        '--issuer',
        issuer,
      ]);
      assert.equal(res.code, 1);
      assert.match(res.err, /passkeys need an https issuer \(or http:\/\/localhost\)/);
    }
    const local = await tessera([
      'users',
      'passkey-link',
      'pia@example.org',
      '--data-dir',
      dir,
      '--issuer',
      'http://localhost:7070',
    ]);
    assert.equal(local.code, 0, local.err);
    const missing = await tessera(['users', 'passkey-link', 'nobody@example.org', ...dd]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no user "nobody@example.org"/);
    const stray = await tessera(['users', 'passkey-link', 'pia@example.org', '--password-stdin', ...dd]);
    assert.equal(stray.code, 2);
  });
});
