import { constants } from 'node:crypto';
import type { Alg } from './types.js';

/** Everything the verifier needs to know about one algorithm, fixed in a table (RFC 7518 §3; ATTACKS A21). */
export interface AlgSpec {
  readonly alg: Alg;
  readonly kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  /** Digest for node:crypto, or undefined for EdDSA (the curve fixes it). */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | undefined;
  /** EC curve or OKP subtype the key must have. */
  readonly crv?: 'P-256' | 'P-384' | 'P-521' | 'Ed25519';
  /** Exact signature length in bytes, when it does not depend on the key (RSA: the modulus length). */
  readonly sigBytes?: number;
  /** HMAC: the secret must be at least the hash output (RFC 7518 §3.2). */
  readonly minSecretBytes?: number;
  /** RSA padding mode for node:crypto. */
  readonly padding?: number;
  /** PSS salt length = hash length (RFC 7518 §3.5). */
  readonly saltLength?: number;
  /** ECDSA: the group order n, big-endian, for the 1 ≤ r, s < n check (A06). */
  readonly order?: Buffer;
}

const hex = (s: string) => Buffer.from(s, 'hex');
const P256_N = hex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const P384_N = hex(
  'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
);
const P521_N = hex(
  '01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
);

const { RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING } = constants;

export const ALGORITHMS: Readonly<Record<Alg, AlgSpec>> = {
  HS256: { alg: 'HS256', kty: 'oct', hash: 'sha256', sigBytes: 32, minSecretBytes: 32 },
  HS384: { alg: 'HS384', kty: 'oct', hash: 'sha384', sigBytes: 48, minSecretBytes: 48 },
  HS512: { alg: 'HS512', kty: 'oct', hash: 'sha512', sigBytes: 64, minSecretBytes: 64 },
  RS256: { alg: 'RS256', kty: 'RSA', hash: 'sha256', padding: RSA_PKCS1_PADDING },
  RS384: { alg: 'RS384', kty: 'RSA', hash: 'sha384', padding: RSA_PKCS1_PADDING },
  RS512: { alg: 'RS512', kty: 'RSA', hash: 'sha512', padding: RSA_PKCS1_PADDING },
  PS256: { alg: 'PS256', kty: 'RSA', hash: 'sha256', padding: RSA_PKCS1_PSS_PADDING, saltLength: 32 },
  PS384: { alg: 'PS384', kty: 'RSA', hash: 'sha384', padding: RSA_PKCS1_PSS_PADDING, saltLength: 48 },
  PS512: { alg: 'PS512', kty: 'RSA', hash: 'sha512', padding: RSA_PKCS1_PSS_PADDING, saltLength: 64 },
  ES256: { alg: 'ES256', kty: 'EC', hash: 'sha256', crv: 'P-256', sigBytes: 64, order: P256_N },
  ES384: { alg: 'ES384', kty: 'EC', hash: 'sha384', crv: 'P-384', sigBytes: 96, order: P384_N },
  ES512: { alg: 'ES512', kty: 'EC', hash: 'sha512', crv: 'P-521', sigBytes: 132, order: P521_N },
  EdDSA: { alg: 'EdDSA', kty: 'OKP', hash: undefined, crv: 'Ed25519', sigBytes: 64 },
};

/** All supported algorithm names. */
export const SUPPORTED_ALGORITHMS = Object.keys(ALGORITHMS) as Alg[];

/** Exact, case-sensitive membership (RFC 7515 §4.1.1; A01: `NONE`, `None` are never algorithms). */
export function isAlg(value: unknown): value is Alg {
  return typeof value === 'string' && Object.hasOwn(ALGORITHMS, value);
}

/** RFC 7518 §3.3/§3.5: RSA keys of at least 2048 bits; an upper bound keeps verification cheap (A14). */
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 16384;
