/**
 * Signing in with a passkey (W3C WebAuthn Level 3 §7.2) through `@simplewebauthn/server`: discoverable
 * credentials (no email first), user verification required, then Tessera's own checks around the library's:
 * the credential must be registered, its user handle must be its owner's (a credential of one account
 * presented as another's is refused), the owner must be enabled, and the signature counter must move forward
 * in one atomic store step (§6.1.1: a cloned authenticator shows a stale counter).
 */
import {
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import type { ServerContext } from '../server/context.js';
import type { PasskeyRecord, UserRecord } from '../store/types.js';
import { PasskeyError } from './errors.js';
import { readClaims, refusalCode } from './response.js';
import { CHALLENGE_TTL_MS, userHandleOf, type PasskeyIdentity } from './settings.js';

/**
 * Request options for a sign-in: no allowCredentials (the authenticator offers the account's discoverable
 * credential), user verification required.
 *
 * @example const options = await signInOptions(identity);
 */
export function signInOptions(identity: PasskeyIdentity): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({
    rpID: identity.rpId,
    userVerification: 'required',
    timeout: CHALLENGE_TTL_MS,
  });
}

/** A stale or repeated counter: WebAuthn §6.1.1 (0 then 0 is an authenticator without a counter). */
export const counterRegressed = (stored: number, received: number): boolean =>
  (stored > 0 || received > 0) && received <= stored;

/**
 * Verify an assertion against the stored challenge; returns the user and the updated passkey. Throws
 * PasskeyError naming the failed check; `ERR_PASSKEY_COUNTER_REGRESSED` only for an assertion whose
 * signature held (a real clone of the key, not a forgery).
 *
 * @example const { user } = await verifySignIn(ctx, stored.challenge, assertion, identity);
 */
export async function verifySignIn(
  ctx: ServerContext,
  challenge: string,
  response: AuthenticationResponseJSON,
  identity: PasskeyIdentity,
): Promise<{ user: UserRecord; passkey: PasskeyRecord }> {
  const passkey = await ctx.store.getPasskey(response.id);
  if (passkey === undefined) throw new PasskeyError('ERR_PASSKEY_UNKNOWN_CREDENTIAL', 'unknown credential');
  // §7.2 step 6: the user handle the authenticator returns must be the credential owner's.
  if (response.response.userHandle !== userHandleOf(passkey.userId))
    throw new PasskeyError('ERR_PASSKEY_USER_MISMATCH', 'credential of another user', passkey.userId);
  const user = await ctx.store.getUser(passkey.userId);
  if (user === undefined || user.disabled)
    throw new PasskeyError('ERR_PASSKEY_USER_DISABLED', 'user disabled', passkey.userId);

  let info;
  try {
    // The library is given counter 0 so that its own counter comparison, which runs before the signature
    // check, cannot label a forgery as a clone; Tessera compares after the signature held (below).
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: identity.origin,
      expectedRPID: identity.rpId,
      credential: {
        id: passkey.id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: 0,
        transports: passkey.transports as never,
      },
      requireUserVerification: true,
    });
    if (!verified.verified) throw new Error('signature');
    info = verified.authenticationInfo;
  } catch {
    throw new PasskeyError(refusalCode(readClaims(response), identity), 'assertion refused', user.id);
  }
  const now = ctx.clock();
  if (
    counterRegressed(passkey.counter, info.newCounter) ||
    !(await ctx.store.usePasskey(passkey.id, info.newCounter, info.credentialBackedUp, now))
  ) {
    await ctx.audit('passkey.counter_regressed', {
      userId: user.id,
      credential: passkey.id,
      stored: passkey.counter,
      received: info.newCounter,
    });
    throw new PasskeyError('ERR_PASSKEY_COUNTER_REGRESSED', 'signature counter did not advance', user.id);
  }
  return {
    user,
    passkey: { ...passkey, counter: info.newCounter, backedUp: info.credentialBackedUp, lastUsedAt: now },
  };
}
