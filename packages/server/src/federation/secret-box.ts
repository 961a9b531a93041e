/**
 * The upstream client secret at rest: AES-256-GCM under a key derived (HKDF, RFC 5869) from the server
 * pepper, itself derived from the KEK. A copy of the database alone yields no secret, and the provider id as
 * AAD makes a blob copied onto another provider's row fail instead of being sent to that provider.
 */
import { hkdfSync } from 'node:crypto';
import { aeadOpen, aeadSeal, decodeParts, encodeParts, type EncodedParts } from '../keys/aead.js';

interface SecretBlob extends EncodedParts {
  v: 1;
  alg: 'A256GCM';
}

const keys = new WeakMap<Buffer, Buffer>();
function boxKey(pepper: Buffer): Buffer {
  let key = keys.get(pepper);
  if (key === undefined) {
    key = Buffer.from(hkdfSync('sha256', pepper, Buffer.alloc(0), 'tessera idp client-secret v1', 32));
    keys.set(pepper, key);
  }
  return key;
}

/**
 * Encrypt a provider's client secret.
 *
 * @example const blob = sealClientSecret(ctx.pepper, 'corp', secret);
 */
export function sealClientSecret(pepper: Buffer, providerId: string, secret: string): string {
  const blob: SecretBlob = {
    v: 1,
    alg: 'A256GCM',
    ...encodeParts(aeadSeal(boxKey(pepper), secret, `idp:${providerId}`)),
  };
  return JSON.stringify(blob);
}

/**
 * Decrypt a blob made by sealClientSecret; throws (without the secret) when it fails authentication.
 *
 * @example const secret = openClientSecret(ctx.pepper, provider.id, provider.encryptedClientSecret);
 */
export function openClientSecret(pepper: Buffer, providerId: string, blobText: string): string {
  try {
    const blob = JSON.parse(blobText) as SecretBlob;
    if (blob.v !== 1 || blob.alg !== 'A256GCM') throw new Error('unknown format');
    return aeadOpen(boxKey(pepper), decodeParts(blob), `idp:${providerId}`).toString('utf8');
  } catch (err) {
    throw new Error(
      `the client secret of identity provider ${providerId} cannot be decrypted (another KEK?)`,
      {
        cause: err,
      },
    );
  }
}
