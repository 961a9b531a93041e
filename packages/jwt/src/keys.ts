import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
} from 'node:crypto';
import { ALGORITHMS, isAlg, RSA_MAX_BITS, RSA_MIN_BITS } from './alg.js';
import { base64urlLength, encodeBase64url, isCanonicalBase64url } from './base64url.js';
import { JWKInvalid } from './errors.js';
import type { Alg, JWK, TesseraKey } from './types.js';

/** Options for the import functions. */
export interface ImportKeyOptions {
  /** Bind the key to this one algorithm (RFC 8725 §3.1). Without it the key serves every algorithm its type allows. */
  alg?: Alg;
  /** Key id to attach (a JWK's own `kid` wins if present). */
  kid?: string;
}

const NODE_CURVES: Record<string, 'P-256' | 'P-384' | 'P-521'> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};
const COORD_BYTES: Record<string, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66, Ed25519: 32 };
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'r', 't'] as const;
const MAX_KID_LENGTH = 256;

const RSA_ALGS: Alg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const PSS_ALGS: Alg[] = ['PS256', 'PS384', 'PS512'];
const HS_ALGS: Alg[] = ['HS256', 'HS384', 'HS512'];

/**
 * Work out which algorithms a node:crypto key may serve from its type alone, enforcing the size and curve
 * rules: RSA ≥ 2048 bits and odd e ≥ 3 (RFC 7518 §3.3, A09), ES256 only with P-256 (A21), HMAC secrets at
 * least the hash length (RFC 7518 §3.2, A24). DSA, secp256k1, Ed448 and X25519 keys are refused.
 */
function algorithmsFor(keyObject: KeyObject): {
  kty: TesseraKey['kty'];
  crv?: string;
  bits?: number;
  algs: Alg[];
} {
  if (keyObject.type === 'secret') {
    const bytes = keyObject.symmetricKeySize ?? 0;
    const algs = HS_ALGS.filter((a) => bytes >= ALGORITHMS[a].minSecretBytes!);
    if (algs.length === 0)
      throw new JWKInvalid('HMAC secret is shorter than the hash output (RFC 7518 §3.2)');
    return { kty: 'oct', bits: bytes * 8, algs };
  }
  const type = keyObject.asymmetricKeyType;
  const details = keyObject.asymmetricKeyDetails ?? {};
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = details.modulusLength ?? 0;
    if (bits < RSA_MIN_BITS)
      throw new JWKInvalid(`RSA keys must be at least ${RSA_MIN_BITS} bits (RFC 7518 §3.3)`);
    if (bits > RSA_MAX_BITS) throw new JWKInvalid(`RSA keys above ${RSA_MAX_BITS} bits are refused`);
    const e = details.publicExponent ?? 0n;
    if (e < 3n || e % 2n === 0n) throw new JWKInvalid('RSA public exponent must be odd and at least 3');
    if (type === 'rsa') return { kty: 'RSA', bits, algs: RSA_ALGS };
    // An rsa-pss key may carry restrictions; it serves only the PS algorithm whose parameters match (A21).
    const algs = PSS_ALGS.filter((a) => {
      const spec = ALGORITHMS[a];
      const hash = details.hashAlgorithm;
      return (
        (hash === undefined || hash === spec.hash) &&
        (details.mgf1HashAlgorithm === undefined || details.mgf1HashAlgorithm === spec.hash) &&
        (details.saltLength === undefined || details.saltLength <= spec.saltLength!)
      );
    });
    if (algs.length === 0) throw new JWKInvalid('RSA-PSS key parameters match no PS algorithm');
    return { kty: 'RSA', bits, algs };
  }
  if (type === 'ec') {
    const crv = NODE_CURVES[details.namedCurve ?? ''];
    if (!crv) throw new JWKInvalid('unsupported EC curve');
    const alg = crv === 'P-256' ? 'ES256' : crv === 'P-384' ? 'ES384' : 'ES512';
    return { kty: 'EC', crv, algs: [alg] };
  }
  if (type === 'ed25519') return { kty: 'OKP', crv: 'Ed25519', algs: ['EdDSA'] };
  throw new JWKInvalid('unsupported key type');
}

function makeKey(keyObject: KeyObject, options: ImportKeyOptions, jwkAlg?: unknown): TesseraKey {
  const { kty, crv, bits, algs } = algorithmsFor(keyObject);
  let algorithms = algs;
  const bind = options.alg ?? jwkAlg;
  if (jwkAlg !== undefined && options.alg !== undefined && jwkAlg !== options.alg) {
    throw new JWKInvalid('the JWK "alg" contradicts the requested algorithm');
  }
  if (bind !== undefined) {
    // A21 / Wycheproof: a JWK alg that is not a JWA name (e.g. "ES521") or does not fit the key is refused.
    if (!isAlg(bind) || !algs.includes(bind))
      throw new JWKInvalid('key cannot be used with its declared algorithm');
    algorithms = [bind];
  }
  if (options.kid !== undefined) checkKid(options.kid);
  const key: TesseraKey = {
    type: keyObject.type as TesseraKey['type'],
    kty,
    ...(crv !== undefined && { crv }),
    ...(bits !== undefined && { bits }),
    ...(options.kid !== undefined && { kid: options.kid }),
    algorithms: Object.freeze([...algorithms]),
    keyObject,
  };
  return Object.freeze(key);
}

function checkKid(kid: unknown): asserts kid is string {
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw new JWKInvalid(`"kid" must be a non-empty string of at most ${MAX_KID_LENGTH} characters`);
  }
}

/**
 * Import a JWK (RSA, EC P-256/384/521, OKP Ed25519, oct). Refuses keys whose `use` is not `sig`, whose
 * `key_ops` allow neither signing nor verifying, whose `alg` is not a JWA name or does not fit the key,
 * whose members are not canonical base64url or EC coordinates not the full size (RFC 7518 §6.2.1.2).
 *
 * @example const key = importJWK({ kty: 'EC', crv: 'P-256', x: '…', y: '…', kid: 'k1' });
 */
export function importJWK(jwk: JWK, options: ImportKeyOptions = {}): TesseraKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw new JWKInvalid('JWK must be an object');
  const kty = jwk.kty;
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new JWKInvalid('JWK "use" is not "sig"');
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.every((op) => typeof op === 'string')) {
      throw new JWKInvalid('JWK "key_ops" must be an array of strings');
    }
    // RFC 7517 §4.3: a public key must allow "verify", a private key "sign"; anything else contradicts the use.
    const op = jwk.d !== undefined || jwk.k !== undefined ? 'sign' : 'verify';
    if (!jwk.key_ops.includes(op) && !(jwk.kty === 'oct' && jwk.key_ops.includes('verify'))) {
      throw new JWKInvalid(`JWK "key_ops" do not allow "${op}"`);
    }
  }
  if (jwk.kid !== undefined) checkKid(jwk.kid);
  const kid = (jwk.kid as string | undefined) ?? options.kid;
  for (const member of ['n', 'e', 'x', 'y', 'k', ...PRIVATE_MEMBERS] as const) {
    const v = jwk[member];
    if (v !== undefined && (typeof v !== 'string' || !isCanonicalBase64url(v))) {
      throw new JWKInvalid(`JWK member "${member}" is not canonical base64url`);
    }
  }
  let keyObject: KeyObject;
  try {
    if (kty === 'oct') {
      if (typeof jwk.k !== 'string' || jwk.k.length === 0) throw new JWKInvalid('oct JWK has no "k"');
      keyObject = createSecretKey(Buffer.from(jwk.k, 'base64url'));
    } else if (kty === 'EC' || kty === 'OKP') {
      const size = COORD_BYTES[String(jwk.crv)];
      if (size === undefined) throw new JWKInvalid('unsupported curve');
      if (kty === 'OKP' && jwk.crv !== 'Ed25519') throw new JWKInvalid('unsupported OKP curve');
      if (kty === 'EC' && jwk.crv === 'Ed25519') throw new JWKInvalid('unsupported curve');
      const coordLength = base64urlLength(size);
      if (jwk.x?.length !== coordLength || (kty === 'EC' && jwk.y?.length !== coordLength)) {
        throw new JWKInvalid('EC/OKP coordinates must be the full size of the curve');
      }
      if (jwk.d !== undefined && jwk.d.length !== coordLength)
        throw new JWKInvalid('private scalar has the wrong size');
      // Node validates that the point is on the curve (A08, invalid-curve keys).
      keyObject =
        jwk.d !== undefined
          ? createPrivateKey({ key: jwk, format: 'jwk' })
          : createPublicKey({ key: jwk, format: 'jwk' });
    } else if (kty === 'RSA') {
      if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string')
        throw new JWKInvalid('RSA JWK needs "n" and "e"');
      if (jwk.oth !== undefined) throw new JWKInvalid('multi-prime RSA keys are not supported');
      keyObject =
        jwk.d !== undefined
          ? createPrivateKey({ key: jwk, format: 'jwk' })
          : createPublicKey({ key: jwk, format: 'jwk' });
    } else {
      throw new JWKInvalid('unsupported "kty"');
    }
  } catch (err) {
    if (err instanceof JWKInvalid) throw err;
    throw new JWKInvalid('JWK could not be imported', { cause: err });
  }
  return makeKey(keyObject, { ...options, ...(kid !== undefined && { kid }) }, jwk.alg);
}

/**
 * Wrap a node:crypto KeyObject. Strings and Buffers are never accepted as asymmetric keys, so a public key's
 * text can never become an HMAC secret (A02, the RS256→HS256 confusion).
 *
 * @example importKeyObject(crypto.createPublicKey(pem), { alg: 'RS256' })
 */
export function importKeyObject(keyObject: KeyObject, options: ImportKeyOptions = {}): TesseraKey {
  if (!(keyObject instanceof KeyObject)) throw new JWKInvalid('expected a KeyObject');
  return makeKey(keyObject, options);
}

/** Import an SPKI PEM public key for one algorithm. @example importSPKI(pem, 'ES256') */
export function importSPKI(pem: string, alg: Alg, options: Omit<ImportKeyOptions, 'alg'> = {}): TesseraKey {
  let keyObject: KeyObject;
  try {
    if (typeof pem !== 'string' || !pem.includes('-----BEGIN PUBLIC KEY-----'))
      throw new Error('not SPKI PEM');
    keyObject = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new JWKInvalid('SPKI PEM could not be imported', { cause: err });
  }
  return makeKey(keyObject, { ...options, alg });
}

/** Import a PKCS#8 PEM private key for one algorithm. @example importPKCS8(pem, 'ES256') */
export function importPKCS8(pem: string, alg: Alg, options: Omit<ImportKeyOptions, 'alg'> = {}): TesseraKey {
  let keyObject: KeyObject;
  try {
    if (typeof pem !== 'string' || !pem.includes('-----BEGIN PRIVATE KEY-----'))
      throw new Error('not PKCS#8 PEM');
    keyObject = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new JWKInvalid('PKCS#8 PEM could not be imported', { cause: err });
  }
  return makeKey(keyObject, { ...options, alg });
}

/**
 * The explicit way to make an HMAC key: bytes, never text that might be someone's public key (A02).
 * Shorter than the hash output is refused (A24, A28).
 *
 * @example importHMACSecret(crypto.randomBytes(32), 'HS256')
 */
export function importHMACSecret(
  secret: Uint8Array,
  alg: 'HS256' | 'HS384' | 'HS512',
  options: Omit<ImportKeyOptions, 'alg'> = {},
): TesseraKey {
  if (!(secret instanceof Uint8Array)) throw new JWKInvalid('HMAC secret must be bytes');
  return makeKey(createSecretKey(Buffer.from(secret)), { ...options, alg });
}

/** Options for key generation. */
export interface GenerateKeyOptions {
  /** RSA modulus length: 2048 (default), 3072 or 4096. */
  modulusLength?: number;
}

/** A generated key pair, both halves carrying the RFC 7638 thumbprint as `kid`. */
export interface GeneratedKeyPair {
  privateKey: TesseraKey;
  publicKey: TesseraKey;
}

/**
 * Generate a key pair bound to `alg`, with the RFC 7638 thumbprint as `kid`.
 *
 * @example const { privateKey, publicKey } = generateKeyPair('ES256');
 */
export function generateKeyPair(alg: Alg, options: GenerateKeyOptions = {}): GeneratedKeyPair {
  const spec = ALGORITHMS[alg];
  if (!spec || spec.kty === 'oct') throw new JWKInvalid('generateKeyPair needs an asymmetric algorithm');
  // Generate as DER and re-import: on Node 20, exporting a KeyObject straight out of generateKeyPairSync can
  // deadlock when GC finalises the generation job during the export (seen under load with RSA keys).
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'der' } as const;
  let der: { publicKey: Buffer; privateKey: Buffer };
  if (spec.kty === 'RSA') {
    const modulusLength = options.modulusLength ?? 2048;
    der = generateKeyPairSync('rsa', {
      modulusLength,
      publicExponent: 0x10001,
      publicKeyEncoding,
      privateKeyEncoding,
    });
  } else if (spec.kty === 'EC') {
    const namedCurve = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' }[
      spec.crv as 'P-256'
    ];
    der = generateKeyPairSync('ec', { namedCurve, publicKeyEncoding, privateKeyEncoding });
  } else {
    der = generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding });
  }
  const pair = {
    publicKey: createPublicKey({ key: der.publicKey, format: 'der', type: 'spki' }),
    privateKey: createPrivateKey({ key: der.privateKey, format: 'der', type: 'pkcs8' }),
  };
  const kid = calculateJWKThumbprint(pair.publicKey.export({ format: 'jwk' }) as JWK);
  return {
    privateKey: makeKey(pair.privateKey, { alg, kid }),
    publicKey: makeKey(pair.publicKey, { alg, kid }),
  };
}

/** Generate a random HMAC key of the hash length for `alg`. @example generateSecret('HS256') */
export function generateSecret(
  alg: 'HS256' | 'HS384' | 'HS512',
  options: Omit<ImportKeyOptions, 'alg'> = {},
): TesseraKey {
  return importHMACSecret(randomBytes(ALGORITHMS[alg].minSecretBytes!), alg, options);
}

/** Options for exportJWK. */
export interface ExportJWKOptions {
  /** Include private members (d, p, q, …, or k). Default false: only the public key is exported. */
  includePrivate?: boolean;
}

/**
 * Export as a JWK with `kid`, `use: "sig"` and, when the key is bound to one algorithm, `alg`.
 * Private members are left out unless asked for; secret keys need includePrivate.
 *
 * @example exportJWK(key) // { kty: 'EC', crv: 'P-256', x, y, kid, alg: 'ES256', use: 'sig' }
 */
export function exportJWK(key: TesseraKey, options: ExportJWKOptions = {}): JWK {
  let source = key.keyObject;
  if (key.type === 'secret' && !options.includePrivate)
    throw new JWKInvalid('secret keys export only with includePrivate');
  if (key.type === 'private' && !options.includePrivate) source = createPublicKey(source);
  const jwk = source.export({ format: 'jwk' }) as JWK;
  const out: JWK = { ...jwk };
  if (key.kid !== undefined) out.kid = key.kid;
  if (key.algorithms.length === 1) out.alg = key.algorithms[0];
  out.use = 'sig';
  return out;
}

/** Export a key's public half as SPKI PEM. */
export function exportSPKI(key: TesseraKey): string {
  if (key.type === 'secret') throw new JWKInvalid('secret keys have no public half');
  const pub = key.type === 'private' ? createPublicKey(key.keyObject) : key.keyObject;
  return pub.export({ format: 'pem', type: 'spki' }).toString();
}

/** Export a private key as PKCS#8 PEM. */
export function exportPKCS8(key: TesseraKey): string {
  if (key.type !== 'private') throw new JWKInvalid('only private keys export as PKCS#8');
  return key.keyObject.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** The public half of a private key (the same binding and kid). Public and secret keys come back as they are. */
export function toPublicKey(key: TesseraKey): TesseraKey {
  if (key.type !== 'private') return key;
  return Object.freeze({ ...key, type: 'public', keyObject: createPublicKey(key.keyObject) });
}

const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  oct: ['k', 'kty'],
};

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url): the required members in lexicographic order, no whitespace.
 *
 * @example calculateJWKThumbprint({ kty: 'RSA', n: '0vx7…', e: 'AQAB' }) // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 */
export function calculateJWKThumbprint(jwk: JWK): string {
  const members = THUMBPRINT_MEMBERS[jwk.kty];
  if (!members) throw new JWKInvalid('unsupported "kty" for a thumbprint');
  const parts: string[] = [];
  for (const m of members) {
    const v = jwk[m];
    if (typeof v !== 'string') throw new JWKInvalid(`JWK is missing "${m}"`);
    parts.push(`${JSON.stringify(m)}:${JSON.stringify(v)}`);
  }
  return encodeBase64url(
    createHash('sha256')
      .update(`{${parts.join(',')}}`)
      .digest(),
  );
}
