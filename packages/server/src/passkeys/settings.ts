/**
 * Who Tessera is to an authenticator: the relying party id (the issuer's host name) and the origin every
 * ceremony must come from (the issuer's origin). WebAuthn needs a secure context and a domain as RP ID
 * (W3C WebAuthn Level 3 §5.1.3 step 8, §13.4.8), so passkeys are offered only when the issuer is https, or
 * http on `localhost` (a secure context in browsers), and its host is a name, never an IP address.
 */
import { isIP } from 'node:net';

/** How long a challenge may wait for its answer (WebAuthn §13.4.3 recommends a short, single-use value). */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** How long an enrolment link works unless the caller says otherwise: 24 hours, like set-password links. */
export const PASSKEY_LINK_TTL = 24 * 3600;
/** The name authenticators show next to the account. */
export const RP_NAME = 'Tessera';
/** The longest passkey label kept. */
export const MAX_PASSKEY_NAME = 64;
/** RFC 8176 methods for a passkey sign-in: a hardware-held key plus the authenticator's user verification. */
export const PASSKEY_AMR: readonly string[] = ['hwk', 'user'];

export interface PasskeyIdentity {
  rpId: string;
  origin: string;
}

/**
 * The RP ID and origin for an issuer, or undefined when browsers would refuse WebAuthn there.
 *
 * @example
 * passkeyIdentity('https://auth.example.com'); // { rpId: 'auth.example.com', origin: 'https://auth.example.com' }
 * passkeyIdentity('http://127.0.0.1:7070');    // undefined: an IP address cannot be an RP ID
 */
export function passkeyIdentity(issuer: string): PasskeyIdentity | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return undefined;
  }
  const host = url.hostname;
  if (host === '' || isIP(host.replace(/^\[|\]$/g, '')) !== 0) return undefined;
  const local = host === 'localhost' || host.endsWith('.localhost');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) return undefined;
  return { rpId: host, origin: url.origin };
}

/**
 * The WebAuthn user handle of a user (§5.4.3 `user.id`): the bytes of Tessera's random user id, never the
 * email (the handle must hold no personal data), as base64url the way responses carry `userHandle`.
 *
 * @example
 * userHandleOf('usr_abc'); // 'dXNyX2FiYw'
 */
export function userHandleOf(userId: string): string {
  return Buffer.from(userId, 'utf8').toString('base64url');
}
