import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decryptPrivateJWK, derivePepper, encryptPrivateJWK, KEKError, loadKEK } from '../../src/keys/kek.js';
import { tempDir } from '../server/helpers.js';

const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'secret-d' };

test('a zero-config first run creates a 0600 KEK file and says so; later runs read it', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = join(dir, 'sub', 'kek');
  const logged: string[] = [];
  const log = {
    info: (_o: object, m: string) => logged.push(m),
    warn: (_o: object, m: string) => logged.push(m),
  };
  const first = loadKEK({ env: undefined, file, allowCreate: true, log });
  assert.equal(first.created, true);
  assert.equal(first.key.length, 32);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(logged.join('\n'), /generated a new key-encryption key/);
  const second = loadKEK({ env: undefined, file, allowCreate: true });
  assert.equal(second.created, false);
  assert.deepEqual(second.key, first.key);
  assert.equal(second.id, first.id);
});

test('TESSERA_KEK wins over the file and must be 32 base64url bytes', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const key = randomBytes(32);
  const kek = loadKEK({ env: key.toString('base64url'), file: join(dir, 'kek'), allowCreate: true });
  assert.equal(kek.source, 'env');
  assert.deepEqual(kek.key, key);
  assert.equal(existsSync(join(dir, 'kek')), false, 'no file is created when the env var is set');
  for (const bad of [
    'short',
    randomBytes(31).toString('base64url'),
    randomBytes(32).toString('base64url') + '!!',
  ])
    assert.throws(() => loadKEK({ env: bad, file: join(dir, 'kek'), allowCreate: true }), {
      code: 'ERR_KEK_INVALID',
    });
});

test('no KEK next to existing keys is an error, never a fresh KEK', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  assert.throws(() => loadKEK({ env: undefined, file: join(dir, 'kek'), allowCreate: false }), {
    code: 'ERR_KEK_MISSING',
  });
  assert.equal(existsSync(join(dir, 'kek')), false);
});

test('AES-256-GCM round trip; the blob names the KEK and carries no plaintext', () => {
  const kek = loadKEK({
    env: randomBytes(32).toString('base64url'),
    file: '/nonexistent',
    allowCreate: false,
  });
  const blob = encryptPrivateJWK(jwk, kek, 'kid-1');
  assert.doesNotMatch(blob, /secret-d/);
  const parsed = JSON.parse(blob);
  assert.equal(parsed.v, 1);
  assert.equal(parsed.kek, kek.id);
  assert.deepEqual(decryptPrivateJWK(blob, kek, 'kid-1'), jwk);
  // Bound to its kid (AAD): a blob moved to another key's row fails.
  assert.throws(() => decryptPrivateJWK(blob, kek, 'kid-2'), { code: 'ERR_KEK_INVALID' });
});

test('a wrong KEK is a clear error and overwrites nothing', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = join(dir, 'kek');
  const right = loadKEK({ env: undefined, file, allowCreate: true });
  const before = readFileSync(file);
  const blob = encryptPrivateJWK(jwk, right, 'k');
  const wrong = loadKEK({ env: randomBytes(32).toString('base64url'), file, allowCreate: true });
  assert.throws(
    () => decryptPrivateJWK(blob, wrong, 'k'),
    (err: unknown) =>
      err instanceof KEKError &&
      err.code === 'ERR_KEK_MISMATCH' &&
      /the KEK does not match the one the keys were encrypted with/.test(err.message),
  );
  assert.deepEqual(readFileSync(file), before);
  // A corrupted KEK file is also refused, not replaced.
  writeFileSync(file, 'garbage');
  assert.throws(() => loadKEK({ env: undefined, file, allowCreate: true }), { code: 'ERR_KEK_INVALID' });
  assert.equal(readFileSync(file, 'utf8'), 'garbage');
});

test('derivePepper is deterministic, 32 bytes and differs from the KEK', () => {
  const kek = loadKEK({ env: randomBytes(32).toString('base64url'), file: '/x', allowCreate: false });
  const p1 = derivePepper(kek);
  assert.equal(p1.length, 32);
  assert.deepEqual(derivePepper(kek), p1);
  assert.notDeepEqual(p1, kek.key);
});
