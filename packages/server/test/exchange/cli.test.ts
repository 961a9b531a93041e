/**
 * `tessera clients create|update --exchange-audience … --exchange-trust-issuer ISSUER=JWKS_URL` and
 * `tessera serve --max-actor-depth`: what is stored, shown and refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/server/config.js';
import { TOKEN_EXCHANGE_GRANT } from '../../src/oauth/grants/index.js';

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

describe('tessera clients: token exchange settings', () => {
  let dir: string;
  let dd: string[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-exchange-cli-'));
    dd = ['--data-dir', dir, '--init'];
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('create stores the exchange audiences and trusted issuers; show prints them', async () => {
    const created = await tessera([
      'clients',
      'create',
      '--id',
      'orders-svc',
      '--grants',
      TOKEN_EXCHANGE_GRANT,
      '--scope',
      'payments:read',
      '--exchange-audience',
      'orders-api,payments-api',
      '--exchange-trust-issuer',
      'https://idp.example=https://idp.example/.well-known/jwks.json?v=1',
      '--json',
      ...dd,
    ]);
    assert.equal(created.code, 0, created.err);
    const view = JSON.parse(created.out);
    assert.deepEqual(view.exchange_audiences, ['orders-api', 'payments-api']);
    assert.deepEqual(view.exchange_trust_issuers, [
      { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/.well-known/jwks.json?v=1' },
    ]);
    const shown = await tessera(['clients', 'show', 'orders-svc', ...dd]);
    assert.match(shown.out, /exchanges for: {2}orders-api, payments-api/);
    assert.match(shown.out, /trusts issuers: https:\/\/idp\.example \(/);
  });

  it('update changes and clears them, validated like create', async () => {
    const updated = await tessera([
      'clients',
      'update',
      'orders-svc',
      '--exchange-audience',
      'ledger-api',
      '--exchange-trust-issuer',
      '',
      '--json',
      ...dd,
    ]);
    assert.equal(updated.code, 0, updated.err);
    const view = JSON.parse(updated.out);
    assert.deepEqual(view.exchange_audiences, ['ledger-api']);
    assert.deepEqual(view.exchange_trust_issuers, []);
    const emptied = await tessera(['clients', 'update', 'orders-svc', '--exchange-audience', '', ...dd]);
    assert.equal(emptied.code, 1);
    assert.match(emptied.err, /at least one --exchange-audience/);
  });

  it('refuses a malformed trusted issuer, plain-http JWKS off loopback, and settings without the grant', async () => {
    const base = ['clients', 'create', '--grants', TOKEN_EXCHANGE_GRANT, '--exchange-audience', 'a', ...dd];
    const malformed = await tessera([
      ...base,
      '--id',
      'x1',
      '--exchange-trust-issuer',
      'https://idp.example',
    ]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.err, /ISSUER=JWKS_URL/);
    const plain = await tessera([
      ...base,
      '--id',
      'x2',
      '--exchange-trust-issuer',
      'https://i=http://i.example/k',
    ]);
    assert.equal(plain.code, 1);
    assert.match(plain.err, /must be https/);
    const noGrant = await tessera([
      'clients',
      'create',
      '--id',
      'x3',
      '--grants',
      'client_credentials',
      '--exchange-audience',
      'a',
      ...dd,
    ]);
    assert.equal(noGrant.code, 1);
    assert.match(noGrant.err, /need the token-exchange grant/);
  });
});

describe('tessera serve --max-actor-depth', () => {
  it('defaults to 4 and accepts 1..16', () => {
    assert.equal(loadConfig({ env: {} }).maxActorDepth, 4);
    assert.equal(loadConfig({ values: { 'max-actor-depth': '2' }, env: {} }).maxActorDepth, 2);
    assert.equal(loadConfig({ env: { TESSERA_MAX_ACTOR_DEPTH: '6' } }).maxActorDepth, 6);
    assert.throws(() => loadConfig({ values: { 'max-actor-depth': '0' }, env: {} }), /1\.\.16/);
    assert.throws(() => loadConfig({ values: { 'max-actor-depth': '17' }, env: {} }), /1\.\.16/);
  });
});
