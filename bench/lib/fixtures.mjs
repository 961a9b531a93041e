// Keys and a realistic access-token payload shared by the benchmark sections.
import { constants, randomUUID } from 'node:crypto';
import { generateKeyPair, generateSecret } from '@tessera/jwt';

export const ISSUER = 'https://auth.tessera.example.com';
export const AUDIENCE = 'https://orders.api.tessera.example.com';

/** The algorithms section 1 compares. */
export const BENCH_ALGS = ['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA'];

/** A ~300-byte payload shaped like a real RFC 9068 access token. */
export function realisticPayload(now = Math.floor(Date.now() / 1000)) {
  return {
    iss: ISSUER,
    sub: 'user_8f14e45fceea167a',
    aud: AUDIENCE,
    exp: now + 3600,
    iat: now,
    nbf: now,
    jti: randomUUID(),
    tenant_id: 'acme-eu',
    scope: 'orders:read orders:write',
    client_id: 'orders-web',
  };
}

/** Tessera keys for `alg`: `{ signKey, verifyKey }` (the same secret for HMAC). */
export function keysFor(alg) {
  if (alg.startsWith('HS')) {
    const secret = generateSecret(alg);
    return { signKey: secret, verifyKey: secret };
  }
  const { privateKey, publicKey } = generateKeyPair(alg);
  return { signKey: privateKey, verifyKey: publicKey };
}

/** The node:crypto digest per algorithm (EdDSA: none, the curve fixes it). */
export const HASH = { HS256: 'sha256', RS256: 'sha256', PS256: 'sha256', ES256: 'sha256', EdDSA: null };

/** The key argument node:crypto gets in the raw ceiling: built once, as a tuned library would. */
export function rawKeyInput(alg, keyObject) {
  if (alg === 'ES256') return { key: keyObject, dsaEncoding: 'ieee-p1363' };
  if (alg === 'PS256') return { key: keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  if (alg === 'RS256') return { key: keyObject, padding: constants.RSA_PKCS1_PADDING };
  return keyObject;
}
