/**
 * DPoP proofs for tests, made with jose (the reference implementation), so attacks can shape every part of
 * a proof: header, claims, algorithm, key. The server's verification is the SDK's; nothing here parses.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as jose from 'jose';

type KeyPair = Awaited<ReturnType<typeof jose.generateKeyPair>>;

export interface ProofKey {
  alg: string;
  privateKey: KeyPair['privateKey'];
  publicKey: KeyPair['publicKey'];
  /** The public JWK as it goes in the proof header. */
  jwk: jose.JWK;
  /** RFC 7638 SHA-256 thumbprint. */
  jkt: string;
}

/** A fresh key pair for proofs (ES256 by default). */
export async function makeProofKey(alg = 'ES256'): Promise<ProofKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  return { alg, privateKey, publicKey, jwk, jkt: await jose.calculateJwkThumbprint(jwk) };
}

export interface ProofOptions {
  htm?: string;
  htu: string;
  /** Seconds since the epoch; default now. */
  iat?: number;
  jti?: string;
  nonce?: string;
  /** The access token whose hash becomes `ath`. */
  accessToken?: string;
  /** Extra or replacing protected header members. */
  header?: Record<string, unknown>;
  /** Extra or replacing claims. */
  claims?: Record<string, unknown>;
}

/** The `ath` of an access token (RFC 9449 §4.2). */
export const ath = (token: string): string => createHash('sha256').update(token).digest('base64url');

/** A proof signed by `key` (typ dpop+jwt, its public jwk in the header), unless options say otherwise. */
export async function makeProof(key: ProofKey, options: ProofOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: options.htm ?? 'POST',
    htu: options.htu,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    jti: options.jti ?? randomUUID(),
    ...(options.nonce !== undefined && { nonce: options.nonce }),
    ...(options.accessToken !== undefined && { ath: ath(options.accessToken) }),
    ...options.claims,
  };
  return new jose.SignJWT(claims)
    .setProtectedHeader({
      typ: 'dpop+jwt',
      alg: key.alg,
      jwk: key.jwk,
      ...options.header,
    } as jose.JWTHeaderParameters)
    .sign(key.privateKey);
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned proof (`alg: none`, RFC 7515 §A.5 shape): header and claims as given, empty signature. */
export function unsignedProof(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  return `${b64(header)}.${b64(claims)}.`;
}

/** A proof "signed" with HMAC under a secret (`alg: HS256`): a symmetric proof proves nothing about a key. */
export async function hmacProof(
  jwk: jose.JWK,
  claims: Record<string, unknown>,
  secret = new Uint8Array(32).fill(7),
): Promise<string> {
  return new jose.SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk } as jose.JWTHeaderParameters)
    .sign(secret);
}

/** The standard claims of a fresh proof, for hand-made proofs. */
export function proofClaims(htu: string, htm = 'POST'): Record<string, unknown> {
  return { htm, htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID() };
}
