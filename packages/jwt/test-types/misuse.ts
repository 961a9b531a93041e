/**
 * API misuse that must not compile (STYLE: aws-jwt-verify `tests/import-tests`). Every `@ts-expect-error`
 * below must really be an error: test/type-misuse.test.ts runs `tsc -p` on this directory, and an unused
 * `@ts-expect-error` fails the compilation. '@tessera/jwt' resolves through the workspace to the built
 * declarations (package.json `exports` → dist/src/index.d.ts), as a consumer would see them.
 */
import {
  createSigner,
  createVerifier,
  generateKeyPair,
  importJWK,
  TesseraError,
  type TesseraErrorCode,
  type TesseraKey,
  type Verifier,
} from '@tessera/jwt';

const { privateKey, publicKey } = generateKeyPair('ES256');

// --- Must compile: the secure-by-default options spelled out, `null` switching a check off on purpose.

export const strict: Verifier = createVerifier({
  algorithms: ['ES256'],
  issuer: 'https://auth.example.com',
  audience: 'orders-api',
  keys: [publicKey],
});
export const noIssuerCheck: Verifier = createVerifier({
  algorithms: ['ES256'],
  issuer: null,
  audience: null,
  keys: [publicKey],
});
export const signer = createSigner({ key: privateKey, alg: 'ES256' });
export const imported: TesseraKey = importJWK({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }, { alg: 'ES256' });

export function describeCode(err: unknown): string {
  if (!(err instanceof TesseraError)) return 'not ours';
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    // @ts-expect-error -- not a TesseraErrorCode: a typo in a case label must not silently never match
    case 'ERR_JWT_EXPIRE':
      return 'typo';
    // @ts-expect-error -- not a TesseraErrorCode: codes are jose-style ERR_…, not HTTP/OAuth wire errors
    case 'invalid_token':
      return 'wire error';
    default:
      return err.code satisfies TesseraErrorCode;
  }
}

// --- Must not compile.

// @ts-expect-error -- `algorithms` is required: the token's header must never choose the algorithm (RFC 8725 §3.1)
createVerifier({ issuer: 'https://auth.example.com', audience: 'orders-api', keys: [publicKey] });

// @ts-expect-error -- `issuer` is required: forgetting it must not switch the iss check off (give `null` on purpose)
createVerifier({ algorithms: ['ES256'], audience: 'orders-api', keys: [publicKey] });

// @ts-expect-error -- `audience` is required: forgetting it must not switch the aud check off (RFC 8725 §3.9)
createVerifier({ algorithms: ['ES256'], issuer: 'https://auth.example.com', keys: [publicKey] });

// @ts-expect-error -- `undefined` is not `null`: only an explicit null turns the issuer check off
createVerifier({ algorithms: ['ES256'], issuer: undefined, audience: 'orders-api', keys: [publicKey] });

// @ts-expect-error -- `undefined` is not `null`: only an explicit null turns the audience check off
createVerifier({ algorithms: ['ES256'], issuer: null, audience: undefined, keys: [publicKey] });

// @ts-expect-error -- `none` is not an Alg: unsecured JWS is never accepted (RFC 8725 §3.2)
createVerifier({ algorithms: ['none'], issuer: null, audience: null, keys: [publicKey] });

// @ts-expect-error -- algorithm names are case-sensitive (RFC 7515 §4.1.1): 'es256' is not ES256
createVerifier({ algorithms: ['es256'], issuer: null, audience: null, keys: [publicKey] });

// @ts-expect-error -- `none` is not an Alg: a signer never emits an unsigned token
createSigner({ key: privateKey, alg: 'none' });

// @ts-expect-error -- `alg` is required: a signer never guesses the algorithm from the key
createSigner({ key: privateKey });

// @ts-expect-error -- a raw string is not a TesseraKey: HMAC secrets go through importHMACSecret/generateSecret
createSigner({ key: 'my-shared-secret', alg: 'HS256' });

// @ts-expect-error -- a JWK is not a TesseraKey: keys are imported (and bound to algorithms) with importJWK
createSigner({ key: { kty: 'oct', k: 'c2VjcmV0' }, alg: 'HS256' });

// @ts-expect-error -- `none` is not an Alg: generateKeyPair binds the key to a real algorithm
generateKeyPair('none');

// @ts-expect-error -- a token is a string: verify() never takes a number (or a decoded object)
void strict.verify(12345);

// @ts-expect-error -- a token is a string: verify() never takes a decoded payload
void strict.verify({ sub: 'user-1' });

// @ts-expect-error -- `code` is readonly: an error's code is stable and cannot be rewritten by a caller
new TesseraError().code = 'ERR_JWT_EXPIRED';
