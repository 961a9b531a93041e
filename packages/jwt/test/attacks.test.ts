/**
 * One test per attack from issue 2 and shared/ATTACKS.md (A01–A17, A21, A22, A24, A26, A27), each built as the
 * catalogue describes and each asserting the exact error `code`. Every rejection is also checked for leaks: the
 * message never contains the token, a segment of it, or key material. Keys are generated at test time and every
 * claim test uses a fixed clock.
 */
import assert from 'node:assert/strict';
import {
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  type KeyObject,
} from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  ALGORITHMS,
  TesseraError,
  createLocalKeySet,
  createSigner,
  createVerifier,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  generateSecret,
  importHMACSecret,
  importJWK,
  importKeyObject,
  type Alg,
  type CoreVerifier,
  type GeneratedKeyPair,
  type JWK,
  type KeySource,
  type TesseraKey,
  type VerifierOptions,
} from '../src/index.js';
import { signBytes } from '../src/jws-crypto.js';
import { cookbook, rfcVector } from './helpers/vectors.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------

const ISS = 'https://issuer.example.com';
const AUD = 'orders-api';
const NOW = 1_750_000_000;
const clockAt = (seconds: number) => () => seconds * 1000;

const rsa = generateKeyPair('RS256');
const ps = generateKeyPair('PS256');
const ec256 = generateKeyPair('ES256');
const ec256b = generateKeyPair('ES256');
const ec384 = generateKeyPair('ES384');
const ed = generateKeyPair('EdDSA');
const attacker = generateKeyPair('RS256');
const hs = generateSecret('HS256', { kid: 'hs-1' });

/** Everything secret or key-like that must never appear in an error message. */
const KEY_MATERIAL: string[] = [];
for (const pair of [rsa, ps, ec256, ec256b, ec384, ed, attacker] as GeneratedKeyPair[]) {
  const priv = exportJWK(pair.privateKey, { includePrivate: true });
  for (const m of ['n', 'd', 'p', 'q', 'x', 'y'] as const)
    if (typeof priv[m] === 'string') KEY_MATERIAL.push(priv[m].slice(0, 24));
  KEY_MATERIAL.push(exportSPKI(pair.publicKey).split('\n')[1]!);
}
KEY_MATERIAL.push(exportJWK(hs, { includePrivate: true }).k!);

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISS, aud: AUD, sub: 'alice', iat: NOW - 10, exp: NOW + 600, ...extra };
}

type Part = string | Record<string, unknown> | Buffer;
const b64u = (part: Part): string =>
  (Buffer.isBuffer(part)
    ? part
    : Buffer.from(typeof part === 'string' ? part : JSON.stringify(part), 'utf8')
  ).toString('base64url');

type SignFn = (input: Buffer) => Buffer;
/** b64u(header).b64u(payload).b64u(sign(signing input)); strings are used as raw JSON text. */
function forge(header: Part, payload: Part, sign: SignFn): string {
  const input = `${b64u(header)}.${b64u(payload)}`;
  return `${input}.${sign(Buffer.from(input, 'latin1')).toString('base64url')}`;
}
const withKey =
  (alg: Alg, key: TesseraKey): SignFn =>
  (d) =>
    signBytes(ALGORITHMS[alg], key, d);
const hmacWith =
  (secret: Buffer | string, hash = 'sha256'): SignFn =>
  (d) =>
    createHmac(hash, secret).update(d).digest();
const ecdsaWith =
  (key: KeyObject, hash: string): SignFn =>
  (d) =>
    cryptoSign(hash, d, { key, dsaEncoding: 'ieee-p1363' });

function verifier(overrides: Partial<VerifierOptions> = {}): CoreVerifier {
  return createVerifier({
    algorithms: ['RS256'],
    issuer: ISS,
    audience: AUD,
    keys: [rsa.publicKey],
    clock: clockAt(NOW),
    ...overrides,
  });
}
const rsaVerifier = verifier();
const rsaHeader = { alg: 'RS256', kid: rsa.publicKey.kid };
const validRsaToken = forge(rsaHeader, claims(), withKey('RS256', rsa.privateKey));

/** Asserts the message says nothing about the token or the keys (STYLE: errors never echo a token or key). */
function assertNoLeak(err: TesseraError, token?: string): void {
  const text = `${err.message} ${String(err.stack)}`;
  for (const m of KEY_MATERIAL)
    assert.ok(!text.includes(m), `error message leaks key material: ${err.message}`);
  if (token === undefined || typeof token !== 'string') return;
  if (token.length >= 8) assert.ok(!err.message.includes(token), 'error message contains the token');
  for (const segment of token.split('.')) {
    if (segment.length >= 8)
      assert.ok(
        !err.message.includes(segment.slice(0, 64)),
        `error message contains a token segment: ${err.message}`,
      );
  }
}

function isCode(code: string, token?: string, claim?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TesseraError, `expected a TesseraError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code} (${err.message})`);
    if (claim !== undefined) assert.equal((err as TesseraError & { claim?: string }).claim, claim);
    assertNoLeak(err, token);
    return true;
  };
}

async function rejects(v: CoreVerifier, token: string, code: string, claim?: string): Promise<void> {
  await assert.rejects(v.verify(token), isCode(code, token, claim));
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, isCode(code));
}

test('baseline: the untampered token verifies (so every rejection below is the attack, not the fixture)', async () => {
  const { payload, header } = await rsaVerifier.verify(validRsaToken);
  assert.equal(payload.sub, 'alice');
  assert.equal(header.alg, 'RS256');
});

// ---------------------------------------------------------------------------------------------------------
describe('A01 alg none in every casing and shape', () => {
  const [, p, sig] = validRsaToken.split('.') as [string, string, string];
  const evil = b64u(claims({ sub: 'admin' }));
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    const h = b64u({ alg });
    test(`alg ${JSON.stringify(alg)}, empty signature (H.P.)`, () =>
      rejects(rsaVerifier, `${h}.${evil}.`, 'ERR_JOSE_ALG_NOT_ALLOWED'));
    test(`alg ${JSON.stringify(alg)}, old signature kept`, () =>
      rejects(rsaVerifier, `${h}.${p}.${sig}`, 'ERR_JOSE_ALG_NOT_ALLOWED'));
    test(`alg ${JSON.stringify(alg)}, last dot missing (H.P)`, () =>
      rejects(rsaVerifier, `${h}.${evil}`, 'ERR_JWS_INVALID'));
    test(`alg ${JSON.stringify(alg)} even when the verifier also allows HS256/ES256`, () =>
      rejects(
        verifier({ algorithms: ['RS256', 'ES256'], keys: [rsa.publicKey, ec256.publicKey] }),
        `${h}.${evil}.`,
        'ERR_JOSE_ALG_NOT_ALLOWED',
      ));
  }
  test('alg "" is not an algorithm', () =>
    rejects(rsaVerifier, `${b64u({ alg: '' })}.${evil}.`, 'ERR_JOSE_ALG_NOT_ALLOWED'));
  test('alg null', () => rejects(rsaVerifier, `${b64u('{"alg":null}')}.${evil}.`, 'ERR_JWS_INVALID'));
  test('alg ["none"]', () => rejects(rsaVerifier, `${b64u({ alg: ['none'] })}.${evil}.`, 'ERR_JWS_INVALID'));
  test('alg missing', () => rejects(rsaVerifier, `${b64u({ typ: 'JWT' })}.${evil}.`, 'ERR_JWS_INVALID'));
  test('alg "RS256 " and "rs256" are not RS256 (case-sensitive, exact)', async () => {
    await rejects(
      rsaVerifier,
      forge({ alg: 'rs256' }, claims(), withKey('RS256', rsa.privateKey)),
      'ERR_JOSE_ALG_NOT_ALLOWED',
    );
    await rejects(
      rsaVerifier,
      forge({ alg: 'RS256 ' }, claims(), withKey('RS256', rsa.privateKey)),
      'ERR_JOSE_ALG_NOT_ALLOWED',
    );
  });
  test('a verifier cannot be configured to allow none', () => {
    for (const alg of ['none', 'None', 'NONE'])
      throwsCode(() => verifier({ algorithms: [alg as Alg] }), 'ERR_INVALID_OPTIONS');
  });
  test('RFC 7515 A.5 unsecured JWS is rejected', () =>
    rejects(
      verifier({ issuer: null, audience: null }),
      rfcVector('rfc7515-A.5').compact!,
      'ERR_JOSE_ALG_NOT_ALLOWED',
    ));
});

// ---------------------------------------------------------------------------------------------------------
describe('A02 key confusion: public key used as the HMAC secret', () => {
  function secretForms(pair: GeneratedKeyPair): [string, Buffer][] {
    const pem = exportSPKI(pair.publicKey);
    const ko = createPublicKey(pem);
    const jwk = exportJWK(pair.publicKey);
    const forms: [string, Buffer][] = [
      ['PEM with trailing newline', Buffer.from(pem.endsWith('\n') ? pem : `${pem}\n`)],
      ['PEM without trailing newline', Buffer.from(pem.trimEnd())],
      ['PEM with CRLF line endings', Buffer.from(pem.replace(/\r?\n/g, '\r\n'))],
      ['PEM with leading whitespace', Buffer.from(`  \n${pem}`)],
      ['PEM with a UTF-8 BOM', Buffer.from(`\ufeff${pem}`)],
      ['SPKI DER', ko.export({ format: 'der', type: 'spki' })],
      ['JWK text', Buffer.from(JSON.stringify(jwk))],
      ['JWK Set text', Buffer.from(JSON.stringify({ keys: [jwk] }))],
    ];
    // OpenSSH wire strings are length-prefixed (RFC 4251 §5).
    const sshString = (b: Buffer | string) => {
      const buf = Buffer.from(b);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(buf.length);
      return Buffer.concat([len, buf]);
    };
    if (pair.publicKey.kty === 'RSA') {
      forms.push(['PKCS#1 PEM', Buffer.from(ko.export({ format: 'pem', type: 'pkcs1' }) as string)]);
      forms.push(['raw modulus n', Buffer.from(jwk.n!, 'base64url')]);
    } else if (pair.publicKey.kty === 'OKP') {
      const x = Buffer.from(jwk.x!, 'base64url');
      forms.push(['raw 32-byte x', x]);
      const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(x)]);
      forms.push(['OpenSSH one-line key', Buffer.from(`ssh-ed25519 ${blob.toString('base64')}`)]);
    } else {
      const x = Buffer.from(jwk.x!, 'base64url');
      const y = Buffer.from(jwk.y!, 'base64url');
      const point = Buffer.concat([Buffer.from([4]), x, y]);
      forms.push(['raw x‖y', Buffer.concat([x, y])]);
      forms.push(['raw 04‖x‖y', point]);
      const blob = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
      forms.push(['OpenSSH one-line key', Buffer.from(`ecdsa-sha2-nistp256 ${blob.toString('base64')}`)]);
    }
    return forms;
  }

  const cases: [string, GeneratedKeyPair, Alg][] = [
    ['RS256→HS*', rsa, 'RS256'],
    ['ES256→HS*', ec256, 'ES256'],
    ['EdDSA→HS*', ed, 'EdDSA'],
  ];
  for (const [name, pair, realAlg] of cases) {
    for (const [form, secret] of secretForms(pair)) {
      test(`${name} with the ${form} as the secret`, async () => {
        for (const [hsAlg, hash] of [
          ['HS256', 'sha256'],
          ['HS384', 'sha384'],
          ['HS512', 'sha512'],
        ] as const) {
          const withKid = forge(
            { alg: hsAlg, typ: 'JWT', kid: pair.publicKey.kid },
            claims({ sub: 'admin' }),
            hmacWith(secret, hash),
          );
          const noKid = forge({ alg: hsAlg, typ: 'JWT' }, claims({ sub: 'admin' }), hmacWith(secret, hash));
          // Positive control: the forged MAC is right, a verifier that (wrongly) held these bytes as a secret accepts.
          if (secret.length >= ALGORITHMS[hsAlg].minSecretBytes!) {
            const naive = verifier({ algorithms: [hsAlg], keys: [importHMACSecret(secret, hsAlg)] });
            await naive.verify(noKid);
          }
          // The real verifier, configured for the real algorithm only.
          const strict = verifier({ algorithms: [realAlg], keys: [pair.publicKey] });
          await rejects(strict, withKid, 'ERR_JOSE_ALG_NOT_ALLOWED');
          await rejects(strict, noKid, 'ERR_JOSE_ALG_NOT_ALLOWED');
          // Even with HS* allowed, the real public key can never serve an HMAC token.
          const wide = verifier({ algorithms: [realAlg, 'HS256', 'HS384', 'HS512'], keys: [pair.publicKey] });
          await rejects(wide, withKid, 'ERR_JWKS_NO_MATCHING_KEY');
          await rejects(wide, noKid, 'ERR_JWKS_NO_MATCHING_KEY');
          // And a key source that hands back the public key anyway hits the key↔alg binding (RFC 8725 §3.1).
          const sloppy: KeySource = { resolve: () => toPublic(pair), isTrusted: () => true };
          await rejects(
            verifier({ algorithms: [realAlg, hsAlg], keys: sloppy }),
            withKid,
            'ERR_JOSE_ALG_NOT_ALLOWED',
          );
        }
      });
    }
  }

  function toPublic(pair: GeneratedKeyPair): TesseraKey {
    return pair.publicKey;
  }

  test('key text or bytes are never accepted as a key for a verifier', () => {
    const pem = exportSPKI(rsa.publicKey);
    throwsCode(() => verifier({ algorithms: ['HS256'], keys: [pem as unknown as JWK] }), 'ERR_JWK_INVALID');
    throwsCode(
      () => verifier({ algorithms: ['HS256'], keys: [Buffer.from(pem) as unknown as JWK] }),
      'ERR_JWK_INVALID',
    );
    throwsCode(() => importKeyObject(pem as unknown as KeyObject), 'ERR_JWK_INVALID');
  });

  test('an RSA KeyObject offered only for HS256 serves nothing (construction error)', () => {
    throwsCode(
      () => verifier({ algorithms: ['HS256'], keys: [rsa.publicKey.keyObject] }),
      'ERR_INVALID_OPTIONS',
    );
  });

  test('a key set mixing oct and asymmetric keys is refused (Wycheproof JWK tcId 1)', () => {
    const mixed = { keys: [exportJWK(hs, { includePrivate: true }), exportJWK(rsa.publicKey)] };
    throwsCode(() => verifier({ algorithms: ['RS256', 'HS256'], keys: mixed }), 'ERR_JWKS_INVALID');
    throwsCode(() => createLocalKeySet(mixed), 'ERR_JWKS_INVALID');
    throwsCode(
      () => verifier({ algorithms: ['RS256', 'HS256'], keys: [hs, rsa.publicKey] }),
      'ERR_JWKS_INVALID',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A03 embedded key material in the header (jwk, x5c)', () => {
  const attackerJwk = exportJWK(attacker.publicKey);
  test('embedded RSA jwk with the real kid, signed by the attacker', () =>
    rejects(
      rsaVerifier,
      forge(
        { alg: 'RS256', kid: rsa.publicKey.kid, jwk: attackerJwk },
        claims({ sub: 'admin' }),
        withKey('RS256', attacker.privateKey),
      ),
      'ERR_JWS_INVALID',
    ));
  test('embedded ES256 and EdDSA jwk', async () => {
    const own = generateKeyPair('ES256');
    const v = verifier({ algorithms: ['ES256', 'EdDSA'], keys: [ec256.publicKey, ed.publicKey] });
    await rejects(
      v,
      forge({ alg: 'ES256', jwk: exportJWK(own.publicKey) }, claims(), withKey('ES256', own.privateKey)),
      'ERR_JWS_INVALID',
    );
    const ownEd = generateKeyPair('EdDSA');
    await rejects(
      v,
      forge({ alg: 'EdDSA', jwk: exportJWK(ownEd.publicKey) }, claims(), withKey('EdDSA', ownEd.privateKey)),
      'ERR_JWS_INVALID',
    );
  });
  test('embedded oct jwk with alg HS256', async () => {
    const secret = Buffer.alloc(32, 7);
    const token = forge(
      { alg: 'HS256', jwk: { kty: 'oct', k: secret.toString('base64url'), alg: 'HS256' } },
      claims(),
      hmacWith(secret),
    );
    await rejects(rsaVerifier, token, 'ERR_JOSE_ALG_NOT_ALLOWED');
    await rejects(verifier({ algorithms: ['HS256'], keys: [hs] }), token, 'ERR_JWS_INVALID');
  });
  test('x5c with the attacker certificate chain', () =>
    rejects(
      rsaVerifier,
      forge(
        {
          alg: 'RS256',
          x5c: [
            createPublicKey(exportSPKI(attacker.publicKey))
              .export({ format: 'der', type: 'spki' })
              .toString('base64'),
          ],
        },
        claims(),
        withKey('RS256', attacker.privateKey),
      ),
      'ERR_JWS_INVALID',
    ));
  test('without any header trick, the attacker key simply does not verify', () =>
    rejects(
      rsaVerifier,
      forge(rsaHeader, claims({ sub: 'admin' }), withKey('RS256', attacker.privateKey)),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    ));
});

// ---------------------------------------------------------------------------------------------------------
describe('A04 jku / x5u: the verifier never fetches a key URL named by the token', () => {
  let server: Server;
  let requests = 0;
  let base = '';
  before(async () => {
    server = createServer((_req, res) => {
      requests++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...exportJWK(attacker.publicKey), kid: 'attacker' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  for (const member of ['jku', 'x5u'] as const) {
    for (const kid of ['attacker', rsa.publicKey.kid!]) {
      test(`${member} pointing at a loopback server (kid ${kid === 'attacker' ? 'attacker' : 'real'})`, async () => {
        const token = forge(
          { alg: 'RS256', kid, [member]: `${base}/jwks.json` },
          claims({ sub: 'admin' }),
          withKey('RS256', attacker.privateKey),
        );
        await rejects(rsaVerifier, token, 'ERR_JWS_INVALID');
        await new Promise((r) => setTimeout(r, 30));
        assert.equal(requests, 0, 'the verifier must not contact the URL in the token');
      });
    }
  }
  test('SSRF-style jku values are rejected the same way', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'file:///etc/passwd',
      `${base}@attacker.example/`,
    ]) {
      await rejects(
        rsaVerifier,
        forge({ alg: 'RS256', jku: url }, claims(), withKey('RS256', attacker.privateKey)),
        'ERR_JWS_INVALID',
      );
    }
    assert.equal(requests, 0);
  });
  test('the loopback server works (positive control)', async () => {
    const res = await fetch(`${base}/jwks.json`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    requests = 0;
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A05 kid injection: kid is only an exact-match lookup', () => {
  const hsVerifier = verifier({ algorithms: ['HS256'], keys: [hs] });
  const injected: [string, string, Buffer | string][] = [
    ['path traversal to /dev/null, empty key', '../../../../../../dev/null', ''],
    ['path to /proc/sys/kernel/randomize_va_space', '/proc/sys/kernel/randomize_va_space', '2\n'],
    ['SQL injection', "x' UNION SELECT 'attacker-secret' -- ", 'attacker-secret'],
    ['command chars', 'k1|whoami', 'k1'],
    ['command substitution', 'hs-1;$(id)`id`', 'x'],
    ['LDAP filter', '*)(objectClass=*', '*'],
    ['NUL byte', 'hs-1\u0000', 'x'],
  ];
  for (const [name, kid, secret] of injected) {
    test(`${name}`, async () => {
      await rejects(
        hsVerifier,
        forge({ alg: 'HS256', kid }, claims({ sub: 'admin' }), hmacWith(secret)),
        'ERR_JWKS_NO_MATCHING_KEY',
      );
      // Even with the *real* key's MAC, a kid that is not exactly the real kid finds nothing.
      await rejects(
        hsVerifier,
        forge({ alg: 'HS256', kid }, claims(), withKey('HS256', hs)),
        'ERR_JWKS_NO_MATCHING_KEY',
      );
    });
  }
  test('kid differing only by Unicode normalization', async () => {
    const key = generateSecret('HS256', { kid: 'caf\u00e9' });
    const v = verifier({ algorithms: ['HS256'], keys: [key] });
    await v.verify(forge({ alg: 'HS256', kid: 'caf\u00e9' }, claims(), withKey('HS256', key)));
    await rejects(
      v,
      forge({ alg: 'HS256', kid: 'cafe\u0301' }, claims(), withKey('HS256', key)),
      'ERR_JWKS_NO_MATCHING_KEY',
    );
  });
  test('kid values that are Object.prototype names find nothing', async () => {
    for (const kid of ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf']) {
      await rejects(
        hsVerifier,
        forge({ alg: 'HS256', kid }, claims(), withKey('HS256', hs)),
        'ERR_JWKS_NO_MATCHING_KEY',
      );
    }
  });
  test('object-typed kid ({"$ne":null})', () =>
    rejects(
      hsVerifier,
      forge({ alg: 'HS256', kid: { $ne: null } }, claims(), withKey('HS256', hs)),
      'ERR_JWS_INVALID',
    ));
  test('array, number and empty kid', async () => {
    for (const kid of [['hs-1'], 1, '', true]) {
      await rejects(
        hsVerifier,
        forge({ alg: 'HS256', kid }, claims(), withKey('HS256', hs)),
        'ERR_JWS_INVALID',
      );
    }
  });
  test('10 KB kid: over the token limit by default, over the header limit when the token limit is raised', async () => {
    const token = forge({ alg: 'HS256', kid: 'k'.repeat(10_240) }, claims(), withKey('HS256', hs));
    await rejects(hsVerifier, token, 'ERR_TOKEN_TOO_LARGE');
    await rejects(
      verifier({ algorithms: ['HS256'], keys: [hs], maxTokenLength: 100_000 }),
      token,
      'ERR_JWS_INVALID',
    );
  });
  test('300-character kid (above the 256 limit, header still small)', () =>
    rejects(
      hsVerifier,
      forge({ alg: 'HS256', kid: 'k'.repeat(300) }, claims(), withKey('HS256', hs)),
      'ERR_JWS_INVALID',
    ));
  test('an empty HMAC key is refused at import, so the /dev/null trick has nothing to match', () => {
    throwsCode(() => importHMACSecret(Buffer.alloc(0), 'HS256'), 'ERR_JWK_INVALID');
    throwsCode(() => importJWK({ kty: 'oct', k: '', kid: 'empty' }), 'ERR_JWK_INVALID');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A06 psychic signatures and out-of-range ECDSA scalars', () => {
  const ec = verifier({ algorithms: ['ES256', 'ES384'], keys: [ec256.publicKey, ec384.publicKey] });
  const n256 = ALGORITHMS.ES256.order!;
  const n384 = ALGORITHMS.ES384.order!;
  const h256 = b64u({ alg: 'ES256', kid: ec256.publicKey.kid });
  const h384 = b64u({ alg: 'ES384', kid: ec384.publicKey.kid });
  const p = b64u(claims({ sub: 'admin' }));
  const valid256 = forge(
    { alg: 'ES256', kid: ec256.publicKey.kid },
    claims({ sub: 'admin' }),
    withKey('ES256', ec256.privateKey),
  );
  const realSig = Buffer.from(valid256.split('.')[2]!, 'base64url');
  const r = realSig.subarray(0, 32);
  const s = realSig.subarray(32);
  const one = Buffer.alloc(32);
  one[31] = 1;
  const cases: [string, string, Buffer][] = [
    ['ES256 r = s = 0 (64 zero bytes)', h256, Buffer.alloc(64)],
    ['ES384 r = s = 0 (96 zero bytes)', h384, Buffer.alloc(96)],
    ['ES256 r = s = n', h256, Buffer.concat([n256, n256])],
    ['ES384 r = s = n', h384, Buffer.concat([n384, n384])],
    ['ES256 r = 0, real s', h256, Buffer.concat([Buffer.alloc(32), s])],
    ['ES256 real r, s = 0', h256, Buffer.concat([r, Buffer.alloc(32)])],
    ['ES256 real r, s = n', h256, Buffer.concat([r, n256])],
    ['ES256 r = n, real s', h256, Buffer.concat([n256, s])],
    ['ES256 r = s = 1', h256, Buffer.concat([one, one])],
    ['ES256 r = s = 0xff…ff (≥ n)', h256, Buffer.alloc(64, 0xff)],
  ];
  for (const [name, h, sig] of cases) {
    test(name, () =>
      rejects(ec, `${h}.${p}.${sig.toString('base64url')}`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'),
    );
  }
  test('the untouched signature verifies (positive control)', async () => {
    await ec.verify(valid256);
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A07 DER and resized ECDSA signatures', () => {
  const ec = verifier({ algorithms: ['ES256'], keys: [ec256.publicKey] });
  const header = { alg: 'ES256', kid: ec256.publicKey.kid };
  test('a DER-encoded ES256 signature of the right signing input', () =>
    rejects(
      ec,
      forge(header, claims(), (d) =>
        cryptoSign('sha256', d, { key: ec256.privateKey.keyObject, dsaEncoding: 'der' }),
      ),
      'ERR_JWS_INVALID',
    ));
  test('the DER all-zero signature MAYCAQACAQA', () =>
    rejects(ec, `${b64u(header)}.${b64u(claims())}.MAYCAQACAQA`, 'ERR_JWS_INVALID'));
  test('R‖S‖00 (trailing zero) and 65..80-byte signatures', async () => {
    const token = forge(header, claims(), withKey('ES256', ec256.privateKey));
    const [h, p, sig] = token.split('.') as [string, string, string];
    const raw = Buffer.from(sig, 'base64url');
    for (let extra = 1; extra <= 16; extra++) {
      await rejects(
        ec,
        `${h}.${p}.${Buffer.concat([raw, Buffer.alloc(extra)]).toString('base64url')}`,
        'ERR_JWS_INVALID',
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A07/A24 truncated, extended, empty and flipped signatures; tampered header or payload (every alg)', () => {
  const families: [Alg, TesseraKey, TesseraKey][] = [
    ['RS256', rsa.privateKey, rsa.publicKey],
    ['PS256', ps.privateKey, ps.publicKey],
    ['ES256', ec256.privateKey, ec256.publicKey],
    ['ES384', ec384.privateKey, ec384.publicKey],
    ['EdDSA', ed.privateKey, ed.publicKey],
    ['HS256', hs, hs],
  ];
  for (const [alg, priv, pub] of families) {
    test(alg, async () => {
      const v = verifier({ algorithms: [alg], keys: [pub] });
      const header = { alg, kid: pub.kid };
      const token = forge(header, claims(), withKey(alg, priv));
      await v.verify(token);
      const [h, p, sig] = token.split('.') as [string, string, string];
      const raw = Buffer.from(sig, 'base64url');
      const enc = (b: Buffer) => b.toString('base64url');
      await rejects(v, `${h}.${p}.`, 'ERR_JWS_INVALID');
      await rejects(v, `${h}.${p}.${enc(raw.subarray(0, raw.length - 1))}`, 'ERR_JWS_INVALID');
      await rejects(v, `${h}.${p}.${enc(raw.subarray(0, 1))}`, 'ERR_JWS_INVALID');
      await rejects(v, `${h}.${p}.${enc(Buffer.concat([raw, Buffer.from([0])]))}`, 'ERR_JWS_INVALID');
      await rejects(v, `${h}.${p}.${enc(Buffer.concat([raw, raw]))}`, 'ERR_JWS_INVALID');
      for (const i of [0, raw.length >> 1, raw.length - 1]) {
        const flipped = Buffer.from(raw);
        flipped[i]! ^= 0x01;
        await rejects(v, `${h}.${p}.${enc(flipped)}`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      }
      // Tampered payload (privilege escalation) and header (extra member), signature kept.
      await rejects(
        v,
        `${h}.${b64u(claims({ sub: 'admin' }))}.${sig}`,
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
      await rejects(
        v,
        `${b64u({ ...header, typ: 'JWT' })}.${p}.${sig}`,
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
      // Segments swapped.
      await rejects(v, `${p}.${h}.${sig}`, 'ERR_JWS_INVALID');
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
describe('A10 duplicate JSON member names (after unescaping, at any depth)', () => {
  const sign = withKey('RS256', rsa.privateKey);
  const kid = rsa.publicKey.kid!;
  const body = JSON.stringify(claims());
  const headers: [string, string][] = [
    ['alg twice', `{"alg":"RS256","alg":"HS256","kid":"${kid}"}`],
    ['alg twice, second escaped (\\u0061lg)', `{"alg":"RS256","\\u0061lg":"none","kid":"${kid}"}`],
    ['kid twice', `{"alg":"RS256","kid":"${kid}","kid":"../../dev/null"}`],
    ['duplicate inside a nested header object', `{"alg":"RS256","kid":"${kid}","x":{"a":1,"a":2}}`],
  ];
  for (const [name, h] of headers)
    test(`header: ${name}`, () => rejects(rsaVerifier, forge(h, body, sign), 'ERR_JWS_INVALID'));
  const inner = body.slice(1, -1);
  const payloads: [string, string][] = [
    ['sub twice', `{${inner},"sub":"admin"}`],
    ['aud twice', `{${inner},"aud":"svc-b"}`],
    ['sub escaped (\\u0073ub)', `{${inner},"\\u0073ub":"admin"}`],
    ['duplicate nested in cnf', `{${inner},"cnf":{"jkt":"a","jkt":"b"}}`],
    ['duplicate nested in act, escaped', `{${inner},"act":{"sub":"a","s\\u0075b":"b"}}`],
    ['duplicate inside an object inside an array', `{${inner},"list":[{"a":1,"a":2}]}`],
  ];
  for (const [name, p] of payloads)
    test(`payload: ${name}`, () => rejects(rsaVerifier, forge(rsaHeader, p, sign), 'ERR_JWS_INVALID'));
  test('the same names in different objects are fine (control)', async () => {
    await rsaVerifier.verify(forge(rsaHeader, `{${inner},"a":{"x":1},"b":{"x":1}}`, sign));
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A11 claim type confusion, missing and substring claims', () => {
  const sign = withKey('RS256', rsa.privateKey);
  /** The base claims with some members replaced by raw JSON text (1e400 cannot be written by JSON.stringify). */
  function raw(replace: Record<string, string | undefined>): string {
    const base = claims();
    for (const k of Object.keys(replace)) delete base[k];
    const extra = Object.entries(replace)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${v}`);
    const text = JSON.stringify(base);
    return extra.length === 0 ? text : `${text.slice(0, -1)},${extra.join(',')}}`;
  }
  const builds: [string, string, string][] = [
    ['exp', '"never"', 'exp'],
    ['exp', '"9999999999"', 'exp'],
    ['exp', '[9999999999]', 'exp'],
    ['exp', '1e400', 'exp'],
    ['exp', '-1e400', 'exp'],
    ['exp', 'null', 'exp'],
    ['exp', 'true', 'exp'],
    ['exp', '{}', 'exp'],
    ['nbf', '-1e400', 'nbf'],
    ['nbf', '"0"', 'nbf'],
    ['iat', 'true', 'iat'],
    ['iat', '"1750000000"', 'iat'],
    ['aud', '{"0":"orders-api"}', 'aud'],
    ['aud', '["orders-api",{"x":1}]', 'aud'],
    ['aud', '["orders-api",1]', 'aud'],
    ['aud', '""', 'aud'],
    ['aud', '[]', 'aud'],
    ['aud', 'null', 'aud'],
    ['aud', '"orders"', 'aud'],
    ['aud', '"ORDERS-API"', 'aud'],
    ['iss', '["https://issuer.example.com"]', 'iss'],
    ['iss', '"https://issuer"', 'iss'],
    ['iss', '"https://issuer.example.com.attacker.example"', 'iss'],
    ['iss', '"HTTPS://ISSUER.EXAMPLE.COM"', 'iss'],
    ['iss', '"https://issuer.example.com/"', 'iss'],
    ['iss', 'null', 'iss'],
    ['sub', '123', 'sub'],
    ['sub', '["alice"]', 'sub'],
    ['jti', '{}', 'jti'],
    ['jti', '42', 'jti'],
  ];
  for (const [claim, value, named] of builds) {
    test(`${claim}: ${value}`, () =>
      rejects(rsaVerifier, forge(rsaHeader, raw({ [claim]: value }), sign), 'ERR_JWT_CLAIM_INVALID', named));
  }
  test('wrong types are rejected even when the check is switched off (issuer/audience null)', async () => {
    const lax = verifier({ issuer: null, audience: null });
    await rejects(lax, forge(rsaHeader, raw({ aud: '{"0":"x"}' }), sign), 'ERR_JWT_CLAIM_INVALID', 'aud');
    await rejects(lax, forge(rsaHeader, raw({ iss: '1' }), sign), 'ERR_JWT_CLAIM_INVALID', 'iss');
    await rejects(
      verifier({ allowMissingExp: true }),
      forge(rsaHeader, raw({ exp: '"never"' }), sign),
      'ERR_JWT_CLAIM_INVALID',
      'exp',
    );
  });
  test('missing exp, iss, aud', async () => {
    await rejects(
      rsaVerifier,
      forge(rsaHeader, raw({ exp: undefined }), sign),
      'ERR_JWT_CLAIM_INVALID',
      'exp',
    );
    await rejects(
      rsaVerifier,
      forge(rsaHeader, raw({ iss: undefined }), sign),
      'ERR_JWT_CLAIM_INVALID',
      'iss',
    );
    await rejects(
      rsaVerifier,
      forge(rsaHeader, raw({ aud: undefined }), sign),
      'ERR_JWT_CLAIM_INVALID',
      'aud',
    );
  });
  test('expected subject: wrong or missing sub', async () => {
    const v = verifier({ subject: 'alice' });
    await v.verify(forge(rsaHeader, claims(), sign));
    await rejects(v, forge(rsaHeader, claims({ sub: 'alice2' }), sign), 'ERR_JWT_CLAIM_INVALID', 'sub');
    await rejects(v, forge(rsaHeader, raw({ sub: undefined }), sign), 'ERR_JWT_CLAIM_INVALID', 'sub');
  });
  test('requiredClaims', async () => {
    const v = verifier({ requiredClaims: ['jti', 'tenant'] });
    await v.verify(forge(rsaHeader, claims({ jti: 'j1', tenant: 'acme' }), sign));
    await rejects(v, forge(rsaHeader, claims({ jti: 'j1' }), sign), 'ERR_JWT_CLAIM_INVALID', 'tenant');
  });
  test('aud array containing the audience is accepted; a list of issuers matches exactly', async () => {
    await rsaVerifier.verify(forge(rsaHeader, claims({ aud: ['other', AUD] }), sign));
    const v = verifier({ issuer: ['https://a.example', ISS] });
    await v.verify(forge(rsaHeader, claims(), sign));
    await rejects(
      v,
      forge(rsaHeader, claims({ iss: 'https://a.example.evil' }), sign),
      'ERR_JWT_CLAIM_INVALID',
      'iss',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A12 expiry boundaries, nbf, future iat, maxTokenAge (fixed clock)', () => {
  const sign = withKey('RS256', rsa.privateKey);
  const T = NOW;
  const at = (seconds: number, tolerance: number, extra: Partial<VerifierOptions> = {}) =>
    verifier({ clock: clockAt(seconds), clockTolerance: tolerance, ...extra });
  const expToken = forge(rsaHeader, claims({ iat: T - 100, exp: T }), sign);
  test('exp with tolerance 0: exp-1 ok, exp and exp+1 expired', async () => {
    await at(T - 1, 0).verify(expToken);
    await rejects(at(T, 0), expToken, 'ERR_JWT_EXPIRED');
    await rejects(at(T + 1, 0), expToken, 'ERR_JWT_EXPIRED');
  });
  test('exp with tolerance 60: exp and exp+59 ok, exp+60 and exp+61 expired', async () => {
    await at(T, 60).verify(expToken);
    await at(T + 59, 60).verify(expToken);
    await rejects(at(T + 60, 60), expToken, 'ERR_JWT_EXPIRED');
    await rejects(at(T + 61, '60s' as unknown as number), expToken, 'ERR_JWT_EXPIRED');
  });
  const nbfToken = forge(rsaHeader, claims({ iat: T - 100, nbf: T, exp: T + 600 }), sign);
  test('nbf with tolerance 0: nbf-1 not yet valid, nbf ok', async () => {
    await rejects(at(T - 1, 0), nbfToken, 'ERR_JWT_NOT_YET_VALID');
    await at(T, 0).verify(nbfToken);
  });
  test('nbf with tolerance 60: nbf-61 not yet valid, nbf-60 and nbf-1 ok', async () => {
    await rejects(at(T - 61, 60), nbfToken, 'ERR_JWT_NOT_YET_VALID');
    await at(T - 60, 60).verify(nbfToken);
    await at(T - 1, 60).verify(nbfToken);
  });
  test('nbf an hour ahead', () =>
    rejects(at(T, 60), forge(rsaHeader, claims({ nbf: T + 3600 }), sign), 'ERR_JWT_NOT_YET_VALID'));
  test('iat a year in the future (with a matching far exp)', async () => {
    const token = forge(rsaHeader, claims({ iat: T + 31_536_000, exp: T + 31_536_300 }), sign);
    await assert.rejects(at(T, 60).verify(token), isCode('ERR_JWT_NOT_YET_VALID', token, 'iat'));
  });
  test('maxTokenAge: iat 10 years ago is too old; a fresh one passes; missing iat is a claim error', async () => {
    const old = forge(rsaHeader, claims({ iat: T - 315_360_000 }), sign);
    await rejects(at(T, 0, { maxTokenAge: '1h' }), old, 'ERR_JWT_EXPIRED');
    await at(T, 0, { maxTokenAge: '1h' }).verify(forge(rsaHeader, claims({ iat: T - 3599 }), sign));
    await rejects(
      at(T, 0, { maxTokenAge: 3600 }),
      forge(rsaHeader, claims({ iat: T - 3601 }), sign),
      'ERR_JWT_EXPIRED',
    );
    const noIat = claims();
    delete noIat.iat;
    await rejects(
      at(T, 0, { maxTokenAge: 3600 }),
      forge(rsaHeader, noIat, sign),
      'ERR_JWT_CLAIM_INVALID',
      'iat',
    );
  });
  test('a negative or malformed clock tolerance is a construction error', () => {
    throwsCode(() => verifier({ clockTolerance: -1 }), 'ERR_INVALID_OPTIONS');
    throwsCode(() => verifier({ clockTolerance: 'soon' }), 'ERR_INVALID_OPTIONS');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A13 __proto__ / constructor / prototype keys', () => {
  const sign = withKey('RS256', rsa.privateKey);
  const kid = rsa.publicKey.kid!;
  const inner = JSON.stringify(claims()).slice(1, -1);
  const headerCases = [
    `{"alg":"RS256","kid":"${kid}","__proto__":{"alg":"none","b64":false}}`,
    `{"alg":"RS256","kid":"${kid}","constructor":{"prototype":{"admin":true}}}`,
    `{"alg":"RS256","kid":"${kid}","prototype":{"admin":true}}`,
    `{"alg":"RS256","kid":"${kid}","x":{"\\u005f_proto__":{"admin":true}}}`,
  ];
  const payloadCases = [
    `{${inner},"__proto__":{"admin":true,"role":"admin"}}`,
    `{${inner},"constructor":{"prototype":{"admin":true}}}`,
    `{${inner},"prototype":{"admin":true}}`,
    `{${inner},"cnf":{"__proto__":{"admin":true}}}`,
    `{${inner},"act":{"sub":"x","constructor":{"prototype":{"role":"admin"}}}}`,
    `{${inner},"list":[{"__proto__":{"admin":true}}]}`,
    `{${inner},"\\u005f\\u005fproto__":{"admin":true}}`,
  ];
  headerCases.forEach((h, i) =>
    test(`header case ${i + 1}`, () =>
      rejects(rsaVerifier, forge(h, JSON.stringify(claims()), sign), 'ERR_JWS_INVALID')),
  );
  payloadCases.forEach((p, i) =>
    test(`payload case ${i + 1}`, () => rejects(rsaVerifier, forge(rsaHeader, p, sign), 'ERR_JWS_INVALID')),
  );
  test('no pollution of Object.prototype afterwards', () => {
    const probe = {} as Record<string, unknown>;
    for (const name of ['admin', 'role', 'alg', 'b64']) {
      assert.equal(probe[name], undefined, `Object.prototype.${name} was polluted`);
      assert.equal(Object.hasOwn(Object.prototype, name), false);
    }
  });
  test('verified claims are frozen or null-prototype (A13 "Verifier must"), the header frozen', async () => {
    const { payload, header } = await rsaVerifier.verify(validRsaToken);
    assert.ok(Object.isFrozen(header), 'header is frozen');
    assert.ok(
      Object.isFrozen(payload) || Object.getPrototypeOf(payload) === null,
      'ATTACKS A13: return claims as null-prototype or frozen plain objects',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A14 oversized and deeply nested tokens fail fast', () => {
  const sign = withKey('RS256', rsa.privateKey);
  // The bound catches work that grows faster than the input (a 10 MB token parsed, or a regex backtracking,
  // takes seconds), not speed: the checks themselves take well under 1 ms, and a loaded CI machine can
  // stall any single call for tens of milliseconds, so the bound is generous (speed is for `npm run bench`).
  async function fast(v: CoreVerifier, token: string, code: string, limitMs = 1000): Promise<void> {
    const t0 = performance.now();
    await assert.rejects(v.verify(token), isCode(code));
    const ms = performance.now() - t0;
    assert.ok(ms < limitMs, `took ${ms.toFixed(1)} ms (limit ${limitMs} ms)`);
  }
  test('a 10 MB token: ERR_TOKEN_TOO_LARGE at once', () =>
    fast(rsaVerifier, 'a'.repeat(10 * 1024 * 1024), 'ERR_TOKEN_TOO_LARGE'));
  test('a 10 MB token made of a valid token plus padding', () =>
    fast(rsaVerifier, validRsaToken + 'A'.repeat(10 * 1024 * 1024), 'ERR_TOKEN_TOO_LARGE'));
  test('10^6 dots: ERR_TOKEN_TOO_LARGE at once', () =>
    fast(rsaVerifier, '.'.repeat(1_000_000), 'ERR_TOKEN_TOO_LARGE'));
  test('10^6 dots with the size limit raised: still rejected fast, as malformed', () =>
    fast(verifier({ maxTokenLength: 20_000_000 }), '.'.repeat(1_000_000), 'ERR_JWS_INVALID'));
  test('a token one character over the limit, and one at the limit', async () => {
    const v = verifier({ maxTokenLength: validRsaToken.length });
    await v.verify(validRsaToken);
    await rejects(
      verifier({ maxTokenLength: validRsaToken.length - 1 }),
      validRsaToken,
      'ERR_TOKEN_TOO_LARGE',
    );
  });
  test('a 20 KB signature', async () => {
    const [h, p] = validRsaToken.split('.') as [string, string];
    const token = `${h}.${p}.${Buffer.alloc(20_480, 1).toString('base64url')}`;
    await fast(rsaVerifier, token, 'ERR_TOKEN_TOO_LARGE');
    await fast(verifier({ maxTokenLength: 100_000 }), token, 'ERR_JWS_INVALID');
  });
  const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  test('header nested 17 deep, and 10^5 deep', async () => {
    await rejects(rsaVerifier, forge(`{"alg":"RS256","x":${nest(16)}}`, claims(), sign), 'ERR_JWS_INVALID');
    await fast(
      verifier({ maxTokenLength: 2_000_000 }),
      forge(`{"alg":"RS256","x":${nest(100_000)}}`, claims(), sign),
      'ERR_JWS_INVALID',
    );
  });
  test('payload nested 17 deep, and 10^5 deep (with a raised size limit)', async () => {
    const inner = JSON.stringify(claims()).slice(1, -1);
    await rejects(rsaVerifier, forge(rsaHeader, `{${inner},"x":${nest(16)}}`, sign), 'ERR_JWS_INVALID');
    await fast(
      verifier({ maxTokenLength: 2_000_000 }),
      forge(rsaHeader, `{${inner},"x":${nest(100_000)}}`, sign),
      'ERR_JWS_INVALID',
      200,
    );
  });
  test('a JWK Set with 10^4 keys is refused quickly', () => {
    const jwk = exportJWK(ec256.publicKey);
    const keys = Array.from({ length: 10_000 }, (_, i) => ({ ...jwk, kid: `k${i}` }));
    const t0 = performance.now();
    throwsCode(() => verifier({ algorithms: ['ES256'], keys: { keys } }), 'ERR_JWKS_INVALID');
    throwsCode(() => verifier({ algorithms: ['ES256'], keys: keys as JWK[] }), 'ERR_JWKS_INVALID');
    assert.ok(performance.now() - t0 < 200);
  });
  test('a header with thousands of members, a payload with 2·10^4 members (size limit raised; linear time)', async () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `"m${i}":0`).join(',');
    await rejects(
      rsaVerifier,
      forge(`{"alg":"RS256",${members(5000)}}`, claims(), sign),
      'ERR_TOKEN_TOO_LARGE',
    );
    await fast(
      verifier({ maxTokenLength: 20_000_000 }),
      forge(`{"alg":"RS256",${members(5000)}}`, claims(), sign),
      'ERR_JWS_INVALID',
    );
    const inner = JSON.stringify(claims()).slice(1, -1);
    const big = forge(rsaHeader, `{${inner},${members(20_000)},"m5":1}`, sign);
    await fast(verifier({ maxTokenLength: 20_000_000 }), big, 'ERR_JWS_INVALID', 1000);
  });
  test('moderate nesting (depth 8) is fine (control)', async () => {
    const inner = JSON.stringify(claims()).slice(1, -1);
    await rsaVerifier.verify(forge(rsaHeader, `{${inner},"x":${nest(8)}}`, sign));
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A15 non-canonical base64url in each segment', () => {
  // Pick header and payload whose encodings have spare trailing bits, so the "trailing bits" variant exists.
  let header: Record<string, unknown> = { ...rsaHeader, typ: 'JWT' };
  for (let i = 0; b64u(header).length % 4 === 0; i++) header = { ...rsaHeader, typ: 'JWT', x: 'x'.repeat(i) };
  let body = claims();
  for (let i = 0; b64u(body).length % 4 === 0; i++) body = claims({ pad: 'p'.repeat(i) });
  const token = forge(header, body, withKey('RS256', rsa.privateKey));
  const parts = token.split('.') as [string, string, string];
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const variants: [string, (s: string) => string][] = [
    ['"=" padding', (s) => s + '='],
    ['"==" padding', (s) => s + '=='],
    ['"+" in place of a character', (s) => '+' + s.slice(1)],
    ['"/" in place of a character', (s) => s.slice(0, 3) + '/' + s.slice(4)],
    ['a space inside', (s) => s.slice(0, 5) + ' ' + s.slice(5)],
    ['a newline inside', (s) => s.slice(0, 5) + '\n' + s.slice(5)],
    ['"?" inside', (s) => s.slice(0, 5) + '?' + s.slice(5)],
    ['non-zero trailing bits', (s) => s.slice(0, -1) + ALPHABET[ALPHABET.indexOf(s.at(-1)!) + 1]!],
    [
      'one extra character (len % 4 == 1)',
      (s) => (s.length % 4 === 0 ? s + 'A' : s + 'AAAA'.slice(0, 5 - (s.length % 4))),
    ],
    ['a trailing tab', (s) => s + '\t'],
  ];
  test('control: the token verifies and every segment has spare bits', async () => {
    await rsaVerifier.verify(token);
    for (const part of parts) assert.notEqual(part.length % 4, 0);
  });
  ['header', 'payload', 'signature'].forEach((name, index) => {
    for (const [what, mutate] of variants) {
      test(`${name}: ${what}`, () => {
        const copy = [...parts];
        copy[index] = mutate(copy[index]!);
        const mutated = copy.join('.');
        assert.notEqual(mutated, token);
        // Node's lenient decoder would give the same bytes for several of these; we must still reject.
        return rejects(rsaVerifier, mutated, 'ERR_JWS_INVALID');
      });
    }
  });
  test('whitespace around the whole token', async () => {
    for (const t of [` ${token}`, `${token} `, `${token}\n`, `\t${token}`, `${token}\r\n`])
      await rejects(rsaVerifier, t, 'ERR_JWS_INVALID');
  });
  test('empty header or payload segment', async () => {
    await rejects(rsaVerifier, `.${parts[1]}.${parts[2]}`, 'ERR_JWS_INVALID');
    await rejects(rsaVerifier, `${parts[0]}..${parts[2]}`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });
  test('non-ASCII lookalikes (Node decodes only the low byte: "Ł" U+0141 reads as "A")', async () => {
    // Without an explicit check these decode to the very same bytes and would verify as the original token.
    const lookalike = (s: string, i: number) =>
      s.slice(0, i) + String.fromCharCode(0x100 + s.charCodeAt(i)) + s.slice(i + 1);
    for (const index of [0, 1, 2]) {
      const copy = [...parts];
      copy[index] = lookalike(copy[index]!, 2);
      await rejects(rsaVerifier, copy.join('.'), 'ERR_JWS_INVALID');
    }
    const es = verifier({ algorithms: ['ES256'], keys: [ec256.publicKey] });
    const esToken = forge(
      { alg: 'ES256', kid: ec256.publicKey.kid },
      claims(),
      withKey('ES256', ec256.privateKey),
    );
    await es.verify(esToken);
    const [h, p, sig] = esToken.split('.') as [string, string, string];
    await rejects(es, `${h}.${lookalike(p, 5)}.${sig}`, 'ERR_JWS_INVALID');
    await rejects(es, `${h}.${p}.${lookalike(sig, 5)}`, 'ERR_JWS_INVALID');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A16/A17/A19 crit, b64, zip', () => {
  const sign = withKey('RS256', rsa.privateKey);
  const kid = rsa.publicKey.kid;
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'unknown crit extension',
      { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true },
      'ERR_JOSE_NOT_SUPPORTED',
    ],
    ['crit ["exp"] (header-level semantics)', { crit: ['exp'], exp: NOW + 10 }, 'ERR_JOSE_NOT_SUPPORTED'],
    ['crit ["alg"] (a registered parameter)', { crit: ['alg'] }, 'ERR_JOSE_NOT_SUPPORTED'],
    ['crit naming an absent parameter', { crit: ['urn:absent'] }, 'ERR_JOSE_NOT_SUPPORTED'],
    ['crit []', { crit: [] }, 'ERR_JWS_INVALID'],
    ['crit "b64" (not an array)', { crit: 'b64' }, 'ERR_JWS_INVALID'],
    ['crit [1]', { crit: [1] }, 'ERR_JWS_INVALID'],
    ['b64:false with crit ["b64"]', { b64: false, crit: ['b64'] }, 'ERR_JOSE_NOT_SUPPORTED'],
    ['b64:false without crit', { b64: false }, 'ERR_JOSE_NOT_SUPPORTED'],
    ['b64:"false" (a string)', { b64: 'false' }, 'ERR_JOSE_NOT_SUPPORTED'],
    ['b64:true (refused outright in a JWT)', { b64: true }, 'ERR_JOSE_NOT_SUPPORTED'],
    ['zip:"DEF" in a JWS', { zip: 'DEF' }, 'ERR_JWS_INVALID'],
    ['enc in a JWS', { enc: 'A256GCM' }, 'ERR_JWS_INVALID'],
  ];
  for (const [name, extra, code] of cases) {
    test(name, () => rejects(rsaVerifier, forge({ alg: 'RS256', kid, ...extra }, claims(), sign), code));
  }
  test('b64:false with a raw payload signed over the raw bytes (A17 build)', async () => {
    const key = generateSecret('HS256');
    const h = b64u({ alg: 'HS256', b64: false });
    const rawPayload = b64u(claims()); // raw bytes that are themselves valid base64url text
    const sig = createHmac('sha256', key.keyObject)
      .update(`${h}.${rawPayload}`)
      .digest()
      .toString('base64url');
    await rejects(
      verifier({ algorithms: ['HS256'], keys: [key] }),
      `${h}.${rawPayload}.${sig}`,
      'ERR_JOSE_NOT_SUPPORTED',
    );
  });
  test('cookbook rfc7797/4.2 (b64:false without crit) is rejected', async () => {
    const ex = cookbook('rfc7797/4.2.hmac-sha2_b64_false.json');
    const key = importJWK(ex.input.key as JWK, { alg: 'HS256' });
    const v = verifier({
      algorithms: ['HS256'],
      keys: [key],
      issuer: null,
      audience: null,
      allowMissingExp: true,
    });
    // The file has JSON forms only; its signed header is {"alg":"HS256","b64":false} (no crit). Detached compact:
    const protectedHeader = String(ex.output.json_flat?.protected);
    assert.deepEqual(JSON.parse(Buffer.from(protectedHeader, 'base64url').toString()), {
      alg: 'HS256',
      b64: false,
    });
    await rejects(
      v,
      `${protectedHeader}..${String(ex.output.json_flat?.signature)}`,
      'ERR_JOSE_NOT_SUPPORTED',
    );
    // With the unencoded payload attached ("$.02" has a dot): four segments.
    await rejects(
      v,
      `${protectedHeader}.${ex.input.payload}.${String(ex.output.json_flat?.signature)}`,
      'ERR_JWS_INVALID',
    );
    await rejects(v, JSON.stringify(ex.output.json_flat), 'ERR_JWS_INVALID');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A21 wrong-curve keys and undersized keys', () => {
  const ecBoth = verifier({ algorithms: ['ES256', 'ES384'], keys: [ec256.publicKey, ec384.publicKey] });
  test('ES256 token signed by a P-384 key with SHA-256 (96-byte R‖S)', async () => {
    const token = forge(
      { alg: 'ES256', kid: ec384.publicKey.kid },
      claims(),
      ecdsaWith(ec384.privateKey.keyObject, 'sha256'),
    );
    await rejects(
      verifier({ algorithms: ['ES256', 'ES384'], keys: [ec384.publicKey] }),
      token,
      'ERR_JWKS_NO_MATCHING_KEY',
    );
    await rejects(ecBoth, token, 'ERR_JWKS_NO_MATCHING_KEY');
    // A key source that returns the P-384 key anyway still hits the binding check.
    const sloppy: KeySource = { resolve: () => ec384.publicKey, isTrusted: () => true };
    await rejects(verifier({ algorithms: ['ES256'], keys: sloppy }), token, 'ERR_JOSE_ALG_NOT_ALLOWED');
  });
  test('ES384 token carrying a P-256 signature zero-padded to 48-byte R and S', async () => {
    const sig = ecdsaWith(ec256.privateKey.keyObject, 'sha384');
    const padded: SignFn = (d) => {
      const rs = sig(d);
      return Buffer.concat([Buffer.alloc(16), rs.subarray(0, 32), Buffer.alloc(16), rs.subarray(32)]);
    };
    const token = forge({ alg: 'ES384', kid: ec256.publicKey.kid }, claims(), padded);
    await rejects(ecBoth, token, 'ERR_JWKS_NO_MATCHING_KEY');
    const sloppy: KeySource = { resolve: () => ec256.publicKey, isTrusted: () => true };
    await rejects(verifier({ algorithms: ['ES384'], keys: sloppy }), token, 'ERR_JOSE_ALG_NOT_ALLOWED');
  });
  test('a P-384 key is refused for ES256 at import and at construction', () => {
    throwsCode(() => importJWK(exportJWK(ec384.publicKey), { alg: 'ES256' }), 'ERR_JWK_INVALID');
    throwsCode(() => verifier({ algorithms: ['ES256'], keys: [ec384.publicKey] }), 'ERR_INVALID_OPTIONS');
  });
  test('RSA 1024 is refused at import and at verifier construction', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    throwsCode(() => importKeyObject(small.publicKey), 'ERR_JWK_INVALID');
    throwsCode(() => importJWK(small.publicKey.export({ format: 'jwk' }) as JWK), 'ERR_JWK_INVALID');
    throwsCode(() => verifier({ keys: [small.publicKey] }), 'ERR_JWK_INVALID');
    throwsCode(
      () => verifier({ keys: { keys: [small.publicKey.export({ format: 'jwk' }) as JWK] } }),
      'ERR_INVALID_OPTIONS',
    );
  });
  test('HMAC 16-byte secret is refused (and 31 bytes for HS256, 47 for HS384)', () => {
    throwsCode(() => importHMACSecret(Buffer.alloc(16, 1), 'HS256'), 'ERR_JWK_INVALID');
    throwsCode(() => importHMACSecret(Buffer.alloc(31, 1), 'HS256'), 'ERR_JWK_INVALID');
    throwsCode(() => importHMACSecret(Buffer.alloc(47, 1), 'HS384'), 'ERR_JWK_INVALID');
    throwsCode(
      () =>
        verifier({
          algorithms: ['HS256'],
          keys: [{ kty: 'oct', k: Buffer.alloc(16, 1).toString('base64url') }],
        }),
      'ERR_JWK_INVALID',
    );
  });
  test('an X25519 key is never an EdDSA key', () => {
    throwsCode(() => importKeyObject(generateKeyPairSync('x25519').publicKey), 'ERR_JWK_INVALID');
  });
  test('a JWK alg contradicting the token alg (PS256 key, PS384 token)', async () => {
    const jwk = { ...exportJWK(ps.publicKey), alg: 'PS256' };
    const v = verifier({ algorithms: ['PS256', 'PS384'], keys: [jwk] });
    const token = forge({ alg: 'PS384', kid: ps.publicKey.kid }, claims(), (d) =>
      cryptoSign('sha384', d, { key: ps.privateKey.keyObject, padding: 6, saltLength: 48 }),
    );
    await rejects(v, token, 'ERR_JWKS_NO_MATCHING_KEY');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A22 required options, typ, and key selection', () => {
  const base = { algorithms: ['RS256'] as Alg[], issuer: ISS, audience: AUD, keys: [rsa.publicKey] };
  test('required options missing at construction', () => {
    const without = (name: string) => {
      const o: Record<string, unknown> = { ...base };
      delete o[name];
      return o as unknown as VerifierOptions;
    };
    for (const name of ['algorithms', 'issuer', 'audience', 'keys'])
      throwsCode(() => createVerifier(without(name)), 'ERR_INVALID_OPTIONS');
    throwsCode(() => createVerifier({ ...base, algorithms: [] }), 'ERR_INVALID_OPTIONS');
    throwsCode(() => createVerifier({ ...base, issuer: '' }), 'ERR_INVALID_OPTIONS');
    throwsCode(() => createVerifier({ ...base, audience: [] }), 'ERR_INVALID_OPTIONS');
    throwsCode(() => createVerifier({ ...base, maxTokenLength: 0 }), 'ERR_INVALID_OPTIONS');
    throwsCode(() => createVerifier(undefined as unknown as VerifierOptions), 'ERR_INVALID_OPTIONS');
  });
  test('typ: at+jwt, AT+JWT and application/at+jwt accepted; JWT or missing rejected when at+jwt is required', async () => {
    const v = verifier({ typ: 'at+jwt' });
    const sign = withKey('RS256', rsa.privateKey);
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/AT+JWT'])
      await v.verify(forge({ ...rsaHeader, typ }, claims(), sign));
    await rejects(v, forge({ ...rsaHeader, typ: 'JWT' }, claims(), sign), 'ERR_JWT_CLAIM_INVALID', 'typ');
    await rejects(v, forge(rsaHeader, claims(), sign), 'ERR_JWT_CLAIM_INVALID', 'typ');
    await rejects(
      v,
      forge({ ...rsaHeader, typ: 'at+jwt+evil' }, claims(), sign),
      'ERR_JWT_CLAIM_INVALID',
      'typ',
    );
    await rejects(v, forge({ ...rsaHeader, typ: 1 }, claims(), sign), 'ERR_JWS_INVALID');
  });
  test('cross-service replay: a token for another audience or issuer, same key set', async () => {
    const sign = withKey('RS256', rsa.privateKey);
    await rejects(
      rsaVerifier,
      forge(rsaHeader, claims({ aud: 'https://a.example' }), sign),
      'ERR_JWT_CLAIM_INVALID',
      'aud',
    );
    await rejects(
      rsaVerifier,
      forge(rsaHeader, claims({ iss: 'https://tenant-x.example.com' }), sign),
      'ERR_JWT_CLAIM_INVALID',
      'iss',
    );
  });
  test('a kid-less token with two candidate keys', async () => {
    const v = verifier({ algorithms: ['ES256'], keys: [ec256.publicKey, ec256b.publicKey] });
    await rejects(
      v,
      forge({ alg: 'ES256' }, claims(), withKey('ES256', ec256.privateKey)),
      'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
    );
    await v.verify(
      forge({ alg: 'ES256', kid: ec256.publicKey.kid }, claims(), withKey('ES256', ec256.privateKey)),
    );
  });
  test('a kid-less token with exactly one compatible key verifies', async () => {
    const v = verifier({ algorithms: ['ES256', 'RS256'], keys: [ec256.publicKey, rsa.publicKey] });
    await v.verify(forge({ alg: 'ES256' }, claims(), withKey('ES256', ec256.privateKey)));
  });
  test('an unknown kid', () =>
    rejects(
      rsaVerifier,
      forge({ alg: 'RS256', kid: 'nope' }, claims(), withKey('RS256', rsa.privateKey)),
      'ERR_JWKS_NO_MATCHING_KEY',
    ));
  test('a mixed oct + RSA JWKS', () => {
    const jwks = {
      keys: [
        exportJWK(generateSecret('HS256', { kid: 'o' }), { includePrivate: true }),
        exportJWK(rsa.publicKey),
      ],
    };
    throwsCode(() => verifier({ algorithms: ['RS256', 'HS256'], keys: jwks }), 'ERR_JWKS_INVALID');
  });
  test('the signer refuses none and algorithm/key mismatches', () => {
    throwsCode(() => createSigner({ key: rsa.privateKey, alg: 'none' as Alg }), 'ERR_JOSE_ALG_NOT_ALLOWED');
    throwsCode(() => createSigner({ key: rsa.privateKey, alg: 'NONE' as Alg }), 'ERR_JOSE_ALG_NOT_ALLOWED');
    throwsCode(() => createSigner({ key: rsa.privateKey, alg: 'HS256' }), 'ERR_JOSE_ALG_NOT_ALLOWED');
    throwsCode(() => createSigner({ key: hs, alg: 'RS256' }), 'ERR_JOSE_ALG_NOT_ALLOWED');
    throwsCode(() => createSigner({ key: ec256.privateKey, alg: 'ES384' }), 'ERR_JOSE_ALG_NOT_ALLOWED');
    throwsCode(() => createSigner({ key: ec384.privateKey, alg: 'ES256' }), 'ERR_JOSE_ALG_NOT_ALLOWED');
    throwsCode(() => createSigner({ key: rsa.publicKey, alg: 'RS256' }), 'ERR_INVALID_OPTIONS');
    const signer = createSigner({ key: rsa.privateKey, alg: 'RS256' });
    for (const member of ['alg', 'jwk', 'jku', 'x5u', 'x5c', 'b64', 'crit', 'zip']) {
      throwsCode(
        () => signer.sign(claims(), { header: { [member]: member === 'alg' ? 'none' : 'x' } }),
        'ERR_INVALID_OPTIONS',
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A26 JSON serialization and JWE-shaped input', () => {
  test('cookbook 4_1 general and flattened JSON serialization', async () => {
    const ex = cookbook('jws/4_1.rsa_v15_signature.json');
    const v = verifier({ keys: [ex.input.key as JWK], issuer: null, audience: null, allowMissingExp: true });
    await rejects(v, JSON.stringify(ex.output.json), 'ERR_JWS_INVALID');
    await rejects(v, JSON.stringify(ex.output.json_flat), 'ERR_JWS_INVALID');
  });
  test('a JSON object with exactly two dots in its strings', () =>
    rejects(rsaVerifier, '{"a":"x.y","b":"z.w"}', 'ERR_JWS_INVALID'));
  test('JWE-shaped five-segment input (RFC 7516 A.1) and a synthetic one', async () => {
    await rejects(rsaVerifier, rfcVector('rfc7516-A.1').compact!, 'ERR_JWS_INVALID');
    const [h, p, s] = validRsaToken.split('.') as [string, string, string];
    await rejects(rsaVerifier, `${h}.${p}.${s}.${s}.${s}`, 'ERR_JWS_INVALID');
    await rejects(rsaVerifier, `${h}.${p}.${s}.`, 'ERR_JWS_INVALID');
    await rejects(rsaVerifier, `${h}..${p}.${s}`, 'ERR_JWS_INVALID');
  });
  test('non-string input', async () => {
    for (const input of [undefined, null, 42, {}, ['a', 'b', 'c'], Buffer.from(validRsaToken)]) {
      await assert.rejects(rsaVerifier.verify(input as unknown as string), isCode('ERR_JWS_INVALID'));
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A27 invalid UTF-8 and BOM', () => {
  const sign = withKey('RS256', rsa.privateKey);
  const kid = rsa.publicKey.kid!;
  const body = Buffer.from(JSON.stringify(claims()));
  const bytes = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
  test('header with an invalid UTF-8 byte', () =>
    rejects(
      rsaVerifier,
      forge(bytes(`{"alg":"RS256","kid":"${kid}","x":"`, [0xff], '"}'), body, sign),
      'ERR_JWS_INVALID',
    ));
  test('header with an overlong encoding', () =>
    rejects(
      rsaVerifier,
      forge(bytes(`{"alg":"RS256","kid":"${kid}","x":"`, [0xc0, 0xaf], '"}'), body, sign),
      'ERR_JWS_INVALID',
    ));
  test('header with a BOM', () =>
    rejects(
      rsaVerifier,
      forge(bytes([0xef, 0xbb, 0xbf], JSON.stringify(rsaHeader)), body, sign),
      'ERR_JWS_INVALID',
    ));
  test('header in UTF-16', () =>
    rejects(
      rsaVerifier,
      forge(Buffer.from(JSON.stringify(rsaHeader), 'utf16le'), body, sign),
      'ERR_JWS_INVALID',
    ));
  const inner = JSON.stringify(claims()).slice(1, -1);
  test('payload "admin\\xff" (lossy decoding would give admin\\uFFFD)', () =>
    rejects(
      rsaVerifier,
      forge(rsaHeader, bytes(`{${inner},"role":"admin`, [0xff], '"}'), sign),
      'ERR_JWS_INVALID',
    ));
  test('payload with a BOM', () =>
    rejects(
      rsaVerifier,
      forge(rsaHeader, bytes([0xef, 0xbb, 0xbf], JSON.stringify(claims())), sign),
      'ERR_JWS_INVALID',
    ));
  test('payload with a truncated multi-byte sequence', () =>
    rejects(
      rsaVerifier,
      forge(rsaHeader, bytes(`{${inner},"n":"`, [0xe2, 0x82], '"}'), sign),
      'ERR_JWS_INVALID',
    ));
  test('valid non-ASCII UTF-8 is fine (control)', async () => {
    const { payload } = await rsaVerifier.verify(forge(rsaHeader, claims({ name: 'Zoë 東京 🚀' }), sign));
    assert.equal(payload.name, 'Zoë 東京 🚀');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('verified-token cache: no shortcut around the checks', () => {
  const sign = withKey('RS256', rsa.privateKey);
  let now = NOW;
  const cached = () =>
    verifier({ clock: () => now * 1000, cache: { maxEntries: 100 } } as Partial<VerifierOptions>);

  test('a caller cannot alter what the cache hands to the next caller', async () => {
    now = NOW;
    const v = cached();
    const token = forge(rsaHeader, claims({ scope: 'read' }), sign);
    const first = await v.verify(token);
    try {
      (first.payload as Record<string, unknown>).sub = 'admin';
      (first.payload as Record<string, unknown>).scope = 'read write admin';
    } catch {
      // A frozen payload refuses the write: that is fine too.
    }
    const second = await v.verify(token);
    assert.equal(second.payload.sub, 'alice', 'a cached payload was modified by an earlier caller');
    assert.equal(second.payload.scope, 'read');
  });

  test('a cached token still expires on time (exp and maxTokenAge)', async () => {
    now = NOW;
    const v = cached();
    const token = forge(rsaHeader, claims({ iat: NOW - 10, exp: NOW + 5 }), sign);
    await v.verify(token);
    now = NOW + 4;
    await v.verify(token);
    now = NOW + 5;
    await rejects(v, token, 'ERR_JWT_EXPIRED');
    now = NOW;
    const young = forge(rsaHeader, claims({ iat: NOW - 10, exp: NOW + 600 }), sign);
    const aged = verifier({
      clock: () => now * 1000,
      maxTokenAge: 20,
      cache: { maxEntries: 10 },
    } as Partial<VerifierOptions>);
    await aged.verify(young);
    now = NOW + 10; // age 20: still within maxTokenAge
    await aged.verify(young);
    now = NOW + 11; // age 21: too old, although exp is far away
    await assert.rejects(aged.verify(young), isCode('ERR_JWT_EXPIRED', young));
  });

  test('mutations of a cached token are never served from the cache', async () => {
    now = NOW;
    const v = cached();
    const token = forge(rsaHeader, claims(), sign);
    await v.verify(token);
    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = Buffer.from(s, 'base64url');
    flipped[10]! ^= 0x80;
    await rejects(v, `${h}.${p}.${flipped.toString('base64url')}`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    await rejects(v, `${h}.${b64u(claims({ sub: 'admin' }))}.${s}`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    await rejects(v, `${token}=`, 'ERR_JWS_INVALID');
    await rejects(v, ` ${token}`, 'ERR_JWS_INVALID');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('the thread-pool verification path (threadPool: true) rejects the same attacks', () => {
  const cases: [Alg, GeneratedKeyPair][] = [
    ['RS256', rsa],
    ['PS256', ps],
    ['ES256', ec256],
    ['ES384', ec384],
    ['EdDSA', ed],
  ];
  for (const [alg, pair] of cases) {
    test(alg, async () => {
      const v = verifier({ algorithms: [alg], keys: [pair.publicKey], threadPool: true });
      const header = { alg, kid: pair.publicKey.kid };
      const token = forge(header, claims(), withKey(alg, pair.privateKey));
      await v.verify(token);
      const [h, p, s] = token.split('.') as [string, string, string];
      const raw = Buffer.from(s, 'base64url');
      const flipped = Buffer.from(raw);
      flipped[raw.length >> 1]! ^= 0x01;
      await rejects(v, `${h}.${p}.${flipped.toString('base64url')}`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      await rejects(
        v,
        `${h}.${b64u(claims({ sub: 'admin' }))}.${s}`,
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
      await rejects(
        v,
        `${h}.${p}.${Buffer.alloc(raw.length).toString('base64url')}`,
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      );
      await rejects(v, `${h}.${p}.`, 'ERR_JWS_INVALID');
      if (alg.startsWith('ES')) {
        const n = ALGORITHMS[alg].order!;
        await rejects(
          v,
          `${h}.${p}.${Buffer.concat([n, n]).toString('base64url')}`,
          'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        );
        const der = forge(header, claims(), (d) =>
          cryptoSign(ALGORITHMS[alg].hash!, d, { key: pair.privateKey.keyObject, dsaEncoding: 'der' }),
        );
        await rejects(v, der, 'ERR_JWS_INVALID');
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
describe('A22 multi-issuer verifier: keys are bound to their issuer', () => {
  const A = 'https://a.example.com';
  const B = 'https://b.example.com';
  const multi = () =>
    createVerifier({
      algorithms: ['ES256'],
      issuer: [
        { issuer: A, keys: [ec256.publicKey] },
        { issuer: B, keys: [ec256b.publicKey] },
      ],
      audience: AUD,
      clock: clockAt(NOW),
    } as unknown as VerifierOptions);
  const signA = withKey('ES256', ec256.privateKey);
  test('each issuer verifies its own tokens', async () => {
    const v = multi();
    await v.verify(forge({ alg: 'ES256', kid: ec256.publicKey.kid }, claims({ iss: A }), signA));
    await v.verify(
      forge(
        { alg: 'ES256', kid: ec256b.publicKey.kid },
        claims({ iss: B }),
        withKey('ES256', ec256b.privateKey),
      ),
    );
  });
  test("issuer A's key never verifies a token claiming issuer B", async () => {
    const v = multi();
    await rejects(
      v,
      forge({ alg: 'ES256', kid: ec256.publicKey.kid }, claims({ iss: B }), signA),
      'ERR_JWKS_NO_MATCHING_KEY',
    );
    await rejects(
      v,
      forge({ alg: 'ES256' }, claims({ iss: B }), signA),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    );
  });
  test('an unknown, missing or wrongly typed issuer is refused before any key lookup', async () => {
    const v = multi();
    await rejects(
      v,
      forge({ alg: 'ES256' }, claims({ iss: 'https://c.example.com' }), signA),
      'ERR_JWT_CLAIM_INVALID',
      'iss',
    );
    await rejects(
      v,
      forge({ alg: 'ES256' }, claims({ iss: ['https://a.example.com'] }), signA),
      'ERR_JWT_CLAIM_INVALID',
      'iss',
    );
    const noIss = claims();
    delete noIss.iss;
    await rejects(v, forge({ alg: 'ES256' }, noIss, signA), 'ERR_JWT_CLAIM_INVALID', 'iss');
  });
  test('the routing parse is as strict as the verifier (duplicates, prototype keys, size, shape)', async () => {
    const v = multi();
    const inner = JSON.stringify(claims({ iss: A })).slice(1, -1);
    await rejects(v, forge({ alg: 'ES256' }, `{${inner},"iss":"${B}"}`, signA), 'ERR_JWS_INVALID');
    await rejects(v, forge({ alg: 'ES256' }, `{${inner},"\\u0069ss":"${B}"}`, signA), 'ERR_JWS_INVALID');
    await rejects(
      v,
      forge({ alg: 'ES256' }, `{${inner},"__proto__":{"iss":"${B}"}}`, signA),
      'ERR_JWS_INVALID',
    );
    await rejects(v, 'a'.repeat(10 * 1024 * 1024), 'ERR_TOKEN_TOO_LARGE');
    await rejects(v, rfcVector('rfc7516-A.1').compact!, 'ERR_JWS_INVALID');
    await rejects(v, `${b64u({ alg: 'none' })}.${b64u(claims({ iss: A }))}.`, 'ERR_JOSE_ALG_NOT_ALLOWED');
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('A12 a broken clock fails closed', () => {
  const sign = withKey('RS256', rsa.privateKey);
  const expired = forge(rsaHeader, claims({ iat: NOW - 100, exp: NOW - 50 }), sign);
  test('a clock returning NaN, undefined or a string never turns the time checks off', async () => {
    for (const bad of [() => NaN, () => undefined, () => 'now']) {
      const v = verifier({ clock: bad as unknown as () => number });
      await assert.rejects(
        v.verify(expired),
        (err: unknown) => {
          assert.ok(err instanceof TesseraError, `expected a TesseraError, got ${String(err)}`);
          return true;
        },
        `clock ${String(bad)} accepted an expired token`,
      );
    }
  });
  test('a clock that is not a function is a construction error', () => {
    for (const bad of [123, 'now', {}]) {
      throwsCode(() => verifier({ clock: bad as unknown as () => number }), 'ERR_INVALID_OPTIONS');
    }
  });
});
