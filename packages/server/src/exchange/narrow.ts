import { invalidScope } from '../server/errors.js';
import type { ClientRecord } from '../store/types.js';
import {
  REGISTERED_CLAIMS,
  splitAuthenticationClaims,
  type AuthenticationClaims,
} from '../oauth/claims-policy.js';
import { parseScope } from '../oauth/scope.js';
import type { SubjectToken } from './subject.js';

/**
 * The scope of the exchanged token: at most the subject token's scope intersected with the client's
 * (privilege escalation through exchange: it must never widen what the subject token allowed, nor give the client more than
 * it is registered for). Requested: it must fit inside that ceiling, else `invalid_scope`. Not requested:
 * the whole ceiling; a subject token with scopes of which the client may hold none is `invalid_scope`
 * rather than a token without `scope` (which some resource servers read as unrestricted).
 *
 * @example
 * exchangeScope(subject, client, 'orders:read'); // ['orders:read']
 */
export function exchangeScope(
  subject: SubjectToken,
  client: ClientRecord,
  requested: string | undefined,
): string[] {
  const ceiling = subject.scope.filter((s) => client.scope.includes(s));
  if (requested === undefined) {
    if (subject.scope.length > 0 && ceiling.length === 0)
      throw invalidScope("the client may hold none of the subject token's scopes");
    return ceiling;
  }
  const tokens = parseScope(requested);
  if (tokens.length === 0) throw invalidScope('scope must name at least one scope token');
  if (tokens.some((t) => !ceiling.includes(t)))
    throw invalidScope("requested scope exceeds the subject token's scope or the client's");
  return tokens;
}

/**
 * The subject token's custom identity claims (e.g. `tenant_id`) that the exchanging client may carry over:
 * only names on its `--claims` allowlist, and never a registered claim (`act`, `may_act`, `cnf`, `scope`,
 * `sub` …), whatever the allowlist says: those are set by the exchange itself. The claims policy checks the
 * result again at issuance.
 */
export function carriedClaims(subject: SubjectToken, client: ClientRecord): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const name of client.allowedClaims) {
    if (REGISTERED_CLAIMS.has(name) || !Object.hasOwn(subject.claims, name)) continue;
    claims[name] = subject.claims[name];
  }
  return claims;
}

/**
 * The user's sign-in claims (auth_time, acr, amr, sid) of one of our own tokens, carried over unchanged: the
 * exchanged token is about the same sign-in. A foreign issuer's are not ours to vouch for.
 */
export function carriedAuthentication(subject: SubjectToken): AuthenticationClaims | undefined {
  if (subject.kind === 'foreign') return undefined;
  return splitAuthenticationClaims(subject.claims).authentication;
}
