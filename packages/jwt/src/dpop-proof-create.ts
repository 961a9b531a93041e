/**
 * The client side of DPoP (RFC 9449 §4.2): one proof per request, for services calling services, token
 * requests, tests and the simulation.
 */
import { createPublicKey, KeyObject, randomBytes, type JsonWebKey } from 'node:crypto';
import { ALGORITHMS, isAlg } from './alg.js';
import { encodeBase64url } from './base64url.js';
import { accessTokenHash, PRIVATE_MEMBERS, stripQueryAndFragment } from './dpop-proof.js';
import { InvalidOptions, TesseraError } from './errors.js';
import { signBytes } from './jws-crypto.js';
import { importKeyObject } from './keys.js';
import type { TesseraKey } from './types.js';

/** Options for createDpopProof. */
export interface CreateDpopProofOptions {
  /** The client's private key (EC P-256, Ed25519 or RSA ≥ 2048 bits). */
  privateKey: KeyObject;
  /** Its public JWK; derived from the private key when absent. */
  publicJwk?: JsonWebKey;
  /** Default: ES256 for P-256, EdDSA for Ed25519, PS256 for RSA. */
  alg?: string;
  htm: string;
  /** The request URL; query and fragment are dropped. */
  htu: string;
  /** The access token the request carries: sets `ath`. */
  accessToken?: string;
  nonce?: string;
  /** Default: 16 random bytes, base64url. */
  jti?: string;
  /** Seconds since the epoch. Default now. */
  iat?: number;
}

interface ProofSigner {
  readonly key: TesseraKey;
  readonly header: Map<string, string>;
}

// Per private key: the imported key and the encoded header per (alg, jwk), so services calling services pay
// only the signature for each proof.
const signers = new WeakMap<KeyObject, Map<string, ProofSigner>>();

function defaultAlg(privateKey: KeyObject): string {
  switch (privateKey.asymmetricKeyType) {
    case 'ec':
      return 'ES256';
    case 'ed25519':
      return 'EdDSA';
    case 'rsa':
    case 'rsa-pss':
      return 'PS256';
    default:
      throw new InvalidOptions('DPoP needs an EC P-256, Ed25519 or RSA private key');
  }
}

/**
 * Make a DPoP proof (RFC 9449 §4.2) for one request: for services calling services, tests and the
 * simulation. A fresh `jti` and `iat` every call unless given.
 *
 * @example
 * const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
 * const dpop = createDpopProof({ privateKey, htm: 'GET', htu: 'https://api.example.com/orders', accessToken });
 * fetch(url, { headers: { authorization: `DPoP ${accessToken}`, dpop } });
 */
export function createDpopProof(options: CreateDpopProofOptions): string {
  const { privateKey } = options;
  if (!(privateKey instanceof KeyObject) || privateKey.type !== 'private')
    throw new InvalidOptions('"privateKey" must be a private KeyObject');
  const alg = options.alg ?? defaultAlg(privateKey);
  if (!isAlg(alg) || ALGORITHMS[alg].kty === 'oct')
    throw new InvalidOptions('DPoP proofs are signed with an asymmetric algorithm');
  let perKey = signers.get(privateKey);
  if (perKey === undefined) signers.set(privateKey, (perKey = new Map()));
  let signer = perKey.get(alg);
  if (signer === undefined) {
    let key: TesseraKey;
    try {
      key = importKeyObject(privateKey, { alg });
    } catch (err) {
      if (err instanceof TesseraError)
        throw new InvalidOptions('the private key cannot sign with this "alg"', { cause: err });
      throw err;
    }
    perKey.set(alg, (signer = { key, header: new Map() }));
  }
  const publicJwk = options.publicJwk ?? publicJwkOf(privateKey);
  for (const member of PRIVATE_MEMBERS)
    if (Object.hasOwn(publicJwk, member))
      throw new InvalidOptions('"publicJwk" contains private key members');
  const jwkText = JSON.stringify(publicJwk);
  let header = signer.header.get(jwkText);
  if (header === undefined) {
    header = encodeBase64url(`{"typ":"dpop+jwt","alg":${JSON.stringify(alg)},"jwk":${jwkText}}`);
    if (signer.header.size >= 8) signer.header.clear();
    signer.header.set(jwkText, header);
  }
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomBytes(16).toString('base64url'),
    htm: options.htm,
    htu: stripQueryAndFragment(options.htu),
    iat: options.iat ?? Math.floor(Date.now() / 1000),
  };
  if (options.accessToken !== undefined) claims.ath = accessTokenHash(options.accessToken);
  if (options.nonce !== undefined) claims.nonce = options.nonce;
  const input = `${header}.${encodeBase64url(JSON.stringify(claims))}`;
  const signature = signBytes(ALGORITHMS[alg], signer.key, Buffer.from(input, 'latin1'));
  return `${input}.${encodeBase64url(signature)}`;
}

const publicJwks = new WeakMap<KeyObject, JsonWebKey>();

function publicJwkOf(privateKey: KeyObject): JsonWebKey {
  let jwk = publicJwks.get(privateKey);
  if (jwk === undefined) {
    const full = createPublicKey(privateKey).export({ format: 'jwk' }) as JsonWebKey;
    // Only the members that name the key (RFC 7638 §3.2), so the thumbprint inputs are all there is.
    jwk =
      full.kty === 'RSA'
        ? { kty: 'RSA', e: full.e!, n: full.n! }
        : full.kty === 'EC'
          ? { kty: 'EC', crv: full.crv!, x: full.x!, y: full.y! }
          : { kty: full.kty!, crv: full.crv!, x: full.x! };
    publicJwks.set(privateKey, jwk);
  }
  return jwk;
}
