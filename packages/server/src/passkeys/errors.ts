/**
 * Why a passkey ceremony was refused. The code goes to the audit log and the metric; the person sees one
 * fixed sentence per ceremony (no detail an attacker could probe with), never a credential or challenge.
 */
export type PasskeyErrorCode =
  | 'ERR_PASSKEY_CHALLENGE'
  | 'ERR_PASSKEY_MALFORMED'
  | 'ERR_PASSKEY_UNKNOWN_CREDENTIAL'
  | 'ERR_PASSKEY_USER_MISMATCH'
  | 'ERR_PASSKEY_USER_DISABLED'
  | 'ERR_PASSKEY_USER_NOT_VERIFIED'
  | 'ERR_PASSKEY_WRONG_ORIGIN'
  | 'ERR_PASSKEY_WRONG_RP'
  | 'ERR_PASSKEY_INVALID'
  | 'ERR_PASSKEY_COUNTER_REGRESSED'
  | 'ERR_PASSKEY_ALREADY_REGISTERED'
  | 'ERR_PASSKEY_LINK';

/** Every code, for the docs/errors.md check. */
export const PASSKEY_ERROR_CODES: readonly PasskeyErrorCode[] = [
  'ERR_PASSKEY_CHALLENGE',
  'ERR_PASSKEY_MALFORMED',
  'ERR_PASSKEY_UNKNOWN_CREDENTIAL',
  'ERR_PASSKEY_USER_MISMATCH',
  'ERR_PASSKEY_USER_DISABLED',
  'ERR_PASSKEY_USER_NOT_VERIFIED',
  'ERR_PASSKEY_WRONG_ORIGIN',
  'ERR_PASSKEY_WRONG_RP',
  'ERR_PASSKEY_INVALID',
  'ERR_PASSKEY_COUNTER_REGRESSED',
  'ERR_PASSKEY_ALREADY_REGISTERED',
  'ERR_PASSKEY_LINK',
];

/**
 * A refused passkey registration or sign-in; `userId` is set once the credential named a user.
 *
 * @example if (err instanceof PasskeyError && err.code === 'ERR_PASSKEY_COUNTER_REGRESSED') alarm();
 */
export class PasskeyError extends Error {
  override readonly name = 'PasskeyError';
  constructor(
    readonly code: PasskeyErrorCode,
    message: string,
    readonly userId?: string,
  ) {
    super(message);
  }
}

/** The audit `reason` for a code: `ERR_PASSKEY_WRONG_ORIGIN` → `wrong_origin`. */
export function reasonOf(code: PasskeyErrorCode): string {
  return code.slice('ERR_PASSKEY_'.length).toLowerCase();
}
