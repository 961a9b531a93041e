/**
 * Who may pass the proxy: rules over the claims of the verified access token, checked on every request.
 * Several `--allow-email`/`--allow-email-domain` rules: any one may match. Every `--allow-claim` must hold.
 * The two groups combine with AND. No rule at all: any signed-in user.
 */
import type { JWTPayload } from '@tessera/jwt';
import { UsageError } from '../cli/args.js';

export interface Policy {
  /** Lower-cased addresses. */
  emails: readonly string[];
  /** Lower-cased domains, without `@`. */
  domains: readonly string[];
  claims: readonly { name: string; value: string }[];
}

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string };

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
const CLAIM_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Check and normalise the rules given on the command line.
 *
 * @example parsePolicy({ emails: [], domains: ['example.com'], claims: ['tenant_id=acme'] });
 */
export function parsePolicy(input: { emails: string[]; domains: string[]; claims: string[] }): Policy {
  const emails = input.emails.map((e) => {
    const email = e.trim().toLowerCase();
    if (!/^[^\s@]+@[^\s@]+$/.test(email))
      throw new UsageError(`--allow-email "${e.slice(0, 100)}" is not an email address`);
    return email;
  });
  const domains = input.domains.map((d) => {
    const domain = d.trim().toLowerCase().replace(/^@/, '');
    if (!DOMAIN.test(domain))
      throw new UsageError(`--allow-email-domain "${d.slice(0, 100)}" is not a domain name`);
    return domain;
  });
  const claims = input.claims.map((c) => {
    const at = c.indexOf('=');
    const name = at > 0 ? c.slice(0, at) : '';
    if (!CLAIM_NAME.test(name)) throw new UsageError(`--allow-claim "${c.slice(0, 100)}" must be NAME=VALUE`);
    return { name, value: c.slice(at + 1) };
  });
  return Object.freeze({ emails, domains, claims });
}

/** A claim holds when it equals the value, or (for an array claim) contains it; numbers and booleans compare as text. */
function claimHolds(actual: unknown, value: string): boolean {
  const same = (v: unknown) =>
    (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && String(v) === value;
  return Array.isArray(actual) ? actual.some(same) : same(actual);
}

/**
 * Decide for one request. Email rules read `email` and require `email_verified: true`: an unverified address
 * is a claim anyone can type at sign-up, so matching it would let a stranger register `boss@example.com` at a
 * lenient provider and pass a domain rule (OIDC Core §5.7 warns against using email as an identifier).
 * Domains compare exactly on the part after the last `@`: `example.com` never matches `evil-example.com`
 * or `example.com.evil.net`.
 *
 * @example evaluatePolicy(policy, payload); // { allowed: false, reason: 'email not allowed' }
 */
export function evaluatePolicy(policy: Policy, claims: JWTPayload): PolicyDecision {
  if (policy.emails.length > 0 || policy.domains.length > 0) {
    const email = typeof claims['email'] === 'string' ? claims['email'].toLowerCase() : undefined;
    if (email === undefined) return { allowed: false, reason: 'the token carries no email' };
    if (claims['email_verified'] !== true) return { allowed: false, reason: 'the email is not verified' };
    const domain = email.slice(email.lastIndexOf('@') + 1);
    if (!policy.emails.includes(email) && !policy.domains.includes(domain))
      return { allowed: false, reason: 'this account is not allowed' };
  }
  for (const rule of policy.claims) {
    if (!Object.hasOwn(claims, rule.name) || !claimHolds(claims[rule.name], rule.value))
      return { allowed: false, reason: `the "${rule.name}" claim does not allow access` };
  }
  return { allowed: true };
}
