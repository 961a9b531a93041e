import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalKeySet, createVerifier, exportJWK, generateKeyPair, type Alg } from '@tessera/jwt';
import { createLocalSigner } from '../../src/keys/local-signer.js';

const ALGS: Alg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];

for (const alg of ALGS) {
  test(`${alg}: thread-pool signatures verify, with the same header as the synchronous signer`, async () => {
    const { privateKey, publicKey } = generateKeyPair(alg);
    const kid = publicKey.kid!;
    const signer = createLocalSigner(exportJWK(privateKey, { includePrivate: true }), alg, kid);
    const verifier = createVerifier({
      algorithms: [alg],
      issuer: 'https://issuer.example',
      audience: 'api',
      keys: createLocalKeySet({ keys: [exportJWK(publicKey)] }),
      typ: 'at+jwt',
    });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: 'https://issuer.example',
      aud: 'api',
      sub: 'svc',
      exp: now + 60,
      iat: now,
      note: 'ü',
    };
    // Several at once: each call must sign its own input, whatever order the pool finishes in.
    const tokens = await Promise.all(
      Array.from({ length: 8 }, (_, i) => signer.signAsync!({ ...claims, jti: `j${i}` }, { typ: 'at+jwt' })),
    );
    for (const [i, token] of tokens.entries()) {
      const { payload, header } = await verifier.verify(token);
      assert.equal(payload.jti, `j${i}`);
      assert.equal(payload.note, 'ü');
      assert.deepEqual(header, { alg, kid, typ: 'at+jwt' });
    }
    const sync = signer.sign(claims, { typ: 'at+jwt' });
    assert.equal(tokens[0]!.split('.')[0], sync.split('.')[0]);
  });
}

test('thread-pool signing keeps the header rules and fills iat', async () => {
  const { privateKey, publicKey } = generateKeyPair('ES256');
  const signer = createLocalSigner(exportJWK(privateKey, { includePrivate: true }), 'ES256', publicKey.kid!);
  // The header comes from @tessera/jwt's signer, so a key-carrying or alg-overriding member is refused.
  await assert.rejects(async () => signer.signAsync!({ sub: 'x' }, { jku: 'https://evil.example/jwks' }));
  await assert.rejects(async () => signer.signAsync!({ sub: 'x' }, { alg: 'none' }));
  const token = await signer.signAsync!({ sub: 'x' });
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
    iat: number;
  };
  assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 5);
});
