/**
 * Errors of the identity-provider commands (`tessera idps …`): a stable `code`, a message that says what to
 * change and never shows the client secret.
 */
export type FederationErrorCode =
  /** A flag of `idps add` is malformed: id, issuer, scope, claims map, allowed domains, name, secret. */
  | 'ERR_IDP_INVALID'
  /** `idps add` with an id that is taken. */
  | 'ERR_IDP_EXISTS'
  /** `idps show|delete` of an id that does not exist. */
  | 'ERR_IDP_NOT_FOUND';

/**
 * A refused identity-provider definition or lookup.
 *
 * @example if (err instanceof FederationError && err.code === 'ERR_IDP_NOT_FOUND') return 1;
 */
export class FederationError extends Error {
  override readonly name = 'FederationError';
  constructor(
    readonly code: FederationErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
