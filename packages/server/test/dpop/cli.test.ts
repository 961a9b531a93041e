/**
 * The DPoP settings from the outside: `tessera clients create|update --dpop required|allowed` (stored as
 * the client's `dpop_bound_access_tokens`, RFC 9449 §5.2) and the serve options `--dpop-proof-window` and
 * `--dpop-nonce` with their environment variables.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { configHelp, loadConfig } from '../../src/server/config.js';
import { UsageError } from '../../src/cli/args.js';

async function tessera(args: string[]) {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const code = await main(args, { stdout, stderr, stdin: new PassThrough(), env: {} });
  return { code, out, err };
}

describe('tessera clients --dpop', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-dpop-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('create --dpop required stores dpop_bound_access_tokens; update --dpop allowed clears it; default allowed', async () => {
    const dd = ['--data-dir', dir, '--init'];
    const created = await tessera([
      'clients',
      'create',
      '--id',
      'strict',
      '--grants',
      'client_credentials',
      '--dpop',
      'required',
      '--json',
      ...dd,
    ]);
    assert.equal(created.code, 0, created.err);
    assert.equal(JSON.parse(created.out).dpop_bound_access_tokens, true);
    const human = await tessera(['clients', 'show', 'strict', '--data-dir', dir]);
    assert.match(human.out, /dpop: {11}required/);
    const updated = await tessera([
      'clients',
      'update',
      'strict',
      '--dpop',
      'allowed',
      '--json',
      '--data-dir',
      dir,
    ]);
    assert.equal(updated.code, 0, updated.err);
    assert.equal(JSON.parse(updated.out).dpop_bound_access_tokens, false);
    const plain = await tessera([
      'clients',
      'create',
      '--id',
      'plain',
      '--grants',
      'client_credentials',
      '--json',
      '--data-dir',
      dir,
    ]);
    assert.equal(JSON.parse(plain.out).dpop_bound_access_tokens, false);
  });

  it('--dpop with another value is a usage error (exit 2)', async () => {
    const bad = await tessera([
      'clients',
      'create',
      '--id',
      'x',
      '--grants',
      'client_credentials',
      '--dpop',
      'yes',
      '--data-dir',
      dir,
      '--init',
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--dpop must be required or allowed/);
  });
});

describe('serve options --dpop-proof-window and --dpop-nonce', () => {
  it('default to 60 s and off', () => {
    const config = loadConfig({ values: {}, env: {} });
    assert.equal(config.dpopProofWindow, 60);
    assert.equal(config.dpopNonce, false);
  });

  it('come from flags or TESSERA_DPOP_PROOF_WINDOW / TESSERA_DPOP_NONCE, flags first', () => {
    const env = { TESSERA_DPOP_PROOF_WINDOW: '30s', TESSERA_DPOP_NONCE: 'true' };
    const fromEnv = loadConfig({ values: {}, env });
    assert.deepEqual([fromEnv.dpopProofWindow, fromEnv.dpopNonce], [30, true]);
    const fromFlags = loadConfig({ values: { 'dpop-proof-window': '2m', 'dpop-nonce': 'false' }, env });
    assert.deepEqual([fromFlags.dpopProofWindow, fromFlags.dpopNonce], [120, false]);
  });

  it('refuse bad values', () => {
    assert.throws(() => loadConfig({ values: { 'dpop-nonce': 'yes' }, env: {} }), UsageError);
    assert.throws(() => loadConfig({ values: { 'dpop-proof-window': '60' }, env: {} }), UsageError);
    assert.throws(() => loadConfig({ values: { 'dpop-proof-window': '0s' }, env: {} }), UsageError);
  });

  it('are listed in tessera serve --help with their environment variables', () => {
    const help = configHelp();
    assert.match(help, /--dpop-proof-window VALUE .*TESSERA_DPOP_PROOF_WINDOW; default 60s/);
    assert.match(help, /--dpop-nonce VALUE .*TESSERA_DPOP_NONCE; default false/);
  });
});
