/**
 * The DPoP proof core (RFC 9449 §4.3): proofs made by `jose` verify, proofs made here verify under `jose`, and
 * every check refuses its attack with its own `ERR_DPOP_*` code. Keys are generated at test time; every test
 * passes a fixed clock.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import * as jose from 'jose';
import {
  DPOP_ALGORITHMS,
  DpopProofInvalid,
  InvalidOptions,
  TesseraError,
  createDpopProof,
  normalizeHtu,
  verifyDpopProof,
  type DpopProofCheck,
} from '../../src/index.js';

const NOW = 1_760_000_000_000; // fixed clock, ms
const IAT = NOW / 1000;
const URL_ = 'https://api.example.com/orders';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl';
const ATH = createHash('sha256').update(TOKEN).digest('base64url');

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const pub = (k: KeyObject) => k.export({ format: 'jwk' }) as jose.JWK;
const ecJwk = pub(ec.publicKey);

const base: DpopProofCheck = { method: 'GET', url: URL_, algorithms: DPOP_ALGORITHMS, now: NOW };
const claims = (extra: Record<string, unknown> = {}) => ({
  jti: 'jti-' + Math.random().toString(36).slice(2),
  htm: 'GET',
  htu: URL_,
  iat: IAT,
  ...extra,
});

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A proof signed by hand, so every field can be wrong on purpose (ES256 over R‖S unless told otherwise). */
function rawProof(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject = ec.privateKey,
  sign: (input: Buffer) => Buffer = (input) =>
    cryptoSign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }),
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(Buffer.from(input)).toString('base64url')}`;
}
const goodHeader = (extra: Record<string, unknown> = {}) => ({
  typ: 'dpop+jwt',
  alg: 'ES256',
  jwk: ecJwk,
  ...extra,
});

/** Asserts the exact code, the DPoP family, the wire error, and that the message leaks nothing of the proof. */
function rejects(proof: string, check: Partial<DpopProofCheck>, code: string, wire = 'invalid_dpop_proof') {
  assert.throws(
    () => verifyDpopProof(proof, { ...base, ...check }),
    (err: unknown) => {
      assert.ok(err instanceof DpopProofInvalid, `expected a DPoP error, got ${String(err)}`);
      assert.ok(err instanceof TesseraError);
      assert.equal(err.code, code);
      assert.equal(err.wireError, wire);
      for (const part of proof.split('.')) if (part.length > 8) assert.ok(!err.message.includes(part));
      return true;
    },
  );
}

async function joseProof(alg: string, privateKey: KeyObject, publicKey: KeyObject, payload = claims()) {
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk: pub(publicKey) })
    .sign(privateKey);
}

describe('verifyDpopProof: proofs made elsewhere', () => {
  for (const [alg, pair] of [
    ['ES256', ec],
    ['EdDSA', ed],
    // RFC 9864: the fully specified name, which oauth4webapi sends; accepted wherever EdDSA is.
    ['Ed25519', ed],
    ['PS256', rsa],
    ['RS256', rsa],
  ] as const) {
    test(`a ${alg} proof made by jose verifies, with the RFC 7638 thumbprint jose computes`, async () => {
      const payload = claims({ ath: ATH });
      const proof = await joseProof(alg, pair.privateKey, pair.publicKey, payload);
      const result = verifyDpopProof(proof, { ...base, accessToken: TOKEN });
      assert.equal(result.jkt, await jose.calculateJwkThumbprint(pub(pair.publicKey)));
      assert.equal(result.alg, alg);
      assert.equal(result.jti, payload.jti);
      assert.equal(result.htm, 'GET');
      assert.equal(result.htu, URL_);
      assert.equal(result.iat, IAT);
      assert.deepEqual(result.jwk, pub(pair.publicKey));
      assert.equal(result.nonce, undefined);
    });
  }

  test('createDpopProof output verifies here and under jose, with ath and nonce', async () => {
    for (const privateKey of [ec.privateKey, ed.privateKey, rsa.privateKey]) {
      const proof = createDpopProof({
        privateKey,
        htm: 'POST',
        htu: URL_ + '?page=2#x',
        accessToken: TOKEN,
        nonce: 'n-1',
        iat: IAT,
      });
      const result = verifyDpopProof(proof, {
        ...base,
        method: 'POST',
        url: URL_ + '?page=2',
        accessToken: TOKEN,
        nonce: 'n-1',
      });
      assert.equal(result.nonce, 'n-1');
      assert.equal(result.htu, URL_, 'query and fragment are not part of htu');
      const header = jose.decodeProtectedHeader(proof);
      assert.equal(header.typ, 'dpop+jwt');
      const { payload } = await jose.jwtVerify(proof, await jose.importJWK(header.jwk!, header.alg), {
        typ: 'dpop+jwt',
        currentDate: new Date(NOW),
      });
      assert.equal(payload.ath, ATH);
      assert.equal(result.jkt, await jose.calculateJwkThumbprint(header.jwk!));
    }
  });

  test('createDpopProof gives a fresh jti each time and refuses public or symmetric keys', () => {
    const a = verifyDpopProof(
      createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: URL_, iat: IAT }),
      base,
    );
    const b = verifyDpopProof(
      createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: URL_, iat: IAT }),
      base,
    );
    assert.notEqual(a.jti, b.jti);
    assert.ok(a.jti.length >= 16);
    assert.throws(() => createDpopProof({ privateKey: ec.publicKey, htm: 'GET', htu: URL_ }), InvalidOptions);
    assert.throws(
      () => createDpopProof({ privateKey: ec.privateKey, alg: 'HS256', htm: 'GET', htu: URL_ }),
      InvalidOptions,
    );
    assert.throws(
      () => createDpopProof({ privateKey: ec.privateKey, alg: 'EdDSA', htm: 'GET', htu: URL_ }),
      InvalidOptions,
    );
  });
});

describe('verifyDpopProof: every check refuses its attack', () => {
  test('a proof over 8 KiB is refused before parsing', () => {
    const proof = rawProof(goodHeader({ pad: 'x'.repeat(9000) }), claims());
    rejects(proof, {}, 'ERR_DPOP_PROOF_TOO_LARGE');
  });

  test('not a compact JWS of three segments', () => {
    const proof = rawProof(goodHeader(), claims());
    rejects(proof.split('.').slice(0, 2).join('.'), {}, 'ERR_DPOP_PROOF_INVALID');
    rejects(proof + '.x', {}, 'ERR_DPOP_PROOF_INVALID');
    rejects('', {}, 'ERR_DPOP_PROOF_INVALID');
    rejects('..', {}, 'ERR_DPOP_PROOF_INVALID');
  });

  test('non-canonical base64url, invalid JSON and duplicate members are malformed', () => {
    const [h, p, s] = rawProof(goodHeader(), claims()).split('.') as [string, string, string];
    rejects(`${h}=.${p}.${s}`, {}, 'ERR_DPOP_PROOF_INVALID');
    rejects(`${b64('{"typ":"dpop+jwt"')}.${p}.${s}`, {}, 'ERR_DPOP_PROOF_INVALID');
    const dup = `{"typ":"dpop+jwt","alg":"ES256","jwk":${JSON.stringify(ecJwk)},"typ":"dpop+jwt"}`;
    rejects(`${b64(dup)}.${p}.${s}`, {}, 'ERR_DPOP_PROOF_INVALID');
    // A payload that is not JSON, correctly signed: refused after the signature held.
    const input = `${h}.${b64('not json')}`;
    const sig = cryptoSign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    rejects(`${input}.${sig.toString('base64url')}`, {}, 'ERR_DPOP_PROOF_INVALID');
  });

  test('typ other than exactly dpop+jwt (an access token replayed as a proof)', () => {
    for (const typ of [undefined, 'JWT', 'at+jwt', 'DPOP+JWT', 'application/dpop+jwt']) {
      rejects(rawProof(goodHeader({ typ }), claims()), {}, 'ERR_DPOP_TYP_INVALID');
    }
  });

  test('an HMAC proof is refused, even when the caller lists nothing else', () => {
    const secret = Buffer.alloc(32, 7);
    const proof = rawProof(
      goodHeader({ alg: 'HS256', jwk: { kty: 'oct', k: secret.toString('base64url') } }),
      claims(),
      undefined,
      (i) => createHmac('sha256', secret).update(i).digest(),
    );
    // Refused as an algorithm before the jwk is even looked at.
    rejects(proof, {}, 'ERR_DPOP_ALG_NOT_ALLOWED');
    const hmacNoJwk = rawProof({ typ: 'dpop+jwt', alg: 'HS256' }, claims(), undefined, (i) =>
      createHmac('sha256', secret).update(i).digest(),
    );
    rejects(hmacNoJwk, {}, 'ERR_DPOP_ALG_NOT_ALLOWED');
    assert.throws(() => verifyDpopProof(proof, { ...base, algorithms: ['HS256'] }), InvalidOptions);
    assert.throws(() => verifyDpopProof(proof, { ...base, algorithms: ['none'] }), InvalidOptions);
  });

  test('an unsecured proof (alg none, any casing) is refused', () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const proof = `${b64(goodHeader({ alg }))}.${b64(claims())}.`;
      rejects(proof, {}, 'ERR_DPOP_ALG_NOT_ALLOWED');
    }
  });

  test('an alg the caller does not accept is refused, even after the same header verified once', async () => {
    const proof = await joseProof('ES384', ec384.privateKey, ec384.publicKey);
    assert.equal(verifyDpopProof(proof, { ...base, algorithms: ['ES384'] }).alg, 'ES384');
    rejects(proof, {}, 'ERR_DPOP_ALG_NOT_ALLOWED');
  });

  test('a missing or unusable jwk, or one whose type or curve does not fit alg', () => {
    rejects(rawProof({ typ: 'dpop+jwt', alg: 'ES256' }, claims()), {}, 'ERR_DPOP_JWK_INVALID');
    rejects(rawProof(goodHeader({ jwk: 'abc' }), claims()), {}, 'ERR_DPOP_JWK_INVALID');
    rejects(rawProof(goodHeader({ jwk: pub(ec384.publicKey) }), claims()), {}, 'ERR_DPOP_JWK_INVALID');
    rejects(rawProof(goodHeader({ jwk: pub(rsa.publicKey) }), claims()), {}, 'ERR_DPOP_JWK_INVALID');
    rejects(rawProof(goodHeader({ jwk: { ...ecJwk, x: ecJwk.y } }), claims()), {}, 'ERR_DPOP_JWK_INVALID');
    rejects(rawProof(goodHeader({ jwk: { ...ecJwk, use: 'enc' } }), claims()), {}, 'ERR_DPOP_JWK_INVALID');
    const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const proof = rawProof(
      { typ: 'dpop+jwt', alg: 'RS256', jwk: pub(smallRsa.publicKey) },
      claims(),
      undefined,
      (i) => cryptoSign('sha256', i, smallRsa.privateKey),
    );
    rejects(proof, {}, 'ERR_DPOP_JWK_INVALID');
  });

  test('a jwk carrying private key members is refused, member by member', () => {
    const ecPrivate = ec.privateKey.export({ format: 'jwk' });
    rejects(rawProof(goodHeader({ jwk: ecPrivate }), claims()), {}, 'ERR_DPOP_JWK_PRIVATE');
    const rsaPrivate = rsa.privateKey.export({ format: 'jwk' });
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
      const jwk = { ...pub(rsa.publicKey), [member]: rsaPrivate[member as 'd'] };
      const proof = rawProof({ typ: 'dpop+jwt', alg: 'RS256', jwk }, claims(), undefined, (i) =>
        cryptoSign('sha256', i, rsa.privateKey),
      );
      rejects(proof, {}, 'ERR_DPOP_JWK_PRIVATE');
    }
    rejects(rawProof(goodHeader({ jwk: { ...ecJwk, k: 'AAAA' } }), claims()), {}, 'ERR_DPOP_JWK_PRIVATE');
  });

  test('a proof signed by another key than its jwk, or tampered with', () => {
    rejects(rawProof(goodHeader(), claims(), other.privateKey), {}, 'ERR_DPOP_SIGNATURE_INVALID');
    const [h, , s] = rawProof(goodHeader(), claims()).split('.');
    rejects(
      `${h}.${b64(claims({ htm: 'DELETE' }))}.${s}`,
      { method: 'DELETE' },
      'ERR_DPOP_SIGNATURE_INVALID',
    );
    rejects(`${h}.${b64(claims())}.${s!.slice(0, -4)}`, {}, 'ERR_DPOP_SIGNATURE_INVALID');
    // DER-encoded ECDSA is not a JWS signature (RFC 7518 §3.4).
    const der = rawProof(goodHeader(), claims(), ec.privateKey, (i) =>
      cryptoSign('sha256', i, ec.privateKey),
    );
    rejects(der, {}, 'ERR_DPOP_SIGNATURE_INVALID');
  });

  test('jti missing, not a string, empty or too long', () => {
    for (const jti of [undefined, 42, '', 'x'.repeat(257)]) {
      rejects(rawProof(goodHeader(), claims({ jti })), {}, 'ERR_DPOP_JTI_INVALID');
    }
    assert.ok(verifyDpopProof(rawProof(goodHeader(), claims({ jti: 'x'.repeat(256) })), base));
  });

  test('a proof for another method', () => {
    rejects(rawProof(goodHeader(), claims({ htm: 'POST' })), {}, 'ERR_DPOP_HTM_MISMATCH');
    rejects(rawProof(goodHeader(), claims({ htm: 'get' })), {}, 'ERR_DPOP_HTM_MISMATCH');
    rejects(rawProof(goodHeader(), claims({ htm: undefined })), {}, 'ERR_DPOP_HTM_MISMATCH');
  });

  test('a proof for another URL', () => {
    for (const htu of [
      'https://api.example.com/orders/1',
      'https://api.example.com/',
      'https://evil.example.com/orders',
      'http://api.example.com/orders',
      'https://api.example.com:8443/orders',
      '/orders',
      'not a url',
      'ftp://api.example.com/orders',
      undefined,
      7,
    ]) {
      rejects(rawProof(goodHeader(), claims({ htu })), {}, 'ERR_DPOP_HTU_MISMATCH');
    }
  });

  test('htu matches after normalisation, ignoring query and fragment', () => {
    for (const htu of [
      'HTTPS://API.EXAMPLE.COM/orders',
      'https://api.example.com:443/orders',
      'https://api.example.com/a/../orders',
      'https://api.example.com/%6Frders',
      'https://api.example.com/orders?x=1#f',
    ]) {
      assert.equal(
        verifyDpopProof(rawProof(goodHeader(), claims({ htu })), { ...base, url: URL_ + '?q=2' }).htu,
        htu,
      );
    }
  });

  test('a stale or a future iat, and one that is not a number', () => {
    rejects(rawProof(goodHeader(), claims({ iat: IAT - 61 })), {}, 'ERR_DPOP_IAT_OUT_OF_WINDOW');
    rejects(rawProof(goodHeader(), claims({ iat: IAT + 61 })), {}, 'ERR_DPOP_IAT_OUT_OF_WINDOW');
    assert.ok(verifyDpopProof(rawProof(goodHeader(), claims({ iat: IAT - 60 })), base));
    assert.ok(verifyDpopProof(rawProof(goodHeader(), claims({ iat: IAT + 60 })), base));
    rejects(
      rawProof(goodHeader(), claims({ iat: IAT - 11 })),
      { maxAgeSeconds: 10 },
      'ERR_DPOP_IAT_OUT_OF_WINDOW',
    );
    for (const iat of [undefined, String(IAT), null]) {
      rejects(rawProof(goodHeader(), claims({ iat })), {}, 'ERR_DPOP_IAT_INVALID');
    }
    assert.throws(
      () => verifyDpopProof(rawProof(goodHeader(), claims()), { ...base, maxAgeSeconds: Number.NaN }),
      InvalidOptions,
    );
    // A broken clock accepts nothing.
    rejects(rawProof(goodHeader(), claims()), { now: Number.NaN }, 'ERR_DPOP_IAT_OUT_OF_WINDOW');
  });

  test('ath of another token, or none, when an access token is presented', () => {
    const otherAth = createHash('sha256')
      .update(TOKEN + 'x')
      .digest('base64url');
    rejects(
      rawProof(goodHeader(), claims({ ath: otherAth })),
      { accessToken: TOKEN },
      'ERR_DPOP_ATH_MISMATCH',
    );
    rejects(rawProof(goodHeader(), claims()), { accessToken: TOKEN }, 'ERR_DPOP_ATH_MISMATCH');
    assert.ok(verifyDpopProof(rawProof(goodHeader(), claims({ ath: ATH })), { ...base, accessToken: TOKEN }));
    // Without an access token (the token endpoint), ath is not looked at.
    assert.ok(verifyDpopProof(rawProof(goodHeader(), claims({ ath: otherAth })), base));
  });

  test('nonce missing or stale is use_dpop_nonce; a nonce of the wrong type is invalid', () => {
    rejects(rawProof(goodHeader(), claims()), { nonce: 'n-2' }, 'ERR_DPOP_USE_NONCE', 'use_dpop_nonce');
    rejects(
      rawProof(goodHeader(), claims({ nonce: 'n-1' })),
      { nonce: 'n-2' },
      'ERR_DPOP_USE_NONCE',
      'use_dpop_nonce',
    );
    const accept = (n: string | undefined) => n === 'n-2' || n === 'n-3';
    rejects(
      rawProof(goodHeader(), claims({ nonce: 'n-1' })),
      { nonce: accept },
      'ERR_DPOP_USE_NONCE',
      'use_dpop_nonce',
    );
    rejects(rawProof(goodHeader(), claims()), { nonce: accept }, 'ERR_DPOP_USE_NONCE', 'use_dpop_nonce');
    assert.equal(
      verifyDpopProof(rawProof(goodHeader(), claims({ nonce: 'n-3' })), { ...base, nonce: accept }).nonce,
      'n-3',
    );
    rejects(rawProof(goodHeader(), claims({ nonce: 5 })), { nonce: 'n-2' }, 'ERR_DPOP_PROOF_INVALID');
    // Any other failure wins over the nonce: the client must fix the proof first.
    rejects(rawProof(goodHeader(), claims({ htm: 'POST' })), { nonce: 'n-2' }, 'ERR_DPOP_HTM_MISMATCH');
  });

  test('crit and b64 are refused (no extension is implemented)', () => {
    rejects(rawProof(goodHeader({ crit: ['exp'] }), claims()), {}, 'ERR_DPOP_PROOF_INVALID');
    rejects(rawProof(goodHeader({ b64: false }), claims()), {}, 'ERR_DPOP_PROOF_INVALID');
  });
});

describe('normalizeHtu', () => {
  test('RFC 3986 §6.2.2 / §6.2.3 and RFC 9449 §4.3', () => {
    const cases: [string, string][] = [
      ['HTTPS://API.Example.COM/Orders', 'https://api.example.com/Orders'],
      ['https://api.example.com:443/x', 'https://api.example.com/x'],
      ['http://api.example.com:80/x', 'http://api.example.com/x'],
      ['https://api.example.com:8443/x', 'https://api.example.com:8443/x'],
      ['https://api.example.com', 'https://api.example.com/'],
      ['https://api.example.com/a/./b/../c', 'https://api.example.com/a/c'],
      ['https://api.example.com/%7euser/%2fx/%e2%82%ac', 'https://api.example.com/~user/%2Fx/%E2%82%AC'],
      ['https://api.example.com/x?y=1#z', 'https://api.example.com/x'],
      ['https://api.example.com/x#z', 'https://api.example.com/x'],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeHtu(input), expected, input);
  });

  test('only absolute http(s) URLs', () => {
    for (const bad of ['/orders', 'ftp://x.example/', 'javascript:alert(1)', '']) {
      assert.throws(() => normalizeHtu(bad), InvalidOptions);
    }
  });
});
