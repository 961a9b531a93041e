/**
 * Property tests for DPoP: random proof headers and payloads, signed by a key the token is not bound to (or
 * not signed at all), random strings and mutated real proofs never crash the verifier (only TesseraErrors) and
 * never authenticate a request. The bound key never signs anything here, so nothing may pass. numRuns are
 * modest so the file runs in seconds.
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  accessTokenHash,
  calculateJWKThumbprint,
  createDpopProof,
  createVerifier,
  DPOP_ALGORITHMS,
  DpopProofInvalid,
  TesseraError,
  verifyDpopProof,
  type JWK,
} from '../../src/index.js';
import { makeKey } from './helpers.js';

const NOW = 1_760_000_000_000;
const IAT = NOW / 1000;
const URL_ = 'https://api.example.com/orders';
const issuer = makeKey();
const owner = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const thief = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const thiefEd = generateKeyPairSync('ed25519');
const jwk = (k: KeyObject) => k.export({ format: 'jwk' }) as JWK;
const jkt = calculateJWKThumbprint(jwk(owner.publicKey));
const token = issuer.signer.sign({
  iss: 'https://issuer.test',
  aud: 'api',
  sub: 'user-1',
  iat: IAT,
  exp: IAT + 3600,
  jti: randomUUID(),
  cnf: { jkt },
});
const verifier = createVerifier({
  algorithms: ['ES256'],
  issuer: 'https://issuer.test',
  audience: 'api',
  keys: [issuer.pair.publicKey],
  clock: () => NOW,
  cache: { maxEntries: 10 },
  dpop: 'allowed',
});

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Values of every JSON type, some of them the right ones. */
const anyValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
/** Mostly the right value (so whole proofs are often right but for the key), sometimes wrong, absent or junk. */
function field<T>(right: fc.Arbitrary<T>, ...wrong: unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: right },
    { weight: 1, arbitrary: wrong.length > 0 ? fc.constantFrom(...wrong) : anyValue },
    { weight: 1, arbitrary: anyValue },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** Mostly absent. */
const rarely = (arb: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const header = fc.record({
  typ: field(fc.constant('dpop+jwt'), 'JWT', 'DPOP+JWT', 'at+jwt'),
  alg: field(fc.constantFrom('ES256', 'EdDSA', 'Ed25519'), 'HS256', 'none', 'RS256', 'ES384', 'NONE'),
  jwk: field(
    // The bound key's public half is offered too, but the owner never signs here.
    fc.constantFrom<unknown>(jwk(thief.publicKey), jwk(thiefEd.publicKey), jwk(owner.publicKey)),
    thief.privateKey.export({ format: 'jwk' }),
    { kty: 'oct', k: 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI' },
    { ...jwk(thief.publicKey), crv: 'P-384' },
  ),
  crit: rarely(anyValue),
  kid: rarely(anyValue),
});

const payload = fc.record({
  jti: field(fc.uuid()),
  htm: field(fc.constant('GET'), 'POST', 'get'),
  htu: field(fc.constant(URL_), 'https://api.example.com/other', '/orders'),
  iat: field(fc.constantFrom(IAT, IAT - 30, IAT + 30), IAT - 61, IAT + 61),
  ath: field(fc.constant(accessTokenHash(token)), accessTokenHash('other')),
  nonce: rarely(anyValue),
});

const signer = fc.constantFrom<(input: Buffer) => Buffer>(
  (i) => cryptoSign('sha256', i, { key: thief.privateKey, dsaEncoding: 'ieee-p1363' }),
  (i) => cryptoSign('sha256', i, { key: thief.privateKey, dsaEncoding: 'ieee-p1363' }),
  (i) => cryptoSign(null, i, thiefEd.privateKey),
  (i) => createHmac('sha256', 'secretsecretsecretsecretsecret12').update(i).digest(),
  () => Buffer.alloc(64, 1),
  () => Buffer.alloc(0),
);

/** The request must be refused, and only with a TesseraError. */
async function refused(proof: string): Promise<void> {
  await verifier
    .verifyRequest({ method: 'GET', url: URL_, headers: { authorization: `DPoP ${token}`, dpop: proof } })
    .then(
      () => assert.fail('a request authenticated with a proof the bound key never signed'),
      (err: unknown) => assert.ok(err instanceof TesseraError, `not a TesseraError: ${String(err)}`),
    );
}

describe('DPoP property tests', () => {
  test('random headers and payloads signed by anything but the bound key never authenticate', async () => {
    await fc.assert(
      fc.asyncProperty(header, payload, signer, async (h, p, sign) => {
        const input = `${b64(h)}.${b64(p)}`;
        await refused(`${input}.${sign(Buffer.from(input)).toString('base64url')}`);
      }),
      { numRuns: 400 },
    );
  });

  test('random strings and mutated real proofs: only DPoP errors from verifyDpopProof, never a pass via verifyRequest', async () => {
    const real = createDpopProof({
      privateKey: owner.privateKey,
      htm: 'GET',
      htu: URL_,
      accessToken: token,
      iat: IAT,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .tuple(fc.nat(real.length - 1), fc.string({ minLength: 1, maxLength: 1 }))
            .map(([i, c]) => real.slice(0, i) + c + real.slice(i + 1)),
          fc.nat(real.length).map((i) => real.slice(0, i)),
        ),
        async (proof) => {
          fc.pre(proof !== real);
          try {
            verifyDpopProof(proof, {
              method: 'GET',
              url: URL_,
              algorithms: DPOP_ALGORITHMS,
              accessToken: token,
              now: NOW,
            });
          } catch (err) {
            assert.ok(err instanceof DpopProofInvalid, `not a DPoP error: ${String(err)}`);
          }
          // Canonical base64url is enforced, so any change alters the signed bytes or the signature: refused.
          await verifier
            .verifyRequest({
              method: 'GET',
              url: URL_,
              headers: { authorization: `DPoP ${token}`, dpop: proof },
            })
            .then(
              () => assert.fail('a mutated proof authenticated'),
              (err: unknown) => assert.ok(err instanceof TesseraError, String(err)),
            );
        },
      ),
      { numRuns: 400 },
    );
  });
});
