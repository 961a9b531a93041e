import { timingSafeEqual } from 'node:crypto';
import { invalidDpopProof, invalidGrant } from '../server/errors.js';
import type { GrantRequest } from '../oauth/grants/types.js';

/**
 * A grant artifact bound to a DPoP key (a public client's refresh family, RFC 9449 §5; a code requested with
 * `dpop_jkt`, §10) is redeemed only with a proof made by that key. No proof: `invalid_dpop_proof` (the client
 * can fix it by sending one). A proof by another key: `invalid_grant`, as for any grant presented by the
 * wrong party (a stolen refresh token or code used with the thief's own key).
 *
 * @example
 * requireBoundKey(family.dpopJkt, request, 'refresh token');
 */
export function requireBoundKey(
  boundJkt: string | null | undefined,
  request: GrantRequest,
  what: string,
): void {
  if (boundJkt === null || boundJkt === undefined) return;
  if (request.dpop === undefined)
    throw invalidDpopProof(`the ${what} is bound to a DPoP key: send a DPoP proof made with it`);
  const given = Buffer.from(request.dpop.jkt);
  const bound = Buffer.from(boundJkt);
  if (given.length !== bound.length || !timingSafeEqual(given, bound))
    throw invalidGrant(`the ${what} is bound to another DPoP key`);
}

/**
 * The key a new refresh family is bound to: a public client's proof key (RFC 9449 §5: refresh tokens issued
 * to public clients MUST be bound). A confidential client's refresh tokens are bound to its authentication
 * instead, so they stay unbound and each refresh binds its new access token to the proof sent then.
 */
export function refreshFamilyKey(client: { authMethod: string }, request: GrantRequest): string | undefined {
  return client.authMethod === 'none' ? request.dpop?.jkt : undefined;
}
