/**
 * Interop with `jose` (panva, dev dependency) in both directions for every algorithm: our tokens verify in
 * jose's jwtVerify, jose's SignJWT tokens verify here, and tampered tokens (header, payload, one signature byte)
 * fail in both. Keys are generated at test time on each side and exchanged as JWKs; the clock is fixed.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import * as jose from 'jose';
import {
  TesseraError,
  createSigner,
  createVerifier,
  exportJWK,
  generateKeyPair,
  generateSecret,
  importJWK,
  importKeyObject,
  type Alg,
  type JWK,
  type TesseraKey,
} from '../src/index.js';

const ISS = 'https://issuer.example.com';
const AUD = 'interop-api';
const NOW = 1_750_000_000;
const clock = () => NOW * 1000;
const currentDate = new Date(NOW * 1000);

const ALGS: Alg[] = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

// RSA key generation dominates the run time on a busy machine: one RSA pair per side, re-bound to each RS/PS
// algorithm (our import binds a KeyObject to one alg; jose re-imports the JWK per alg). generateKeyPair for every
// algorithm is covered in keys.test.ts.
const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
let joseRsaJWK: Promise<jose.JWK> | undefined;
function joseRsa(): Promise<jose.JWK> {
  joseRsaJWK ??= jose
    .generateKeyPair('PS256', { extractable: true })
    .then((pair) => jose.exportJWK(pair.privateKey))
    .then((jwk) => {
      delete jwk.alg;
      return jwk;
    });
  return joseRsaJWK;
}
const isRSA = (alg: Alg) => alg.startsWith('RS') || alg.startsWith('PS');

const isHMAC = (alg: Alg): alg is 'HS256' | 'HS384' | 'HS512' => alg.startsWith('HS');

/** Three tampered variants of a compact token, each a different string from the original. */
function tampered(token: string): [string, string][] {
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length >> 1]! ^= 0x01;
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return [
    ['header', `${enc({ ...header, typ: 'JWT', x: 1 })}.${p}.${s}`],
    ['payload', `${h}.${enc({ ...payload, sub: 'admin' })}.${s}`],
    ['signature byte', `${h}.${p}.${sig.toString('base64url')}`],
  ];
}

function ourVerifier(alg: Alg, key: TesseraKey) {
  return createVerifier({ algorithms: [alg], issuer: ISS, audience: AUD, keys: [key], clock });
}

describe('interop with jose', () => {
  for (const alg of ALGS) {
    test(`${alg}: our token verifies in jose; tampered ones fail in both`, async () => {
      let signingKey: TesseraKey;
      let verifyingJWK: JWK;
      let ours: TesseraKey;
      if (isHMAC(alg)) {
        signingKey = generateSecret(alg, { kid: `hs-${alg}` });
        verifyingJWK = exportJWK(signingKey, { includePrivate: true });
        ours = signingKey;
      } else if (isRSA(alg)) {
        const pub = importKeyObject(rsaPair.publicKey, { alg, kid: `rsa-${alg}` });
        signingKey = importKeyObject(rsaPair.privateKey, { alg, kid: `rsa-${alg}` });
        verifyingJWK = exportJWK(pub);
        ours = pub;
      } else {
        const pair = generateKeyPair(alg);
        signingKey = pair.privateKey;
        verifyingJWK = exportJWK(pair.publicKey);
        ours = pair.publicKey;
        assert.equal(verifyingJWK.d, undefined);
      }
      const signer = createSigner({ key: signingKey, alg, clock });
      const token = signer.sign(
        { iss: ISS, aud: AUD, sub: 'alice', exp: NOW + 600 },
        { header: { typ: 'JWT' } },
      );

      const joseKey = await jose.importJWK(verifyingJWK as jose.JWK, alg);
      const { payload, protectedHeader } = await jose.jwtVerify(token, joseKey, {
        algorithms: [alg],
        issuer: ISS,
        audience: AUD,
        currentDate,
      });
      assert.equal(payload.sub, 'alice');
      assert.equal(payload.iat, NOW);
      assert.equal(protectedHeader.alg, alg);
      assert.equal(protectedHeader.kid, signingKey.kid);
      await ourVerifier(alg, ours).verify(token);

      for (const [what, bad] of tampered(token)) {
        await assert.rejects(
          jose.jwtVerify(bad, joseKey, { algorithms: [alg], issuer: ISS, audience: AUD, currentDate }),
          (err: unknown) => err instanceof jose.errors.JOSEError,
          `jose accepted a token with a tampered ${what}`,
        );
        await assert.rejects(ourVerifier(alg, ours).verify(bad), (err: unknown) => {
          assert.ok(err instanceof TesseraError);
          assert.equal(err.code, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', `${what}: ${err.code}`);
          return true;
        });
      }
    });

    test(`${alg}: jose's token verifies here; tampered ones fail in both`, async () => {
      let joseSign: jose.CryptoKey | Uint8Array;
      let publicJWK: jose.JWK;
      if (isHMAC(alg)) {
        const secret = (await jose.generateSecret(alg, { extractable: true })) as jose.CryptoKey;
        joseSign = secret;
        publicJWK = await jose.exportJWK(secret);
      } else if (isRSA(alg)) {
        const priv = await joseRsa();
        joseSign = (await jose.importJWK(priv, alg)) as jose.CryptoKey;
        publicJWK = { kty: 'RSA', n: priv.n!, e: priv.e! };
      } else {
        const pair = await jose.generateKeyPair(alg, { extractable: true });
        joseSign = pair.privateKey;
        publicJWK = await jose.exportJWK(pair.publicKey);
        assert.equal(publicJWK.d, undefined);
      }
      const kid = await jose.calculateJwkThumbprint(publicJWK);
      const token = await new jose.SignJWT({ sub: 'bob', scope: 'read' })
        .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
        .setIssuer(ISS)
        .setAudience([AUD, 'other'])
        .setIssuedAt(NOW - 5)
        .setNotBefore(NOW - 5)
        .setExpirationTime(NOW + 300)
        .setJti('jti-1')
        .sign(joseSign);

      const ours = importJWK({ ...(publicJWK as JWK), kid }, { alg });
      const verifier = createVerifier({
        algorithms: [alg],
        issuer: ISS,
        audience: AUD,
        typ: 'at+jwt',
        keys: [ours],
        clock,
      });
      const { payload, header } = await verifier.verify(token);
      assert.equal(payload.sub, 'bob');
      assert.equal(payload.scope, 'read');
      assert.deepEqual(payload.aud, [AUD, 'other']);
      assert.equal(header.kid, kid);

      const joseVerifyKey = isHMAC(alg) ? joseSign : await jose.importJWK(publicJWK, alg);
      for (const [what, bad] of tampered(token)) {
        await assert.rejects(verifier.verify(bad), (err: unknown) => {
          assert.ok(err instanceof TesseraError);
          // A header change also drops typ at+jwt? No: typ is rewritten to JWT, which our typ rule refuses first.
          const expected =
            what === 'header' ? 'ERR_JWT_CLAIM_INVALID' : 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED';
          assert.equal(err.code, expected, `${what}: ${err.code}`);
          return true;
        });
        await assert.rejects(
          jose.jwtVerify(bad, joseVerifyKey, { algorithms: [alg], issuer: ISS, audience: AUD, currentDate }),
          (err: unknown) => err instanceof jose.errors.JOSEError,
          `jose accepted a token with a tampered ${what}`,
        );
      }
      // The header tamper without touching typ still fails on the signature.
      const [h, p, s] = token.split('.') as [string, string, string];
      const hdr = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
      const bad = `${Buffer.from(JSON.stringify({ ...hdr, x: 1 })).toString('base64url')}.${p}.${s}`;
      await assert.rejects(verifier.verify(bad), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    });
  }

  test('an algorithm mismatch fails in both (our ES256 token, jose told RS256 only)', async () => {
    const pair = generateKeyPair('ES256');
    const token = createSigner({ key: pair.privateKey, alg: 'ES256', clock }).sign({
      iss: ISS,
      aud: AUD,
      exp: NOW + 60,
    });
    const joseKey = await jose.importJWK(exportJWK(pair.publicKey) as jose.JWK, 'ES256');
    await assert.rejects(jose.jwtVerify(token, joseKey, { algorithms: ['RS256'], currentDate }));
    const rsa = importKeyObject(rsaPair.publicKey, { alg: 'RS256' });
    await assert.rejects(ourVerifier('RS256', rsa).verify(token), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  });
});
