/**
 * Project Wycheproof vectors (test/vectors/wycheproof, README there): every valid vector verifies, every invalid
 * one is rejected, `acceptable` outcomes are recorded. JOSE-level files go through createVerifier; primitive files
 * go through the same key import functions and the internal verifyBytes with the verifier's exact-length rule.
 * One summary line per file and a total are printed; any mismatch fails the test and lists the tcIds.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  ALGORITHMS,
  SUPPORTED_ALGORITHMS,
  TesseraError,
  createVerifier,
  importHMACSecret,
  importJWK,
  importSPKI,
  type Alg,
  type CoreVerifier,
  type JWK,
  type JWKS,
  type TesseraKey,
} from '../src/index.js';
import { signatureLength, verifyBytes } from '../src/jws-crypto.js';
import {
  hex,
  jwsOutcome,
  loadWycheproof,
  Tally,
  type WycheproofGroup,
  type WycheproofTest,
} from './helpers/vectors.js';

const tallies: Tally[] = [];

after(() => {
  const sum = (f: (t: Tally) => number) => tallies.reduce((n, t) => n + f(t), 0);
  for (const t of tallies) console.log(t.summary());
  const divergences = sum((t) => t.divergences.length);
  const policy = sum((t) => t.policyRejected);
  console.log(
    `wycheproof: ${sum((t) => t.total)} vectors, ${sum((t) => t.validAccepted)} valid accepted, ` +
      `${sum((t) => t.invalidRejected + t.policyRejected)} invalid rejected (${policy} of them valid primitives refused by JOSE policy), ` +
      `${sum((t) => t.acceptable)} acceptable, ${divergences} known divergence(s), ${sum((t) => t.mismatches.length)} mismatches`,
  );
});

function finish(tally: Tally): void {
  tallies.push(tally);
  assert.deepEqual(
    tally.mismatches,
    [],
    `${tally.file}: mismatching tcIds ${tally.mismatches.map((m) => m.tcId).join(', ')}`,
  );
}

/** The verifier's own rule before any crypto: exactly signatureLength() bytes; then the primitive. */
function primitiveVerify(alg: Alg, key: TesseraKey, msg: Buffer, sig: Buffer): boolean {
  const spec = ALGORITHMS[alg];
  if (!key.algorithms.includes(alg)) return false;
  if (sig.length !== signatureLength(spec, key)) return false;
  return verifyBytes(spec, key, msg, sig);
}

const FIXED_CLOCK = () => Date.UTC(2026, 0, 1);

// A JWS-level verifier: every algorithm allowed (the key binding must still refuse what does not fit) and the
// JWT claim rules out of the way. Never a weaker signature or alg check.
function jwsVerifier(keys: JWKS | JWK[]): CoreVerifier {
  return createVerifier({
    algorithms: SUPPORTED_ALGORITHMS,
    issuer: null,
    audience: null,
    allowMissingExp: true,
    clock: FIXED_CLOCK,
    keys,
  });
}

async function runJoseFile(file: string, asSet: boolean): Promise<Tally> {
  const data = loadWycheproof(file);
  const tally = new Tally(file);
  for (const group of data.testGroups) {
    // json_web_crypto_test.json mixes JWE groups in; those are not JWS vectors (counted as skipped by the caller).
    if (group.tests.every((t) => typeof t.jws !== 'string')) continue;
    const keyMaterial = (group.public ?? group.private) as JWK | JWKS;
    const isSet = asSet || Array.isArray((keyMaterial as JWKS).keys);
    let verifier: CoreVerifier | undefined;
    let constructionError = '';
    try {
      verifier = jwsVerifier(isSet ? (keyMaterial as JWKS) : [keyMaterial as JWK]);
    } catch (err) {
      assert.ok(
        err instanceof TesseraError,
        `${file} group ${String(group.comment)}: non-Tessera error ${String(err)}`,
      );
      constructionError = err.code;
    }
    for (const t of group.tests) {
      if (verifier === undefined) {
        tally.record(t, false, `at key import: ${constructionError}`);
        continue;
      }
      const outcome = await jwsOutcome(verifier, t.jws as string);
      tally.record(t, outcome.accepted, outcome.accepted ? '' : outcome.code);
    }
  }
  return tally;
}

describe('wycheproof JOSE files', () => {
  test('json_web_signature_test.json', async () => {
    const tally = await runJoseFile('json_web_signature_test.json', false);
    assert.equal(tally.total, 401);
    finish(tally);
  });

  test('json_web_key_test.json (JWK Sets)', async () => {
    const tally = await runJoseFile('json_web_key_test.json', true);
    assert.equal(tally.total, 26);
    // tcId 7 (ROCA) is the one documented divergence: we accept a token under a ROCA-weak key because no ROCA
    // fingerprint check is implemented. Counted separately, never silently passed.
    assert.deepEqual(tally.divergences, [7]);
    finish(tally);
  });

  test('json_web_crypto_test.json (JWS groups; JWE groups are out of scope)', async () => {
    const tally = await runJoseFile('json_web_crypto_test.json', false);
    assert.ok(tally.total >= 40, `only ${tally.total} JWS vectors found`);
    // tcId 46 is the same ROCA key as json_web_key_test tcId 7: the same documented divergence.
    assert.deepEqual(tally.divergences, [46]);
    finish(tally);
  });
});

function pad(hexValue: string, bytes: number): Buffer {
  const b = hex(hexValue);
  if (b.length === bytes) return b;
  if (b.length > bytes) return b.subarray(b.length - bytes);
  return Buffer.concat([Buffer.alloc(bytes - b.length), b]);
}

const EC_FILES: { file: string; alg: Alg; crv: string; size: number }[] = [
  { file: 'ecdsa_secp256r1_sha256_p1363_test.json', alg: 'ES256', crv: 'P-256', size: 32 },
  { file: 'ecdsa_secp384r1_sha384_p1363_test.json', alg: 'ES384', crv: 'P-384', size: 48 },
  { file: 'ecdsa_secp521r1_sha512_p1363_test.json', alg: 'ES512', crv: 'P-521', size: 66 },
];

/** The group's key: publicKeyJwk, else a JWK built from wx/wy, else the SPKI PEM. */
function ecKey(group: WycheproofGroup, alg: Alg, crv: string, size: number): TesseraKey {
  if (group.publicKeyJwk !== undefined) return importJWK(group.publicKeyJwk as JWK, { alg });
  const pk = group.publicKey as { wx: string; wy: string };
  try {
    return importJWK(
      {
        kty: 'EC',
        crv,
        x: pad(pk.wx, size).toString('base64url'),
        y: pad(pk.wy, size).toString('base64url'),
      },
      { alg },
    );
  } catch {
    return importSPKI(group.publicKeyPem as string, alg);
  }
}

function runPrimitive(
  file: string,
  alg: Alg,
  importKey: (g: WycheproofGroup) => TesseraKey,
): { tally: Tally } {
  const data = loadWycheproof(file);
  const tally = new Tally(file);
  for (const group of data.testGroups) {
    let key: TesseraKey | undefined;
    let importError = '';
    try {
      key = importKey(group);
    } catch (err) {
      assert.ok(err instanceof TesseraError, `${file}: key import threw a non-Tessera error ${String(err)}`);
      importError = err.code;
    }
    for (const t of group.tests) {
      if (key === undefined) {
        tally.record(t, false, `at key import: ${importError}`);
        continue;
      }
      tally.record(t, primitiveVerify(alg, key, hex(t.msg as string), hex(t.sig as string)));
    }
  }
  return { tally };
}

describe('wycheproof primitive files (through key import + verifyBytes)', () => {
  for (const { file, alg, crv, size } of EC_FILES) {
    test(file, () => {
      const { tally } = runPrimitive(file, alg, (g) => ecKey(g, alg, crv, size));
      finish(tally);
    });
  }

  test('ed25519_test.json', () => {
    const { tally } = runPrimitive('ed25519_test.json', 'EdDSA', (g) =>
      importJWK(g.publicKeyJwk as JWK, { alg: 'EdDSA' }),
    );
    finish(tally);
  });

  const RSA_FILES: [string, Alg][] = [
    ['rsa_signature_2048_sha256_test.json', 'RS256'],
    ['rsa_signature_3072_sha256_test.json', 'RS256'],
    ['rsa_signature_2048_sha384_test.json', 'RS384'],
    ['rsa_signature_2048_sha512_test.json', 'RS512'],
    ['rsa_signature_4096_sha512_test.json', 'RS512'],
  ];
  for (const [file, alg] of RSA_FILES) {
    test(file, () => {
      const { tally } = runPrimitive(file, alg, (g) => importJWK(g.keyJwk as JWK, { alg }));
      finish(tally);
    });
  }

  const PSS_FILES: [string, Alg][] = [
    ['rsa_pss_2048_sha256_mgf1_32_test.json', 'PS256'],
    ['rsa_pss_2048_sha384_mgf1_48_test.json', 'PS384'],
    ['rsa_pss_4096_sha512_mgf1_64_test.json', 'PS512'],
  ];
  for (const [file, alg] of PSS_FILES) {
    test(file, () => {
      const { tally } = runPrimitive(file, alg, (g) => {
        assert.equal(g.sLen, ALGORITHMS[alg].saltLength, 'PSS salt length must be the hash length');
        return importJWK(g.publicKeyJwk as JWK, { alg });
      });
      finish(tally);
    });
  }

  const HMAC_FILES: [string, 'HS256' | 'HS384' | 'HS512', number][] = [
    ['hmac_sha256_test.json', 'HS256', 256],
    ['hmac_sha384_test.json', 'HS384', 384],
    ['hmac_sha512_test.json', 'HS512', 512],
  ];
  for (const [file, alg, bits] of HMAC_FILES) {
    test(`${file} (full-length tags only; short keys refused at import)`, () => {
      const data = loadWycheproof(file);
      const tally = new Tally(file);
      let skipped = 0;
      for (const group of data.testGroups) {
        // Truncated tags are not JWS MACs (RFC 7518 §3.2): those groups do not apply to JOSE.
        if (group.tagSize !== bits) {
          skipped += group.tests.length;
          continue;
        }
        // RFC 7518 §3.2: a key shorter than the hash output must be refused; its valid MACs count as rejected.
        const policy = (group.keySize as number) < bits;
        for (const t of group.tests) {
          let key: TesseraKey | undefined;
          try {
            key = importHMACSecret(hex(t.key as string), alg);
          } catch (err) {
            assert.ok(
              err instanceof TesseraError && err.code === 'ERR_JWK_INVALID',
              `${file} tcId ${t.tcId}: ${String(err)}`,
            );
          }
          assert.equal(
            key === undefined,
            policy,
            `${file} tcId ${t.tcId}: short-key refusal must match keySize`,
          );
          const accepted =
            key !== undefined && primitiveVerify(alg, key, hex(t.msg as string), hex(t.tag as string));
          tally.record(t, accepted, key === undefined ? 'at key import: ERR_JWK_INVALID' : '', policy);
        }
      }
      assert.ok(skipped > 0);
      console.log(`${file}: ${skipped} vectors in truncated-tag groups skipped (not JWS MACs)`);
      finish(tally);
    });
  }
});

describe('wycheproof files for curves Tessera does not implement', () => {
  test('ES256K (secp256k1) and Ed448 keys are refused at import, so none of their vectors can verify', () => {
    let groups = 0;
    for (const file of ['ecdsa_secp256k1_sha256_p1363_test.json', 'ed448_test.json']) {
      for (const group of loadWycheproof(file).testGroups) {
        groups++;
        assert.throws(() => importSPKI(group.publicKeyPem as string, 'ES256'), { code: 'ERR_JWK_INVALID' });
        assert.throws(() => importSPKI(group.publicKeyPem as string, 'EdDSA'), { code: 'ERR_JWK_INVALID' });
        if (group.publicKeyJwk !== undefined) {
          assert.throws(() => importJWK(group.publicKeyJwk as JWK), { code: 'ERR_JWK_INVALID' });
        }
      }
    }
    assert.ok(groups > 10);
  });
});

describe('wycheproof ecdsa_secp256r1_sha256_test.json (DER): the JWS path rejects every DER signature', () => {
  test('DER signatures never verify as ES256 signatures, primitive or JWS', async () => {
    const file = 'ecdsa_secp256r1_sha256_test.json';
    const data = loadWycheproof(file);
    const tally = new Tally(file);
    const header = Buffer.from('{"alg":"ES256"}').toString('base64url');
    for (const group of data.testGroups) {
      const key = ecKey(group, 'ES256', 'P-256', 32);
      const verifier = createVerifier({
        algorithms: ['ES256'],
        issuer: null,
        audience: null,
        allowMissingExp: true,
        clock: FIXED_CLOCK,
        keys: [key],
      });
      for (const t of group.tests) {
        const msg = hex(t.msg as string);
        const der = hex(t.sig as string);
        // For JOSE every one of these is invalid, whatever its DER label (RFC 7518 §3.4: raw R‖S only).
        const asJose: WycheproofTest = { ...t, result: 'invalid' };
        const primitive = primitiveVerify('ES256', key, msg, der);
        const token = `${header}.${msg.toString('base64url')}.${der.toString('base64url')}`;
        const outcome = await jwsOutcome(verifier, token);
        tally.record(asJose, primitive || outcome.accepted, outcome.accepted ? '' : outcome.code);
      }
    }
    assert.equal(tally.total, 484);
    finish(tally);
  });
});
