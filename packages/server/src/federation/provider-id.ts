import { LOCAL_IDP } from '../store/types.js';
import { FederationError } from './errors.js';

/** A provider id: a short slug, so it is safe in a URL path, a cookie-free log line and the `idp` claim. */
const PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/**
 * True when `id` is a usable provider id (a slug, not `local`).
 *
 * @example isProviderId('corp'); // true
 */
export function isProviderId(id: string): boolean {
  return PROVIDER_ID.test(id) && id !== LOCAL_IDP;
}

/**
 * Check a provider id for `idps add`.
 *
 * @example checkProviderId('corp'); // 'corp'
 */
export function checkProviderId(id: string): string {
  if (id === LOCAL_IDP)
    throw new FederationError('ERR_IDP_INVALID', '"local" is reserved for Tessera\'s own sign-in');
  if (!PROVIDER_ID.test(id))
    throw new FederationError(
      'ERR_IDP_INVALID',
      'a provider id is 1 to 32 characters: a-z, 0-9 and "-", starting with a letter or digit',
    );
  return id;
}
