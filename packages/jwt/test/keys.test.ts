/**
 * Keys: import/export round trips (JWK and PEM SPKI/PKCS#8) for RSA, EC P-256/384/521, OKP Ed25519 and oct;
 * generation for every algorithm with the RFC 7638 thumbprint as kid (cross-checked with jose); the binding
 * rules (JWK alg/use/key_ops, curve and size checks, RSA exponent); and exportJWK never emitting private members
 * unless asked.
 */
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import * as jose from 'jose';
import {
  SUPPORTED_ALGORITHMS,
  TesseraError,
  calculateJWKThumbprint,
  createLocalKeySet,
  createSigner,
  createVerifier,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  generateSecret,
  importHMACSecret,
  importJWK,
  importJWKS,
  importKeyObject,
  importPKCS8,
  importSPKI,
  toPublicKey,
  type Alg,
  type GeneratedKeyPair,
  type JWK,
  type TesseraKey,
} from '../src/index.js';
import { loadWycheproof } from './helpers/vectors.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const NOW = 1_750_000_000;
const clock = () => NOW * 1000;

function jwkInvalid(fn: () => unknown, why: string): void {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(err instanceof TesseraError, `${why}: ${String(err)}`);
      assert.equal(err.code, 'ERR_JWK_INVALID', `${why}: ${err.code} ${err.message}`);
      return true;
    },
    why,
  );
}

/** Sign with `priv`, verify with `pub` through the public API. */
async function signsAndVerifies(alg: Alg, priv: TesseraKey, pub: TesseraKey): Promise<void> {
  const token = createSigner({ key: priv, alg, clock }).sign({ sub: 'k', exp: NOW + 60 });
  const v = createVerifier({ algorithms: [alg], issuer: null, audience: null, keys: [pub], clock });
  const { payload } = await v.verify(token);
  assert.equal(payload.sub, 'k');
}

const pairs = new Map<Alg, GeneratedKeyPair>();
function pair(alg: Alg): GeneratedKeyPair {
  let p = pairs.get(alg);
  if (!p) pairs.set(alg, (p = generateKeyPair(alg)));
  return p;
}

const ASYMMETRIC: [string, Alg][] = [
  ['RSA', 'RS256'],
  ['EC P-256', 'ES256'],
  ['EC P-384', 'ES384'],
  ['EC P-521', 'ES512'],
  ['OKP Ed25519', 'EdDSA'],
];

describe('round trips', () => {
  for (const [name, alg] of ASYMMETRIC) {
    test(`${name}: JWK private and public round trip`, async () => {
      const { privateKey, publicKey } = pair(alg);
      const privJwk = exportJWK(privateKey, { includePrivate: true });
      const pubJwk = exportJWK(publicKey);
      const priv2 = importJWK(privJwk);
      const pub2 = importJWK(pubJwk);
      assert.equal(priv2.type, 'private');
      assert.equal(pub2.type, 'public');
      assert.deepEqual(priv2.algorithms, [alg]);
      assert.equal(pub2.kid, publicKey.kid);
      assert.deepEqual(exportJWK(pub2), pubJwk);
      assert.deepEqual(exportJWK(priv2, { includePrivate: true }), privJwk);
      assert.deepEqual(exportJWK(priv2), pubJwk, 'the public export of a private key is the public key');
      await signsAndVerifies(alg, priv2, publicKey);
      await signsAndVerifies(alg, privateKey, pub2);
    });

    test(`${name}: PEM SPKI / PKCS#8 round trip`, async () => {
      const { privateKey, publicKey } = pair(alg);
      const spki = exportSPKI(publicKey);
      const pkcs8 = exportPKCS8(privateKey);
      assert.match(spki, /^-----BEGIN PUBLIC KEY-----\n/);
      assert.match(pkcs8, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.equal(exportSPKI(privateKey), spki, 'the SPKI of a private key is its public half');
      const pub2 = importSPKI(spki, alg, { kid: publicKey.kid! });
      const priv2 = importPKCS8(pkcs8, alg, { kid: publicKey.kid! });
      assert.deepEqual(exportJWK(pub2), exportJWK(publicKey));
      assert.deepEqual(
        exportJWK(priv2, { includePrivate: true }),
        exportJWK(privateKey, { includePrivate: true }),
      );
      await signsAndVerifies(alg, priv2, pub2);
      jwkInvalid(() => exportPKCS8(publicKey), 'a public key has no PKCS#8 form');
      jwkInvalid(() => importSPKI(pkcs8, alg), 'a PKCS#8 PEM is not SPKI');
      jwkInvalid(() => importPKCS8(spki, alg), 'an SPKI PEM is not PKCS#8');
    });
  }

  test('oct: JWK round trip; secrets export only with includePrivate', async () => {
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      const secret = generateSecret(alg, { kid: `s-${alg}` });
      jwkInvalid(() => exportJWK(secret), 'a secret must not export without includePrivate');
      const jwk = exportJWK(secret, { includePrivate: true });
      assert.equal(jwk.kty, 'oct');
      assert.equal(jwk.alg, alg);
      assert.equal(Buffer.from(jwk.k!, 'base64url').length, { HS256: 32, HS384: 48, HS512: 64 }[alg]);
      const again = importJWK(jwk);
      assert.deepEqual(exportJWK(again, { includePrivate: true }), jwk);
      await signsAndVerifies(alg, again, secret);
      jwkInvalid(() => exportSPKI(secret), 'a secret has no SPKI');
    }
  });

  test('PEM import refuses non-PEM input and the wrong kind of PEM', () => {
    jwkInvalid(() => importSPKI('not a pem', 'ES256'), 'garbage');
    jwkInvalid(() => importSPKI(exportSPKI(pair('ES256').publicKey), 'ES384'), 'P-256 SPKI for ES384');
    jwkInvalid(() => importSPKI(exportSPKI(pair('RS256').publicKey), 'ES256'), 'RSA SPKI for ES256');
    jwkInvalid(() => importSPKI(exportSPKI(pair('RS256').publicKey), 'HS256'), 'RSA SPKI for HS256');
  });
});

describe('generation', () => {
  for (const alg of SUPPORTED_ALGORITHMS) {
    test(`${alg}: generated, bound to ${alg}, kid is the RFC 7638 thumbprint`, async () => {
      if (alg.startsWith('HS')) {
        const secret = generateSecret(alg as 'HS256');
        assert.equal(secret.type, 'secret');
        assert.deepEqual(secret.algorithms, [alg]);
        jwkInvalid(() => generateKeyPair(alg), 'HMAC has no key pair');
        return;
      }
      const { privateKey, publicKey } = pair(alg);
      assert.equal(privateKey.type, 'private');
      assert.equal(publicKey.type, 'public');
      assert.deepEqual(privateKey.algorithms, [alg]);
      assert.deepEqual(publicKey.algorithms, [alg]);
      const jwk = exportJWK(publicKey);
      assert.equal(publicKey.kid, calculateJWKThumbprint(jwk));
      assert.equal(privateKey.kid, publicKey.kid);
      assert.equal(publicKey.kid, await jose.calculateJwkThumbprint(jwk as jose.JWK));
      assert.equal(jwk.alg, alg);
      assert.equal(jwk.use, 'sig');
      if (alg.startsWith('RS') || alg.startsWith('PS')) assert.equal(publicKey.bits, 2048);
      await signsAndVerifies(alg, privateKey, publicKey);
    });
  }

  test('RSA modulusLength option: below 2048 is refused; bits reflect the modulus', () => {
    jwkInvalid(() => generateKeyPair('PS256', { modulusLength: 1024 }), 'modulusLength 1024');
    // (Generating 3072/4096-bit keys is slow on a busy machine; a 3072-bit vector key shows `bits` instead.)
    const group = loadWycheproof('rsa_signature_3072_sha256_test.json').testGroups[0]!;
    assert.equal(importJWK(group.keyJwk as JWK).bits, 3072);
  });

  test('thumbprints of EC, OKP and oct keys agree with jose', async () => {
    const jwks: JWK[] = [
      exportJWK(pair('ES384').publicKey),
      exportJWK(pair('EdDSA').publicKey),
      exportJWK(generateSecret('HS256'), { includePrivate: true }),
    ];
    for (const jwk of jwks)
      assert.equal(calculateJWKThumbprint(jwk), await jose.calculateJwkThumbprint(jwk as jose.JWK));
    jwkInvalid(() => calculateJWKThumbprint({ kty: 'EC', crv: 'P-256', x: 'AA' } as JWK), 'missing y');
    jwkInvalid(() => calculateJWKThumbprint({ kty: 'XYZ' } as JWK), 'unknown kty');
  });
});

describe('binding rules', () => {
  const ec = () => exportJWK(pair('ES256').publicKey);
  const rsa = () => exportJWK(pair('RS256').publicKey);

  test('a JWK alg contradicting the key or the requested algorithm is refused', () => {
    jwkInvalid(() => importJWK({ ...ec(), alg: 'ES384' }), 'P-256 key with alg ES384');
    jwkInvalid(() => importJWK({ ...ec(), alg: 'HS256' }), 'EC key with alg HS256');
    jwkInvalid(() => importJWK({ ...rsa(), alg: 'HS256' }), 'RSA key with alg HS256');
    jwkInvalid(
      () => importJWK({ ...rsa(), alg: 'RS256' }, { alg: 'PS256' }),
      'JWK alg RS256, requested PS256',
    );
    jwkInvalid(() => importJWK({ ...rsa(), alg: 'RSA-OAEP' }), 'an encryption alg');
    jwkInvalid(() => importJWK(ec(), { alg: 'ES512' }), 'P-256 key requested for ES512');
    jwkInvalid(
      () => importJWK(exportJWK(pair('EdDSA').publicKey), { alg: 'ES256' }),
      'Ed25519 key for ES256',
    );
  });

  test('ES521 is not an algorithm name (Wycheproof)', () => {
    jwkInvalid(() => importJWK({ ...exportJWK(pair('ES512').publicKey), alg: 'ES521' }), 'ES521');
    jwkInvalid(() => importJWK({ ...ec(), alg: 'ES224' }), 'ES224');
  });

  test('use other than sig is refused', () => {
    jwkInvalid(() => importJWK({ ...ec(), use: 'enc' }), 'use enc');
    jwkInvalid(() => importJWK({ ...ec(), use: 'SIG' }), 'use SIG (case-sensitive)');
    importJWK({ ...ec(), use: 'sig' });
  });

  test('key_ops without sign or verify is refused; a malformed key_ops is refused', () => {
    jwkInvalid(() => importJWK({ ...ec(), key_ops: ['encrypt', 'wrapKey'] }), 'key_ops encrypt/wrapKey');
    jwkInvalid(() => importJWK({ ...ec(), key_ops: [] }), 'key_ops []');
    jwkInvalid(() => importJWK({ ...ec(), key_ops: 'verify' as unknown as string[] }), 'key_ops as a string');
    importJWK({ ...ec(), key_ops: ['verify'] });
  });

  test('a public key whose key_ops lacks "verify" cannot be a verification key', () => {
    // RFC 7517 §4.3: "verify" is the operation of a verification key; a key limited to "sign" must not verify.
    assert.throws(
      () =>
        createVerifier({
          algorithms: ['ES256'],
          issuer: null,
          audience: null,
          keys: [{ ...ec(), key_ops: ['sign'] }],
        }),
      (err: unknown) =>
        err instanceof TesseraError && ['ERR_JWK_INVALID', 'ERR_INVALID_OPTIONS'].includes(err.code),
    );
  });

  test('EC coordinates of the wrong length are refused', () => {
    const jwk = ec();
    const x = Buffer.from(jwk.x!, 'base64url');
    jwkInvalid(() => importJWK({ ...jwk, x: x.subarray(1).toString('base64url') }), 'x of 31 bytes');
    jwkInvalid(
      () => importJWK({ ...jwk, x: Buffer.concat([Buffer.alloc(1), x]).toString('base64url') }),
      'x of 33 bytes',
    );
    const p521 = exportJWK(pair('ES512').publicKey);
    const y = Buffer.from(p521.y!, 'base64url');
    assert.equal(y.length, 66);
    jwkInvalid(() => importJWK({ ...p521, y: y.subarray(1).toString('base64url') }), 'P-521 y of 65 bytes');
    const priv = exportJWK(pair('ES256').privateKey, { includePrivate: true });
    jwkInvalid(
      () => importJWK({ ...priv, d: Buffer.from(priv.d!, 'base64url').subarray(1).toString('base64url') }),
      'd of 31 bytes',
    );
  });

  test('an off-curve point is refused (invalid-curve attack, Wycheproof JWK tcId 22)', () => {
    const jwk = ec();
    const y = Buffer.from(jwk.y!, 'base64url');
    y[31]! ^= 0x01;
    jwkInvalid(() => importJWK({ ...jwk, y: y.toString('base64url') }), 'off-curve');
    jwkInvalid(() => importJWK({ ...jwk, crv: 'P-384' }), 'P-256 coordinates labelled P-384');
    jwkInvalid(
      () =>
        importJWK({
          ...jwk,
          x: Buffer.alloc(32).toString('base64url'),
          y: Buffer.alloc(32).toString('base64url'),
        }),
      'point (0,0)',
    );
  });

  test('RSA e = 1, e even, and small or huge moduli are refused', () => {
    const jwk = rsa();
    jwkInvalid(() => importJWK({ ...jwk, e: 'AQ' }), 'e = 1');
    jwkInvalid(() => importJWK({ ...jwk, e: 'Ag' }), 'e = 2');
    jwkInvalid(() => importJWK({ ...jwk, e: 'AQAC' }), 'e = 65538 (even)');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    jwkInvalid(() => importJWK(small.publicKey.export({ format: 'jwk' }) as JWK), '1024-bit JWK');
    jwkInvalid(() => importKeyObject(small.privateKey), '1024-bit KeyObject');
    jwkInvalid(
      () => importSPKI(small.publicKey.export({ format: 'pem', type: 'spki' }) as string, 'RS256'),
      '1024-bit SPKI',
    );
    // A 16392-bit modulus (A14: slow verification) is refused; the number need not be a real key for that.
    const n = randomBytes(2049);
    n[0]! |= 0x80;
    n[n.length - 1]! |= 0x01;
    jwkInvalid(() => importJWK({ kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }), 'a 16392-bit modulus');
  });

  test('unsupported key types and curves are refused', () => {
    jwkInvalid(
      () => importKeyObject(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey),
      'secp256k1',
    );
    jwkInvalid(() => importKeyObject(generateKeyPairSync('ed448').publicKey), 'Ed448');
    jwkInvalid(() => importKeyObject(generateKeyPairSync('x25519').publicKey), 'X25519');
    jwkInvalid(
      () =>
        importKeyObject(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey),
      'DSA',
    );
    jwkInvalid(
      () => importJWK({ kty: 'OKP', crv: 'X25519', x: exportJWK(pair('EdDSA').publicKey).x }),
      'OKP X25519',
    );
    jwkInvalid(() => importJWK({ ...ec(), crv: 'secp256k1' }), 'EC secp256k1');
    jwkInvalid(() => importJWK({ ...ec(), kty: 'RSA' }), 'EC members labelled RSA (Wycheproof JWK tcId 24)');
    jwkInvalid(() => importJWK({ kty: 'XYZ' }), 'unknown kty');
    jwkInvalid(() => importJWK(null as unknown as JWK), 'null');
    jwkInvalid(() => importJWK([] as unknown as JWK), 'array');
    jwkInvalid(() => importJWK('{"kty":"oct"}' as unknown as JWK), 'JSON text');
  });

  test('malformed members: non-canonical base64url, long kid, multi-prime RSA', () => {
    const jwk = ec();
    jwkInvalid(() => importJWK({ ...jwk, x: `${jwk.x}=` }), 'padded x');
    jwkInvalid(
      () =>
        importJWK({
          ...jwk,
          x:
            jwk.x!.replace(/[-_]/g, '+') === jwk.x
              ? `+${jwk.x!.slice(1)}`
              : jwk.x!.replace(/-/g, '+').replace(/_/g, '/'),
        }),
      'standard alphabet',
    );
    jwkInvalid(() => importJWK({ ...jwk, kid: 'k'.repeat(257) }), 'kid over 256');
    jwkInvalid(() => importJWK({ ...jwk, kid: 42 as unknown as string }), 'numeric kid');
    const priv = exportJWK(pair('RS256').privateKey, { includePrivate: true });
    jwkInvalid(() => importJWK({ ...priv, oth: [{ r: 'AQAB', d: 'AQAB', t: 'AQAB' }] }), 'oth');
  });

  test('HMAC secrets: too short or empty are refused; strings are not bytes', () => {
    jwkInvalid(() => importHMACSecret(Buffer.alloc(16, 1), 'HS256'), '16 bytes');
    jwkInvalid(() => importHMACSecret(Buffer.alloc(0), 'HS256'), 'empty');
    jwkInvalid(() => importHMACSecret(Buffer.alloc(32, 1), 'HS384'), '32 bytes for HS384');
    jwkInvalid(() => importHMACSecret('a'.repeat(64) as unknown as Uint8Array, 'HS256'), 'a string secret');
    jwkInvalid(
      () => importJWK({ kty: 'oct', k: Buffer.alloc(31, 1).toString('base64url') }),
      '31-byte oct JWK',
    );
    jwkInvalid(() => importJWK({ kty: 'oct', k: '' }), 'empty oct JWK');
    jwkInvalid(
      () => importJWK({ kty: 'oct', k: Buffer.alloc(32, 1).toString('base64url'), alg: 'A256GCM' }),
      'AES key (Wycheproof JWK tcId 25)',
    );
    // A 48-byte secret serves HS256 and HS384 but not HS512.
    assert.deepEqual([...importHMACSecret(Buffer.alloc(48, 1), 'HS256').algorithms], ['HS256']);
    assert.deepEqual(
      [...importJWK({ kty: 'oct', k: Buffer.alloc(48, 1).toString('base64url') }).algorithms],
      ['HS256', 'HS384'],
    );
  });

  test('an RSA key serves RS* and PS*; an rsa-pss key only PS*', () => {
    const { alg: _bound, ...bare } = rsa();
    assert.deepEqual([...importJWK(bare as JWK).algorithms].sort(), [
      'PS256',
      'PS384',
      'PS512',
      'RS256',
      'RS384',
      'RS512',
    ]);
    assert.deepEqual([...importJWK(rsa()).algorithms], ['RS256'], 'the exported alg binds the key again');
    const pss = generateKeyPairSync('rsa-pss', {
      modulusLength: 2048,
      hashAlgorithm: 'sha256',
      mgf1HashAlgorithm: 'sha256',
      saltLength: 32,
    } as Parameters<typeof generateKeyPairSync>[1] & { modulusLength: number }) as unknown as {
      publicKey: KeyObject;
    };
    assert.deepEqual([...importKeyObject(pss.publicKey).algorithms], ['PS256']);
    jwkInvalid(() => importKeyObject(pss.publicKey, { alg: 'RS256' }), 'rsa-pss key for RS256');
  });
});

describe('export never leaks private members', () => {
  for (const [name, alg] of ASYMMETRIC) {
    test(`${name}`, () => {
      const { privateKey } = pair(alg);
      const pub = exportJWK(privateKey);
      for (const m of PRIVATE_MEMBERS)
        assert.equal(pub[m], undefined, `${name}: exportJWK(private) emitted ${m}`);
      assert.equal(exportJWK(privateKey, { includePrivate: false }).d, undefined);
      assert.equal(typeof exportJWK(privateKey, { includePrivate: true }).d, 'string');
      const asPublic = toPublicKey(privateKey);
      assert.equal(asPublic.type, 'public');
      for (const m of PRIVATE_MEMBERS)
        assert.equal(exportJWK(asPublic, { includePrivate: true })[m], undefined);
      // The SPKI of the private key parses as a public key only.
      assert.equal(createPublicKey(exportSPKI(privateKey)).type, 'public');
    });
  }

  test('a local key set holds only public halves', () => {
    const set = createLocalKeySet([pair('ES256').privateKey, pair('RS256').privateKey]);
    for (const k of set.keys) {
      assert.equal(k.type, 'public');
      assert.equal(exportJWK(k, { includePrivate: true }).d, undefined);
    }
  });

  test('importJWKS skips unusable keys and reports why, without key material', () => {
    const jwks = {
      keys: [
        exportJWK(pair('ES256').publicKey),
        { ...exportJWK(pair('RS256').publicKey), use: 'enc' },
        { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', kid: 'short' },
        { kty: 'XYZ', kid: 'odd' },
      ],
    };
    const { keys, skipped } = importJWKS(jwks as { keys: JWK[] });
    assert.equal(keys.length, 1);
    assert.deepEqual(
      skipped.map((s) => s.index),
      [1, 2, 3],
    );
    for (const s of skipped) assert.ok(!s.reason.includes(jwks.keys[1]!.n as string));
  });
});
