// argon2id hashing: correct answers, the dummy check for unknown accounts, rehash detection, and the cap on
// hashes in flight that keeps libuv's thread pool free for token signing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PASSWORD_HASH_CONCURRENCY,
  hashPassword,
  needsRehash,
  passwordHashingLoad,
  verifyPassword,
} from '../../src/users/password.js';

test('a hash verifies its password only; no hash (unknown account) never verifies', async () => {
  const phc = await hashPassword('correct horse battery staple');
  assert.match(phc, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.deepEqual(await verifyPassword(phc, 'correct horse battery staple'), { ok: true, rehash: false });
  assert.deepEqual(await verifyPassword(phc, 'correct horse battery stapler'), { ok: false, rehash: false });
  assert.deepEqual(await verifyPassword(null, 'correct horse battery staple'), { ok: false, rehash: false });
  assert.equal(needsRehash(phc), false);
  assert.equal(needsRehash(phc.replace('m=19456,t=2', 'm=4096,t=3')), true);
});

test('never more argon2id operations in flight than the cap; the rest wait and all complete', async () => {
  const phc = await hashPassword('correct horse battery staple');
  let peak = 0;
  let sampling = true;
  const sample = () => {
    peak = Math.max(peak, passwordHashingLoad().running);
    if (sampling) setImmediate(sample);
  };
  sample();
  const results = await Promise.all(
    Array.from({ length: PASSWORD_HASH_CONCURRENCY + 4 }, () =>
      verifyPassword(phc, 'correct horse battery staple'),
    ),
  );
  sampling = false;
  assert.ok(results.every((r) => r.ok));
  assert.ok(PASSWORD_HASH_CONCURRENCY >= 1 && PASSWORD_HASH_CONCURRENCY <= 3);
  assert.ok(peak >= 1 && peak <= PASSWORD_HASH_CONCURRENCY, `peak ${peak} in flight`);
  assert.deepEqual(passwordHashingLoad(), { running: 0, waiting: 0 });
});
