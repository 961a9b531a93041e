import type { ConsentRecord, SessionRecord, Store } from './types.js';

/**
 * Listings that only `tessera migrate` needs (the server never enumerates consents or sessions), so they are
 * not part of the {@link Store} contract: the SQL stores implement them, and `copyStore` checks for them.
 */
export interface SignInListing {
  /** Every remembered consent, oldest first. */
  listConsents(): Promise<ConsentRecord[]>;
  /** Sessions neither idle- nor absolutely expired at `now`, oldest first. */
  listLiveSessions(now: number): Promise<SessionRecord[]>;
}

export function hasSignInListing(store: Store): store is Store & SignInListing {
  const candidate = store as Partial<SignInListing>;
  return typeof candidate.listConsents === 'function' && typeof candidate.listLiveSessions === 'function';
}
