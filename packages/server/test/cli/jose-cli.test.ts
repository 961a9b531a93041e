import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/tessera.js', import.meta.url));

function tessera(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

describe('tessera keygen | sign | verify | decode', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA', 'HS256']) {
    it(`round-trips ${alg}: keygen → sign → verify`, async () => {
      const priv = join(dir, `${alg}.jwk.json`);
      const pub = join(dir, `${alg}.jwks.json`);
      const hs = alg.startsWith('HS');
      const gen = await tessera(['keygen', '--alg', alg, '--out', priv, ...(hs ? [] : ['--jwks-out', pub])]);
      assert.equal(gen.code, 0, gen.stderr);
      assert.equal((await stat(priv)).mode & 0o777, 0o600, 'private key file is owner-only');
      const jwk = JSON.parse(await readFile(priv, 'utf8'));
      if (hs) await writeFile(pub, JSON.stringify({ keys: [jwk] }));
      else
        assert.ok(
          !('d' in JSON.parse(await readFile(pub, 'utf8')).keys[0]),
          'public JWKS has no private member',
        );
      const signed = await tessera([
        'sign',
        '--key',
        priv,
        '--alg',
        alg,
        '--iss',
        'https://auth.example.com',
        '--aud',
        'orders-api',
        '--sub',
        'user-1',
        '--ttl',
        '5m',
        '--claims',
        '{"tenant_id":"acme"}',
      ]);
      assert.equal(signed.code, 0, signed.stderr);
      const token = signed.stdout.trim();
      const ok = await tessera([
        'verify',
        token,
        '--jwks',
        pub,
        '--alg',
        alg,
        '--iss',
        'https://auth.example.com',
        '--aud',
        'orders-api',
      ]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const out = JSON.parse(ok.stdout);
      assert.equal(out.header.alg, alg);
      assert.equal(out.payload.tenant_id, 'acme');
      assert.equal(out.payload.exp - out.payload.iat, 300);
      assert.equal(typeof out.payload.jti, 'string');
    });
  }

  it('reads the token from standard input with -', async () => {
    const priv = join(dir, 'stdin.jwk.json');
    const pub = join(dir, 'stdin.jwks.json');
    assert.equal((await tessera(['keygen', '--out', priv, '--jwks-out', pub])).code, 0);
    const token = (await tessera(['sign', '--key', priv, '--alg', 'ES256', '--iss', 'i', '--aud', 'a']))
      .stdout;
    const res = await tessera(
      ['verify', '-', '--jwks', pub, '--alg', 'ES256', '--iss', 'i', '--aud', 'a', '--json'],
      token,
    );
    assert.equal(res.code, 0, res.stdout);
    assert.equal(res.stdout.trim().split('\n').length, 1, '--json prints one line');
    const dec = await tessera(['decode', '-'], token);
    assert.equal(dec.code, 0);
    assert.match(dec.stdout, /^UNVERIFIED/);
    assert.equal(JSON.parse(dec.stdout.slice(dec.stdout.indexOf('\n') + 1)).payload.iss, 'i');
    const decJson = JSON.parse((await tessera(['decode', token.trim(), '--json'])).stdout);
    assert.equal(decJson.verified, false);
  });

  it('exits 1 with an error code for a rejected token, never echoing it', async () => {
    const priv = join(dir, 'rej.jwk.json');
    const pub = join(dir, 'rej.jwks.json');
    await tessera(['keygen', '--out', priv, '--jwks-out', pub]);
    const token = (
      await tessera(['sign', '--key', priv, '--alg', 'ES256', '--iss', 'i', '--aud', 'a'])
    ).stdout.trim();
    const wrongAud = await tessera([
      'verify',
      token,
      '--jwks',
      pub,
      '--alg',
      'ES256',
      '--iss',
      'i',
      '--aud',
      'b',
    ]);
    assert.equal(wrongAud.code, 1);
    assert.equal(JSON.parse(wrongAud.stdout).error.code, 'ERR_JWT_CLAIM_INVALID');
    const [h, p] = token.split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    const res = await tessera(['verify', none, '--jwks', pub, '--alg', 'ES256', '--iss', 'i', '--aud', 'a']);
    assert.equal(res.code, 1);
    assert.equal(JSON.parse(res.stdout).error.code, 'ERR_JOSE_ALG_NOT_ALLOWED');
    const tampered = `${h}.${Buffer.from('{"iss":"i","aud":"a","sub":"admin","exp":9999999999}').toString('base64url')}.${token.split('.')[2]}`;
    const t2 = await tessera([
      'verify',
      tampered,
      '--jwks',
      pub,
      '--alg',
      'ES256',
      '--iss',
      'i',
      '--aud',
      'a',
    ]);
    assert.equal(t2.code, 1);
    assert.equal(JSON.parse(t2.stdout).error.code, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    assert.ok(!t2.stdout.includes(p!) && !t2.stderr.includes(p!), 'output never echoes the token');
  });

  it('exits 2 for usage errors: missing flags, unreadable JWKS, bad algorithm', async () => {
    assert.equal((await tessera(['verify', 'x.y.z', '--alg', 'ES256', '--iss', 'i', '--aud', 'a'])).code, 2);
    assert.equal(
      (
        await tessera([
          'verify',
          'x.y.z',
          '--jwks',
          join(dir, 'missing.json'),
          '--alg',
          'ES256',
          '--iss',
          'i',
          '--aud',
          'a',
        ])
      ).code,
      2,
    );
    assert.equal(
      (
        await tessera([
          'verify',
          'x.y.z',
          '--jwks',
          join(dir, 'missing.json'),
          '--alg',
          'none',
          '--iss',
          'i',
          '--aud',
          'a',
        ])
      ).code,
      2,
    );
    assert.equal((await tessera(['keygen', '--alg', 'none'])).code, 2);
    assert.equal((await tessera(['verify', '--bogus'])).code, 2);
    assert.equal((await tessera(['no-such-command'])).code, 2);
    assert.equal((await tessera(['--help'])).code, 0);
  });

  it('keygen --alg HS256 --jwks-out is refused before anything is written (no stray secret)', async () => {
    const priv = join(dir, 'hs-stray.jwk.json');
    const pub = join(dir, 'hs-stray.jwks.json');
    const r = await tessera(['keygen', '--alg', 'HS256', '--out', priv, '--jwks-out', pub]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /HMAC secret has no public JWKS/);
    await assert.rejects(stat(priv), { code: 'ENOENT' });
    await assert.rejects(stat(pub), { code: 'ENOENT' });
    // Without --out the secret would have gone to standard output: nothing is printed either.
    const toStdout = await tessera(['keygen', '--alg', 'HS384', '--jwks-out', pub]);
    assert.equal(toStdout.code, 2);
    assert.equal(toStdout.stdout, '');
  });

  it('a duration without a unit is a usage error (--ttl 15 is neither 15 s nor 15 min)', async () => {
    const priv = join(dir, 'ttl.jwk.json');
    assert.equal((await tessera(['keygen', '--out', priv])).code, 0);
    const base = ['sign', '--key', priv, '--iss', 'i', '--aud', 'a', '--sub', 's'];
    const bare = await tessera([...base, '--ttl', '15']);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /duration "15" has no unit: write 15s, 15m/);
    assert.equal(bare.stdout, '');
    assert.equal((await tessera([...base, '--ttl', '15m'])).code, 0);
  });

  describe('JWKS from a URL', () => {
    let server: Server;
    let base: string;
    let jwksText = '';
    before(async () => {
      server = createServer((req, res) => {
        if (req.url === '/jwks.json') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(jwksText);
        } else if (req.url === '/redirect') {
          res.writeHead(302, { location: '/jwks.json' }).end();
        } else if (req.url === '/huge') {
          res.writeHead(200).end(Buffer.alloc(1024 * 1024, 0x20));
        } else res.writeHead(404).end();
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('fetches once, refuses redirects and oversized answers', async () => {
      const priv = join(dir, 'url.jwk.json');
      const pub = join(dir, 'url.jwks.json');
      await tessera(['keygen', '--out', priv, '--jwks-out', pub]);
      jwksText = await readFile(pub, 'utf8');
      const token = (
        await tessera(['sign', '--key', priv, '--alg', 'ES256', '--iss', 'i', '--aud', 'a'])
      ).stdout.trim();
      const args = ['--alg', 'ES256', '--iss', 'i', '--aud', 'a'];
      assert.equal((await tessera(['verify', token, '--jwks', `${base}/jwks.json`, ...args])).code, 0);
      assert.equal((await tessera(['verify', token, '--jwks', `${base}/redirect`, ...args])).code, 2);
      assert.equal((await tessera(['verify', token, '--jwks', `${base}/huge`, ...args])).code, 2);
    });
  });
});
