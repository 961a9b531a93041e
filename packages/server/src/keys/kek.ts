/**
 * The key-encryption key (KEK): private signing keys are stored only as AES-256-GCM blobs under it, so a
 * copy of the database alone yields no signing key. The KEK comes from `TESSERA_KEK` (base64url, 32 bytes)
 * or a file in the data dir that a zero-config first run creates with mode 0600.
 */
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { aeadOpen, aeadSeal, decodeParts, encodeParts } from './aead.js';

export const KEK_BYTES = 32;

export interface KEK {
  readonly key: Buffer;
  /** A short, one-way id of the KEK recorded in every blob, so a wrong KEK is named, not guessed at. */
  readonly id: string;
  /** Where it came from, for the startup message. */
  readonly source: 'env' | 'file';
  readonly path: string | undefined;
  /** True when this call generated the KEK file. */
  readonly created: boolean;
}

/** Raised for a missing, malformed or wrong KEK; the message says what to do and never shows key bytes. */
export class KEKError extends Error {
  override readonly name = 'KEKError';
  readonly code: 'ERR_KEK_INVALID' | 'ERR_KEK_MISMATCH' | 'ERR_KEK_MISSING';
  constructor(code: KEKError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** SHA-256 over a domain-separation label and the KEK, first 16 hex digits: names the KEK, reveals nothing. */
export function kekId(key: Buffer): string {
  return createHash('sha256').update('tessera kek id\0').update(key).digest('hex').slice(0, 16);
}

function parseKEK(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64url');
  // Round-trip check: Buffer.from silently skips junk characters, which would shorten a typo'd key.
  if (key.length !== KEK_BYTES || key.toString('base64url') !== trimmed.replace(/=+$/, ''))
    throw new KEKError('ERR_KEK_INVALID', `${where} must hold a base64url-encoded ${KEK_BYTES}-byte key`);
  return key;
}

export interface LoadKEKOptions {
  /** Contents of TESSERA_KEK, if set. */
  env: string | undefined;
  file: string;
  /**
   * Whether a missing KEK file may be generated. Only when the store holds no keys yet: creating a fresh
   * KEK next to existing encrypted keys would make them unreadable.
   */
  allowCreate: boolean;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * Load the KEK from `TESSERA_KEK` or the KEK file, creating the file on a zero-config first run.
 *
 * @example
 * const kek = loadKEK({ env: process.env.TESSERA_KEK, file: '.tessera/kek', allowCreate: true });
 */
export function loadKEK(options: LoadKEKOptions): KEK {
  if (options.env) {
    const key = parseKEK(options.env, 'TESSERA_KEK');
    return { key, id: kekId(key), source: 'env', path: undefined, created: false };
  }
  const file = options.file;
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077)
      options.log?.warn(
        { file, mode: mode.toString(8) },
        'KEK file is readable by group or others; chmod 600 it',
      );
    const key = parseKEK(readFileSync(file, 'utf8'), `KEK file ${file}`);
    return { key, id: kekId(key), source: 'file', path: file, created: false };
  }
  if (!options.allowCreate)
    throw new KEKError(
      'ERR_KEK_MISSING',
      `no KEK: ${file} does not exist and TESSERA_KEK is not set, but the store already holds encrypted keys; ` +
        'restore the KEK file or set TESSERA_KEK to the KEK the keys were encrypted with',
    );
  const key = randomBytes(KEK_BYTES);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    // `wx`: never overwrite a KEK another process created in the meantime (two instances starting at once).
    writeFileSync(file, key.toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadKEK({ ...options, allowCreate: false });
    throw err;
  }
  chmodSync(file, 0o600);
  options.log?.info(
    { file },
    'generated a new key-encryption key (KEK); back it up: without it the keys are lost',
  );
  return { key, id: kekId(key), source: 'file', path: file, created: true };
}

/** The versioned at-rest format of one private key. */
interface EncryptedBlob {
  v: 1;
  alg: 'A256GCM';
  /** kekId() of the KEK that encrypted it. */
  kek: string;
  iv: string;
  tag: string;
  ct: string;
}

/**
 * Encrypt a private JWK under the KEK. `aad` (the kid) binds the blob to its record, so a blob copied onto
 * another key's row fails to decrypt instead of silently signing with the wrong key.
 */
export function encryptPrivateJWK(jwk: object, kek: KEK, aad: string): string {
  const blob: EncryptedBlob = {
    v: 1,
    alg: 'A256GCM',
    kek: kek.id,
    ...encodeParts(aeadSeal(kek.key, JSON.stringify(jwk), aad)),
  };
  return JSON.stringify(blob);
}

function parseBlob(text: string): EncryptedBlob {
  let blob: Partial<EncryptedBlob>;
  try {
    blob = JSON.parse(text) as Partial<EncryptedBlob>;
  } catch (err) {
    throw new KEKError('ERR_KEK_INVALID', 'an encrypted key blob is not valid JSON', { cause: err });
  }
  if (blob.v !== 1 || blob.alg !== 'A256GCM' || typeof blob.kek !== 'string')
    throw new KEKError('ERR_KEK_INVALID', 'an encrypted key blob has an unknown format');
  return blob as EncryptedBlob;
}

/** Throws KEKError ERR_KEK_MISMATCH when the blob was made under another KEK. */
export function assertKEKMatches(blobText: string, kek: KEK): void {
  const blob = parseBlob(blobText);
  if (blob.kek !== kek.id)
    throw new KEKError(
      'ERR_KEK_MISMATCH',
      `the KEK does not match the one the keys were encrypted with (keys: KEK id ${blob.kek}, given: ${kek.id}); ` +
        'nothing was changed',
    );
}

/** Decrypt a blob made by encryptPrivateJWK. */
export function decryptPrivateJWK(blobText: string, kek: KEK, aad: string): Record<string, unknown> {
  assertKEKMatches(blobText, kek);
  const blob = parseBlob(blobText);
  try {
    const pt = aeadOpen(kek.key, decodeParts(blob), aad);
    return JSON.parse(pt.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new KEKError('ERR_KEK_INVALID', `the encrypted private key of ${aad} failed authentication`, {
      cause: err,
    });
  }
}

/**
 * The pepper for client-secret hashes: HKDF-SHA-256 of the KEK (RFC 5869), separate from the KEK itself
 * so that the two uses never share a key.
 */
export function derivePepper(kek: KEK): Buffer {
  return Buffer.from(hkdfSync('sha256', kek.key, Buffer.alloc(0), 'tessera client-secret pepper', 32));
}
