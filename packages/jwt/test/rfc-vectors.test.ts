/**
 * The examples of RFC 7515 appendix A, RFC 7520 §4 (the JOSE cookbook), RFC 8037, RFC 7638 and RFC 7797 give
 * their documented results. Vectors come from test/vectors/jose-cookbook (README there).
 *
 * Several of these examples sign payloads that are not JWT claims sets ("Payload", a Tolkien quote). Our
 * verifier is a JWT verifier: it checks the signature first and only then parses the payload, so for those
 * vectors "verifies at the JWS level" means: the verifier gets past the signature and fails only on the payload
 * (see jwsOutcome in helpers/vectors.ts), the same bytes through verifyBytes return true, and one flipped
 * signature bit gives ERR_JWS_SIGNATURE_VERIFICATION_FAILED. Claim rules are switched off with issuer/audience
 * null, allowMissingExp and a fixed clock where the vector needs it; signature and alg checks are never weakened.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALGORITHMS,
  TesseraError,
  calculateJWKThumbprint,
  createSigner,
  createVerifier,
  exportJWK,
  importJWK,
  type Alg,
  type CoreVerifier,
  type JWK,
  type TesseraKey,
} from '../src/index.js';
import { signBytes, verifyBytes } from '../src/jws-crypto.js';
import { cookbook, jwsOutcome, rfcVector } from './helpers/vectors.js';

const A1_EXP = 1300819380;
const beforeExp = () => (A1_EXP - 60) * 1000;

function jwsVerifier(alg: Alg, key: TesseraKey | JWK): CoreVerifier {
  return createVerifier({
    algorithms: [alg],
    issuer: null,
    audience: null,
    allowMissingExp: true,
    clock: beforeExp,
    keys: [key as JWK],
  });
}

function flipSignatureBit(token: string): string {
  const dot = token.lastIndexOf('.');
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  sig[sig.length >> 1]! ^= 0x01;
  return `${token.slice(0, dot)}.${sig.toString('base64url')}`;
}

/** The JWS-level check for vectors whose payload is not a claims set. */
async function assertJWSVerifies(v: CoreVerifier, alg: Alg, key: TesseraKey, compact: string): Promise<void> {
  const outcome = await jwsOutcome(v, compact);
  assert.equal(outcome.accepted, true, `expected the signature to hold, got ${JSON.stringify(outcome)}`);
  const dot = compact.lastIndexOf('.');
  assert.equal(
    verifyBytes(
      ALGORITHMS[alg],
      key,
      Buffer.from(compact.slice(0, dot)),
      Buffer.from(compact.slice(dot + 1), 'base64url'),
    ),
    true,
  );
  await assert.rejects(v.verify(flipSignatureBit(compact)), {
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  });
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TesseraError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('RFC 7515 appendix A', () => {
  test('A.1 HS256: verifies (CRLF header bytes kept), MAC reproduced, expired after exp', async () => {
    const v = rfcVector('rfc7515-A.1');
    assert.equal(Buffer.from(v.compact!.split('.')[0]!, 'base64url').toString(), v.protectedHeader);
    const key = importJWK(v.jwk as JWK, { alg: 'HS256' });
    const verifier = createVerifier({
      algorithms: ['HS256'],
      issuer: 'joe',
      audience: null,
      clock: beforeExp,
      keys: [key],
    });
    const { header, payload } = await verifier.verify(v.compact!);
    assert.equal(header.typ, 'JWT');
    assert.equal(payload.iss, 'joe');
    assert.equal(payload.exp, A1_EXP);
    assert.equal(payload['http://example.com/is_root'], true);
    assert.equal(
      signBytes(ALGORITHMS.HS256, key, Buffer.from(v.signingInput!)).toString('base64url'),
      v.signatureB64u,
    );
    const late = createVerifier({
      algorithms: ['HS256'],
      issuer: 'joe',
      audience: null,
      clock: () => A1_EXP * 1000,
      keys: [key],
    });
    await rejectsWith(late.verify(v.compact!), 'ERR_JWT_EXPIRED');
    await rejectsWith(verifier.verify(flipSignatureBit(v.compact!)), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  test('A.2 RS256: verifies and the deterministic signature is reproduced', async () => {
    const v = rfcVector('rfc7515-A.2');
    const priv = importJWK(v.jwk as JWK, { alg: 'RS256' });
    const verifier = createVerifier({
      algorithms: ['RS256'],
      issuer: 'joe',
      audience: null,
      clock: beforeExp,
      keys: [priv],
    });
    const { payload } = await verifier.verify(v.compact!);
    assert.equal(payload.iss, 'joe');
    assert.equal(
      signBytes(ALGORITHMS.RS256, priv, Buffer.from(v.signingInput!)).toString('base64url'),
      v.signatureB64u,
    );
    await rejectsWith(verifier.verify(flipSignatureBit(v.compact!)), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  test('A.3 ES256: verifies; a fresh signature with the same key verifies too', async () => {
    const v = rfcVector('rfc7515-A.3');
    const priv = importJWK(v.jwk as JWK, { alg: 'ES256' });
    const verifier = createVerifier({
      algorithms: ['ES256'],
      issuer: 'joe',
      audience: null,
      clock: beforeExp,
      keys: [priv],
    });
    const { payload } = await verifier.verify(v.compact!);
    assert.equal(payload.exp, A1_EXP);
    const signer = createSigner({ key: priv, alg: 'ES256', clock: beforeExp });
    await verifier.verify(signer.sign({ iss: 'joe', exp: A1_EXP }));
    await rejectsWith(verifier.verify(flipSignatureBit(v.compact!)), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  test('A.4 ES512 (payload "Payload" is not a claims set): verifies at the JWS level', async () => {
    const v = rfcVector('rfc7515-A.4');
    const priv = importJWK(v.jwk as JWK, { alg: 'ES512' });
    await assertJWSVerifies(jwsVerifier('ES512', priv), 'ES512', priv, v.compact!);
  });

  test('A.5 alg none: rejected, whatever algorithms the verifier allows', async () => {
    const v = rfcVector('rfc7515-A.5');
    const key = importJWK(rfcVector('rfc7515-A.1').jwk as JWK, { alg: 'HS256' });
    await rejectsWith(jwsVerifier('HS256', key).verify(v.compact!), 'ERR_JOSE_ALG_NOT_ALLOWED');
  });
});

describe('RFC 7520 §4 (JOSE cookbook)', () => {
  const compactCases: [string, Alg, boolean][] = [
    ['jws/4_1.rsa_v15_signature.json', 'RS256', true],
    ['jws/4_2.rsa-pss_signature.json', 'PS384', false],
    ['jws/4_3.ecdsa_signature.json', 'ES512', false],
    ['jws/4_4.hmac-sha2_integrity_protection.json', 'HS256', true],
  ];
  for (const [file, alg, deterministic] of compactCases) {
    test(`${file}: the compact form verifies (${alg})`, async () => {
      const ex = cookbook(file);
      assert.equal(ex.input.alg, alg);
      const key = importJWK(ex.input.key as JWK, { alg });
      const compact = ex.output.compact!;
      // The payload is the Tolkien quote, not a claims set: JWS-level check.
      assert.equal(Buffer.from(compact.split('.')[1]!, 'base64url').toString(), ex.input.payload);
      await assertJWSVerifies(jwsVerifier(alg, key), alg, key, compact);
      const dot = compact.lastIndexOf('.');
      const again = signBytes(ALGORITHMS[alg], key, Buffer.from(compact.slice(0, dot)));
      if (deterministic) assert.equal(again.toString('base64url'), compact.slice(dot + 1));
      else assert.equal(verifyBytes(ALGORITHMS[alg], key, Buffer.from(compact.slice(0, dot)), again), true);
    });
  }

  test('4_2 PS384 key cannot serve RS384 or PS256 (binding by alg)', async () => {
    const ex = cookbook('jws/4_2.rsa-pss_signature.json');
    const key = importJWK(ex.input.key as JWK, { alg: 'PS384' });
    for (const alg of ['PS256', 'RS384'] as const) {
      assert.throws(() => jwsVerifier(alg, key), { code: 'ERR_INVALID_OPTIONS' });
    }
    // Re-labelled as RS384 (same bytes), the token finds no key that may serve RS384.
    const wide = createVerifier({
      algorithms: ['PS384', 'RS384'],
      issuer: null,
      audience: null,
      allowMissingExp: true,
      keys: [key],
    });
    const [, p, s] = ex.output.compact!.split('.');
    const relabelled = `${Buffer.from('{"alg":"RS384","kid":"bilbo.baggins@hobbiton.example"}').toString('base64url')}.${p}.${s}`;
    await rejectsWith(wide.verify(relabelled), 'ERR_JWKS_NO_MATCHING_KEY');
  });

  test('4_5 detached content (H..S): rejected — a JWT carries its payload', async () => {
    const ex = cookbook('jws/4_5.signature_with_detached_content.json');
    const key = importJWK(ex.input.key as JWK, { alg: 'HS256' });
    // The signing input "H." is not what was signed ("H." + b64u(payload)), so the MAC fails.
    await rejectsWith(
      jwsVerifier('HS256', key).verify(ex.output.compact!),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    );
  });

  for (const file of [
    'jws/4_5.signature_with_detached_content.json',
    'jws/4_6.protecting_specific_header_fields.json',
    'jws/4_7.protecting_content_only.json',
    'jws/4_8.multiple_signatures.json',
  ]) {
    test(`${file}: JSON serializations are rejected (compact only, A26)`, async () => {
      const ex = cookbook(file);
      const keys = Array.isArray(ex.input.key) ? ex.input.key : [ex.input.key];
      const hmac = keys.find((k) => k.kty === 'oct') as JWK;
      const v = jwsVerifier('HS256', importJWK(hmac, { alg: 'HS256' }));
      let forms = 0;
      for (const form of [ex.output.json, ex.output.json_flat]) {
        if (form === undefined) continue;
        forms++;
        await rejectsWith(v.verify(JSON.stringify(form)), 'ERR_JWS_INVALID');
      }
      assert.ok(forms > 0);
    });
  }
});

describe('RFC 8037 (Ed25519)', () => {
  test('A.1/A.2: the private key imports and its public half is the RFC public key', () => {
    const a1 = rfcVector('rfc8037-A.1');
    const a2 = rfcVector('rfc8037-A.2');
    const priv = importJWK(a1.jwk as JWK, { alg: 'EdDSA' });
    assert.equal(priv.type, 'private');
    const pub = exportJWK(priv);
    assert.equal(pub.x, (a2.jwk as JWK).x);
    assert.equal(pub.d, undefined);
    assert.equal(Buffer.from(pub.x!, 'base64url').toString('hex'), a2.publicHex);
    assert.equal(Buffer.from((a1.jwk as JWK).d!, 'base64url').toString('hex'), a1.secretHex);
    assert.deepEqual(importJWK(a2.jwk as JWK).algorithms, ['EdDSA']);
  });

  test('A.3: thumbprint kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k', () => {
    const a3 = rfcVector('rfc8037-A.3');
    assert.equal(calculateJWKThumbprint(a3.jwk as JWK), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    assert.equal(a3.thumbprintB64u, 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    // The private JWK has the same thumbprint (private members are not part of it).
    assert.equal(calculateJWKThumbprint(rfcVector('rfc8037-A.1').jwk as JWK), a3.thumbprintB64u);
  });

  test('A.4: the EdDSA JWS verifies, and signing reproduces the exact RFC signature', async () => {
    const a4 = rfcVector('rfc8037-A.4');
    const priv = importJWK(a4.jwk as JWK, { alg: 'EdDSA' });
    const pub = importJWK(rfcVector('rfc8037-A.2').jwk as JWK, { alg: 'EdDSA' });
    await assertJWSVerifies(jwsVerifier('EdDSA', pub), 'EdDSA', pub, a4.compact!);
    // Ed25519 is deterministic: the same signing input gives the RFC's signature byte for byte.
    assert.equal(
      signBytes(ALGORITHMS.EdDSA, priv, Buffer.from(a4.signingInput!)).toString('base64url'),
      a4.signatureB64u,
    );
    assert.equal(`${a4.signingInput}.${a4.signatureB64u}`, a4.compact);
    // The cookbook copy (curve25519/jws.json) is the same token.
    assert.equal(cookbook('curve25519/jws.json').output.compact, a4.compact);
  });
});

describe('RFC 7638 (JWK thumbprint)', () => {
  test('3.1: NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs, ignoring alg and kid', () => {
    const v = rfcVector('rfc7638-3.1');
    assert.equal(calculateJWKThumbprint(v.jwk as JWK), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    const bare = { kty: 'RSA', n: (v.jwk as JWK).n, e: (v.jwk as JWK).e } as JWK;
    assert.equal(calculateJWKThumbprint(bare), v.thumbprintB64u);
    // Member order in the input does not matter.
    assert.equal(calculateJWKThumbprint({ e: bare.e, n: bare.n, kty: 'RSA' } as JWK), v.thumbprintB64u);
  });
});

describe('RFC 7797 (unencoded payload option)', () => {
  test('4.1 ({"alg":"HS256"}, payload "$.02" base64url-encoded as usual) verifies at the JWS level', async () => {
    const v = rfcVector('rfc7797-4.1');
    const key = importJWK(v.jwk as JWK, { alg: 'HS256' });
    await assertJWSVerifies(jwsVerifier('HS256', key), 'HS256', key, v.compact!);
  });

  test('4.2 (b64:false, crit ["b64"]) is rejected with ERR_JOSE_NOT_SUPPORTED', async () => {
    const v = rfcVector('rfc7797-4.2');
    const key = importJWK(v.jwk as JWK, { alg: 'HS256' });
    const verifier = jwsVerifier('HS256', key);
    await rejectsWith(verifier.verify(v.compactDetached!), 'ERR_JOSE_NOT_SUPPORTED');
    // With the payload attached the token has four segments ("$.02" contains a dot).
    const [h, , s] = v.compactDetached!.split('.');
    await rejectsWith(verifier.verify(`${h}.${v.payload}.${s}`), 'ERR_JWS_INVALID');
    await rejectsWith(verifier.verify(JSON.stringify(v.flattenedJson)), 'ERR_JWS_INVALID');
  });

  test('cookbook rfc7797/hmac-sha2_b64_false.json compact form is rejected with ERR_JOSE_NOT_SUPPORTED', async () => {
    const ex = cookbook('rfc7797/hmac-sha2_b64_false.json');
    const key = importJWK(ex.input.key as JWK, { alg: 'HS256' });
    await rejectsWith(jwsVerifier('HS256', key).verify(ex.output.compact!), 'ERR_JOSE_NOT_SUPPORTED');
  });
});
