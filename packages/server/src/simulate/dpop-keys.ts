/**
 * The users' DPoP keys (RFC 9449): one ES256 key pair per simulated user, generated in the main thread;
 * the issuer binds each user's token to its key's thumbprint (`cnf.jkt`), and the private JWK travels to
 * the load generator over IPC, which signs a fresh proof for every request it sends. Private keys never
 * leave the simulation's processes and die with it.
 */
import { createPrivateKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJWKThumbprint, createDpopProof, type JWK } from '@tessera/jwt';

/** One user's proof key: the private JWK (sent to the load generator) and its RFC 7638 thumbprint. */
export interface HolderKey {
  privateJwk: JsonWebKey;
  jkt: string;
}

/** A DPoP-bound credential as the load generator receives it. */
export interface DpopCredential {
  token: string;
  privateJwk: JsonWebKey;
}

/**
 * Generate `count` P-256 key pairs.
 *
 * @example
 * const [key] = generateHolderKeys(1); // bind a token with cnf: { jkt: key.jkt }
 */
export function generateHolderKeys(count: number): HolderKey[] {
  return Array.from({ length: count }, () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateJwk = privateKey.export({ format: 'jwk' });
    const { kty, crv, x, y } = privateJwk;
    return { privateJwk, jkt: calculateJWKThumbprint({ kty, crv, x, y } as JWK) };
  });
}

/**
 * A proof signer for one private JWK: the key is imported once, then each call signs a fresh proof (new
 * `jti`, current `iat`) for the request, with `ath` for the token it carries.
 *
 * @example
 * const sign = proofSigner(credential.privateJwk);
 * headers = { authorization: `DPoP ${credential.token}`, dpop: sign('GET', url, credential.token) };
 */
export function proofSigner(
  privateJwk: JsonWebKey,
): (htm: string, htu: string, accessToken: string) => string {
  const privateKey: KeyObject = createPrivateKey({ key: privateJwk, format: 'jwk' });
  const { kty, crv, x, y } = privateJwk;
  const publicJwk = { kty, crv, x, y } as JsonWebKey;
  return (htm, htu, accessToken) => createDpopProof({ privateKey, publicJwk, htm, htu, accessToken });
}
