/**
 * The upstream client secret at rest: AES-256-GCM under a key derived (HKDF, RFC 5869) from the server
 * pepper, itself derived from the KEK. A copy of the database alone yields no secret, and the provider id as
 * AAD makes a blob copied onto another provider's row fail instead of being sent to that provider.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

interface SecretBlob {
  v: 1;
  alg: 'A256GCM';
  iv: string;
  tag: string;
  ct: string;
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
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', boxKey(pepper), iv);
  cipher.setAAD(Buffer.from(`idp:${providerId}`, 'utf8'));
  const ct = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  const blob: SecretBlob = {
    v: 1,
    alg: 'A256GCM',
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    ct: ct.toString('base64url'),
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
    const decipher = createDecipheriv('aes-256-gcm', boxKey(pepper), Buffer.from(blob.iv, 'base64url'));
    decipher.setAAD(Buffer.from(`idp:${providerId}`, 'utf8'));
    decipher.setAuthTag(Buffer.from(blob.tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(blob.ct, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch (err) {
    throw new Error(
      `the client secret of identity provider ${providerId} cannot be decrypted (another KEK?)`,
      {
        cause: err,
      },
    );
  }
}
