/**
 * Registering a passkey (W3C WebAuthn Level 3 §7.1) through `@simplewebauthn/server`: a discoverable
 * credential (resident key, so sign-in needs no email) with user verification required, no attestation
 * (Tessera trusts no authenticator model over another, so it asks for none and gets no device fingerprint).
 */
import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { ServerContext } from '../server/context.js';
import { StoreConflictError, type PasskeyRecord, type UserRecord } from '../store/types.js';
import { PasskeyError } from './errors.js';
import { readClaims, refusalCode } from './response.js';
import { CHALLENGE_TTL_MS, MAX_PASSKEY_NAME, RP_NAME, type PasskeyIdentity } from './settings.js';

/**
 * Creation options for `user`; their existing passkeys are excluded, so an authenticator that already holds
 * one for this account says so instead of making a second (§5.4 `excludeCredentials`).
 *
 * @example const options = await registrationOptions(ctx, user, identity);
 */
export async function registrationOptions(
  ctx: ServerContext,
  user: UserRecord,
  identity: PasskeyIdentity,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await ctx.store.listUserPasskeys(user.id);
  return generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: identity.rpId,
    userID: new Uint8Array(Buffer.from(user.id, 'utf8')),
    userName: user.email,
    userDisplayName: user.name ?? user.email,
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
}

/** A label people can read back: trimmed, control characters removed, bounded; a default when empty. */
export function passkeyName(raw: string | undefined, fallback: string): string {
  const cleaned = (raw ?? '')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .trim()
    .slice(0, MAX_PASSKEY_NAME);
  return cleaned === '' ? fallback : cleaned;
}

/**
 * Verify a registration answer against the stored challenge; returns the passkey record to keep for `user`
 * (not stored yet). Throws PasskeyError: the library's refusal (named by `refusalCode`), or
 * `ERR_PASSKEY_ALREADY_REGISTERED` when the credential id is registered already, to anyone.
 *
 * @example const passkey = await verifyRegistration(ctx, user, stored.challenge, response, 'Laptop', identity);
 */
export async function verifyRegistration(
  ctx: ServerContext,
  user: UserRecord,
  challenge: string,
  response: RegistrationResponseJSON,
  name: string,
  identity: PasskeyIdentity,
): Promise<PasskeyRecord> {
  let info;
  try {
    const verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: identity.origin,
      expectedRPID: identity.rpId,
      requireUserVerification: true,
    });
    if (!verified.verified) throw new Error('not verified');
    info = verified.registrationInfo;
  } catch {
    throw new PasskeyError(refusalCode(readClaims(response), identity), 'registration refused', user.id);
  }
  const passkey: PasskeyRecord = {
    id: info.credential.id,
    userId: user.id,
    publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
    counter: info.credential.counter,
    transports: (info.credential.transports ?? []).slice(0, 8),
    backedUp: info.credentialBackedUp,
    name,
    createdAt: ctx.clock(),
    lastUsedAt: null,
  };
  if ((await ctx.store.getPasskey(passkey.id)) !== undefined)
    throw new PasskeyError('ERR_PASSKEY_ALREADY_REGISTERED', 'credential already registered', user.id);
  return passkey;
}

/**
 * Keep a verified passkey. One credential belongs to one account: the store's unique credential id refuses a
 * second registration of it (for this user or another), `ERR_PASSKEY_ALREADY_REGISTERED`.
 *
 * @example await storePasskey(ctx, passkey);
 */
export async function storePasskey(ctx: ServerContext, passkey: PasskeyRecord): Promise<PasskeyRecord> {
  try {
    await ctx.store.createPasskey(passkey);
  } catch (err) {
    if (err instanceof StoreConflictError)
      throw new PasskeyError(
        'ERR_PASSKEY_ALREADY_REGISTERED',
        'credential already registered',
        passkey.userId,
      );
    throw err;
  }
  return passkey;
}
