/**
 * `tessera serve --tls-cert FILE --tls-key FILE`: HTTPS served directly, an https:// default issuer, and the
 * JWKS fetched over HTTPS by the SDK's remote key set trusting a custom CA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { createHTTPFetcher, createRemoteJWKSet, createVerifier } from '@tessera/jwt';
import { basic, startHarness } from '../oauth/harness.js';
import { main } from '../../src/cli/main.js';
import { captureIO, tempDir } from './helpers.js';
import { selfSignedCertificate } from './self-signed.js';

function post(
  url: string,
  agent: Agent,
  auth: string,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: auth,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += String(d)));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('--tls-cert/--tls-key: HTTPS with an https issuer; the SDK fetches the JWKS over HTTPS with a custom CA and a token verifies', async (t) => {
  const { dir, cleanup } = tempDir();
  const { cert, key } = selfSignedCertificate();
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key, { mode: 0o600 });
  const h = await startHarness({ 'tls-cert': join(dir, 'cert.pem'), 'tls-key': join(dir, 'key.pem') });
  const agent = new Agent({ ca: cert, keepAlive: false });
  t.after(async () => {
    agent.destroy();
    await h.close();
    cleanup();
  });
  assert.match(h.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(h.server.ctx.config.issuer, h.url);

  const { id, secret } = await h.addClient({ id: 'svc', grants: ['client_credentials'], audience: ['api'] });
  const res = await post(`${h.url}/oauth/token`, agent, basic(id, secret!), 'grant_type=client_credentials');
  assert.equal(res.status, 200, JSON.stringify(res.json));

  const keys = createRemoteJWKSet(`${h.url}/.well-known/jwks.json`, {
    fetcher: createHTTPFetcher({ httpsAgent: agent }),
  });
  const verifier = createVerifier({ algorithms: ['ES256'], issuer: h.url, audience: 'api', keys });
  const { payload } = await verifier.verify(res.json['access_token'] as string);
  assert.equal(payload.iss, h.url);
  assert.equal(payload.sub, 'svc');

  // Without the CA, the same fetch is refused: the certificate is really checked.
  const untrusted = createRemoteJWKSet(`${h.url}/.well-known/jwks.json`, {
    fetcher: createHTTPFetcher({ httpsAgent: new Agent({ keepAlive: false }) }),
  });
  const strict = createVerifier({ algorithms: ['ES256'], issuer: h.url, audience: 'api', keys: untrusted });
  await assert.rejects(strict.verify(res.json['access_token'] as string));
});

test('serve refuses a non-loopback --host without --issuer, and unreadable TLS files, before listening', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const io = captureIO();
  assert.equal(await main(['serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', dir], io), 2);
  assert.match(io.err(), /--host 0\.0\.0\.0 needs --issuer: the issuer is the "iss" of every token/);
  const env = captureIO({ TESSERA_HOST: '0.0.0.0' });
  assert.equal(await main(['serve', '--port', '0', '--data-dir', dir], env), 2);
  const files = captureIO();
  const missing = join(dir, 'missing.pem');
  assert.equal(
    await main(
      [
        'serve',
        '--port',
        '0',
        '--data-dir',
        dir,
        '--tls-cert',
        missing,
        '--tls-key',
        missing,
        '--log-level',
        'silent',
      ],
      files,
    ),
    2,
  );
  assert.match(files.err(), new RegExp(`cannot read --tls-cert ${missing}: ENOENT`));
  assert.deepEqual(readdirSync(dir), [], 'nothing created before the refusal');
});
