import { findSensitiveData } from '@tessera/jwt/lint';
import type { ServerContext } from '../server/context.js';
import { invalidGrant } from '../server/errors.js';
import { oauthSettings } from './settings.js';

/**
 * Claim names that resource servers read as scope or authorisation (issue 12: scope escalation through
 * `scp`): `scp` is the scope claim of Azure AD, Okta and several SDKs (our own `scopeClaim` option among
 * them); `roles`, `permissions`, `groups` and `entitlements` are RFC 9068 §2.2.3.1 / RFC 7643 §4.1.2
 * authorisation attributes. A login backend that could put one in a token would grant itself any scope.
 */
export const SCOPE_LIKE_CLAIMS: readonly string[] = ['scp', 'roles', 'permissions', 'groups', 'entitlements'];

/**
 * Claims an access token sets itself (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 §4, OIDC), plus the
 * scope-like names above. A custom claim with one of these names could change what a resource server
 * believes (another `sub`, a wider `scope`, a different `client_id`), so custom claims may never use them:
 * `tessera clients create --claims` refuses them, and so does issuance.
 */
export const REGISTERED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'client_id',
  'scope',
  'auth_time',
  'acr',
  'amr',
  'idp',
  'azp',
  'cnf',
  'act',
  'may_act',
  'sid',
  'typ',
  'token_type',
  'nonce',
  ...SCOPE_LIKE_CLAIMS,
]);

/**
 * Claims about the user's sign-in that only the server sets, from the session (OIDC Core §2, RFC 9068
 * §2.2.1): when, how and in which session the user authenticated. They are registered claims above, so a
 * client's `--claims` allowlist or a user's custom claims can never supply them.
 */
export const AUTHENTICATION_CLAIMS: readonly string[] = ['auth_time', 'acr', 'amr', 'sid', 'idp'];

/** The authentication claims of a token issued for a signed-in user (set by the server, never custom). */
export interface AuthenticationClaims {
  /** Seconds since the epoch. */
  auth_time: number;
  acr: string;
  amr: string[];
  sid: string;
  /**
   * Who authenticated the user: `local` (Tessera's password) or an upstream identity provider's id
   * (federation). Optional so that families issued before federation still refresh.
   */
  idp?: string;
}

/**
 * Split stored claims (a refresh family's) into the server-set authentication claims and the custom ones.
 * Authentication claims are only taken when all four have the right types.
 *
 * @example
 * const { authentication, custom } = splitAuthenticationClaims(JSON.parse(family.claims));
 */
export function splitAuthenticationClaims(claims: Record<string, unknown>): {
  authentication: AuthenticationClaims | undefined;
  custom: Record<string, unknown>;
} {
  const custom: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims))
    if (!AUTHENTICATION_CLAIMS.includes(name)) custom[name] = value;
  const { auth_time, acr, amr, sid, idp } = claims;
  const ok =
    typeof auth_time === 'number' &&
    typeof acr === 'string' &&
    Array.isArray(amr) &&
    amr.every((m) => typeof m === 'string') &&
    typeof sid === 'string';
  const authentication: AuthenticationClaims | undefined = ok
    ? { auth_time, acr, amr: amr as string[], sid, ...(typeof idp === 'string' && { idp }) }
    : undefined;
  return { authentication, custom };
}

/** The outcome of checking a token's custom claims; `ok: false` carries a reason safe to show the client. */
export type ClaimsPolicyResult = { ok: true; bytes: number } | { ok: false; reason: string };

/**
 * Check the custom claims of a token about to be issued: no registered claim overridden, nothing that looks
 * sensitive (names such as password/secret/ssn, Luhn-valid card numbers, PEM private keys …; detection by
 * `@tessera/jwt/lint`), and at most `claimsMaxBytes` of JSON. Reasons name claims and kinds, never values.
 *
 * @example
 * const result = checkClaims({ tenant_id: 't1' }, { maxBytes: 4096 });
 */
export function checkClaims(
  claims: Record<string, unknown>,
  limits: { maxBytes: number },
): ClaimsPolicyResult {
  const overriding = Object.keys(claims).filter((name) => REGISTERED_CLAIMS.has(name));
  if (overriding.length > 0) {
    return {
      ok: false,
      reason: `custom claims cannot override registered claims (${overriding.join(', ')})`,
    };
  }
  const bytes = Buffer.byteLength(JSON.stringify(claims), 'utf8');
  if (bytes > limits.maxBytes) {
    return { ok: false, reason: `custom claims are ${bytes} bytes, above the limit of ${limits.maxBytes}` };
  }
  const sensitive = findSensitiveData(claims);
  if (sensitive.length > 0) {
    const where = sensitive
      .slice(0, 5)
      .map((m) => `${m.path.slice(0, 64)} (${m.kind})`)
      .join(', ');
    return { ok: false, reason: `claims look sensitive and cannot go into a readable token: ${where}` };
  }
  return { ok: true, bytes };
}

/**
 * Apply the claims policy at issuance: refuse with invalid_grant (the claims come from the grant), and log
 * a warning — sizes and names only, never values — above `claimsWarnBytes`.
 *
 * @example
 * enforceClaimsPolicy(ctx, client.id, custom);
 */
export function enforceClaimsPolicy(
  ctx: ServerContext,
  clientId: string,
  claims: Record<string, unknown>,
): void {
  if (Object.keys(claims).length === 0) return;
  const { claimsMaxBytes, claimsWarnBytes } = oauthSettings(ctx);
  const result = checkClaims(claims, { maxBytes: claimsMaxBytes });
  if (!result.ok) {
    ctx.log.warn({ clientId, claims: Object.keys(claims) }, 'claims policy refused a token');
    throw invalidGrant(result.reason);
  }
  if (result.bytes > claimsWarnBytes) {
    ctx.log.warn(
      { clientId, bytes: result.bytes, claims: Object.keys(claims), limit: claimsWarnBytes },
      'large custom claims in an access token',
    );
  }
}
