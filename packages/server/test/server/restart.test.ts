/**
 * The restart test from the issue: stop and start on the same data dir and the keys survive (same kids,
 * old tokens still verify); a wrong TESSERA_KEK fails cleanly with a clear message and changes no file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createVerifier, type JWKS } from '@tessera/jwt';
import { startServer } from '../../src/server/start.js';
import { openStore } from '../../src/store/open-store.js';
import { main } from '../../src/cli/main.js';
import { captureIO, tempDir, testConfig } from './helpers.js';

async function snapshot(dir: string) {
  const store = await openStore(undefined, { dataDir: dir });
  try {
    return JSON.stringify(await store.listKeys());
  } finally {
    await store.close();
  }
}

test('keys survive a restart; a wrong or missing KEK fails cleanly and overwrites nothing', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);

  const first = await startServer(testConfig(dir));
  const kids = first.keys.published().keys.map((k) => k.kid);
  const signerKid = first.keys.signer().kid;
  const token = first.keys.signer().sign({ iss: 'x', aud: 'api', exp: Math.floor(Date.now() / 1000) + 60 });
  await first.close();
  assert.equal(statSync(join(dir, 'kek')).mode & 0o777, 0o600);

  const second = await startServer(testConfig(dir));
  try {
    assert.deepEqual(
      second.keys.published().keys.map((k) => k.kid),
      kids,
    );
    assert.equal(second.keys.signer().kid, signerKid);
    const res = await fetch(`${second.url}/.well-known/jwks.json`);
    const verifier = createVerifier({
      algorithms: ['ES256'],
      issuer: 'x',
      audience: 'api',
      keys: (await res.json()) as JWKS,
    });
    await verifier.verify(token);
  } finally {
    await second.close();
  }

  const keysBefore = await snapshot(dir);
  const kekBefore = readFileSync(join(dir, 'kek'));
  const kekMtime = statSync(join(dir, 'kek')).mtimeMs;

  // Wrong KEK through the environment: startServer rejects with the clear message.
  const wrong = randomBytes(32).toString('base64url');
  await assert.rejects(
    startServer(testConfig(dir, {}, { TESSERA_KEK: wrong })),
    /the KEK does not match the one the keys were encrypted with/,
  );
  // And `tessera serve` says so on stderr and exits 1.
  const io = captureIO({ TESSERA_KEK: wrong });
  assert.equal(await main(['serve', '--port', '0', '--data-dir', dir, '--log-level', 'silent'], io), 1);
  assert.match(io.err(), /the KEK does not match the one the keys were encrypted with/);
  assert.equal(io.out(), '');

  assert.equal(await snapshot(dir), keysBefore);
  assert.deepEqual(readFileSync(join(dir, 'kek')), kekBefore);
  assert.equal(statSync(join(dir, 'kek')).mtimeMs, kekMtime);

  // A lost KEK file next to existing keys: an error, not a freshly generated KEK.
  renameSync(join(dir, 'kek'), join(dir, 'kek.bak'));
  await assert.rejects(startServer(testConfig(dir)), { code: 'ERR_KEK_MISSING' });
  assert.equal(existsSync(join(dir, 'kek')), false);
  assert.equal(await snapshot(dir), keysBefore);
  renameSync(join(dir, 'kek.bak'), join(dir, 'kek'));

  // The right KEK given through TESSERA_KEK works as well as the file.
  const viaEnv = await startServer(testConfig(dir, {}, { TESSERA_KEK: kekBefore.toString('utf8').trim() }));
  assert.equal(viaEnv.keys.signer().kid, signerKid);
  await viaEnv.close();
});
