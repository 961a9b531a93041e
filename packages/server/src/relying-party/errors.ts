import type { RelyingPartyErrorCode } from './types.js';

/**
 * A relying-party failure with a stable `code`. Messages say which check failed, never a token, code,
 * secret or the provider's own error text (which an attacker controlling the callback can choose).
 *
 * @example if (err instanceof RelyingPartyError && err.code === 'ERR_UPSTREAM_DENIED') showCancelled();
 */
export class RelyingPartyError extends Error {
  override readonly name = 'RelyingPartyError';
  constructor(
    readonly code: RelyingPartyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
