/**
 * A software WebAuthn authenticator for the server-side tests: an ES256 key, `none` attestation, assertions
 * signed the way authenticators sign them (WebAuthn §6.1 authenticator data, §6.3.3 signature over
 * authData ‖ SHA-256(clientDataJSON)). Every field a test may want to get wrong is a parameter.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const b64u = (bytes: Uint8Array | Buffer): string => Buffer.from(bytes).toString('base64url');

export interface Ceremony {
  challenge: string;
  origin?: string;
  rpId?: string;
  /** Flags: UP 0x01 and UV 0x04 by default. */
  flags?: number;
}

export class SoftAuthenticator {
  readonly credentialId = b64u(randomBytes(16));
  readonly #key: KeyObject;
  readonly cosePublicKey: Uint8Array;
  counter = 0;

  constructor(
    readonly userHandle: string,
    readonly defaults: { origin: string; rpId: string },
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#key = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.cosePublicKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
  }

  #authData(rpId: string, flags: number, counter: number, attested: Buffer = Buffer.alloc(0)): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags]), count, attested]);
  }

  #clientData(type: string, c: Ceremony): Buffer {
    return Buffer.from(
      JSON.stringify({
        type,
        challenge: c.challenge,
        origin: c.origin ?? this.defaults.origin,
        crossOrigin: false,
      }),
    );
  }

  /** A `none`-attestation registration response for `navigator.credentials.create`. */
  register(c: Ceremony): Record<string, unknown> {
    const id = Buffer.from(this.credentialId, 'base64url');
    const length = Buffer.alloc(2);
    length.writeUInt16BE(id.length);
    const attested = Buffer.concat([Buffer.alloc(16), length, id, Buffer.from(this.cosePublicKey)]);
    const authData = this.#authData(
      c.rpId ?? this.defaults.rpId,
      (c.flags ?? 0x05) | 0x40,
      this.counter,
      attested,
    );
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', new Uint8Array(authData)],
      ]) as never,
    );
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(this.#clientData('webauthn.create', c)),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** An assertion for `navigator.credentials.get`; the counter advances unless `counter` is given. */
  assert(c: Ceremony & { counter?: number; userHandle?: string; tamper?: boolean }): Record<string, unknown> {
    const counter = c.counter ?? ++this.counter;
    const authData = this.#authData(c.rpId ?? this.defaults.rpId, c.flags ?? 0x05, counter);
    const clientData = this.#clientData('webauthn.get', c);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, createHash('sha256').update(clientData).digest()]),
      this.#key,
    );
    if (c.tamper) signature[signature.length - 1]! ^= 1;
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle: c.userHandle ?? this.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
