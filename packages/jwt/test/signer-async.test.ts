/**
 * signer.signAsync: the thread-pool signature must give exactly what sign() gives (same header, same claims,
 * a signature that verifies), keep each call's input separate while several are in flight (the synchronous
 * path reuses scratch memory), and report bad input as a rejected promise, never a throw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  SUPPORTED_ALGORITHMS,
  createSigner,
  createVerifier,
  generateKeyPair,
  generateSecret,
  type Alg,
} from '../src/index.js';

const ISS = 'https://issuer.example.com';

function keysFor(alg: Alg) {
  if (alg.startsWith('HS')) {
    const secret = generateSecret(alg as 'HS256' | 'HS384' | 'HS512');
    return { signKey: secret, verifyKey: secret };
  }
  const { privateKey, publicKey } = generateKeyPair(alg);
  return { signKey: privateKey, verifyKey: publicKey };
}

describe('signer.signAsync', () => {
  for (const alg of SUPPORTED_ALGORITHMS) {
    test(`${alg}: concurrent async signatures verify, each with its own claims and the sync header`, async () => {
      const { signKey, verifyKey } = keysFor(alg);
      const signer = createSigner({ key: signKey, alg });
      const verifier = createVerifier({ algorithms: [alg], issuer: ISS, audience: 'api', keys: [verifyKey] });
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: ISS, aud: 'api', exp: now + 60, note: 'ü' };
      const header = { typ: 'at+jwt' };
      // A sync sign between the async ones overwrites the shared scratch while the pool still works.
      const pending = Array.from({ length: 6 }, (_, i) =>
        signer.signAsync({ ...claims, jti: `j${i}` }, { header }),
      );
      const sync = signer.sign({ ...claims, jti: 'sync' }, { header });
      const tokens = await Promise.all(pending);
      for (const [i, token] of tokens.entries()) {
        const { payload } = await verifier.verify(token);
        assert.equal(payload.jti, `j${i}`);
        assert.equal(payload.note, 'ü');
        assert.equal(typeof payload.iat, 'number');
        assert.equal(token.split('.')[0], sync.split('.')[0]);
      }
      assert.equal((await verifier.verify(sync)).payload.jti, 'sync');
    });
  }

  test('bad payloads and forbidden header members reject (no synchronous throw)', async () => {
    const { privateKey } = generateKeyPair('ES256');
    const signer = createSigner({ key: privateKey, alg: 'ES256' });
    for (const bad of [null, [], 'x'] as unknown[]) {
      const p = signer.signAsync(bad as never);
      await assert.rejects(p, { code: 'ERR_INVALID_OPTIONS' });
    }
    for (const name of ['alg', 'kid', 'jku', 'jwk', 'x5u', 'crit', 'b64']) {
      await assert.rejects(signer.signAsync({ sub: 'x' }, { header: { [name]: 'v' } }), {
        code: 'ERR_INVALID_OPTIONS',
      });
    }
  });
});
