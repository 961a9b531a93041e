import type { ExchangeTrustIssuer } from '../store/types.js';

/** The loopback hosts where a JWKS URL may be plain http (development, tests), as for redirect URIs. */
const LOOPBACK_HOSTS = ['127.0.0.1', '[::1]', 'localhost'];

/** What a client's token exchange settings validate to, or why they are refused. */
export type ExchangeSettingsResult =
  { ok: true; audiences: string[]; trustIssuers: ExchangeTrustIssuer[] } | { ok: false; reason: string };

/**
 * Parse one `--exchange-trust-issuer ISSUER=JWKS_URL` value. The issuer ends at the first `=` (issuer
 * identifiers are URLs without a query); the JWKS URL may hold more.
 *
 * @example
 * parseTrustIssuer('https://idp.example=https://idp.example/jwks.json');
 * // { issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks.json' }
 */
export function parseTrustIssuer(text: string): ExchangeTrustIssuer | undefined {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) return undefined;
  return { issuer: text.slice(0, eq).trim(), jwksUri: text.slice(eq + 1).trim() };
}

function checkTrustIssuer(entry: ExchangeTrustIssuer): string | undefined {
  const { issuer, jwksUri } = entry;
  const shown = String(issuer).slice(0, 100);
  if (typeof issuer !== 'string' || !/^[\x21-\x7e]{1,512}$/.test(issuer))
    return 'a trusted issuer must be 1-512 printable characters without spaces';
  let url: URL;
  try {
    url = new URL(jwksUri);
  } catch {
    return `the JWKS URL of "${shown}" is not an absolute URL`;
  }
  // The JWKS decides which tokens are accepted: fetched over plain http it could be swapped on the way
  // (RFC 8414 §2 jwks_uri is https); loopback http is for development only, like createRemoteJWKSet's rule.
  const loopbackHttp = url.protocol === 'http:' && LOOPBACK_HOSTS.includes(url.hostname);
  if (url.protocol !== 'https:' && !loopbackHttp)
    return `the JWKS URL of "${shown}" must be https (http only on a loopback host)`;
  if (url.username !== '' || url.password !== '' || url.hash !== '')
    return `the JWKS URL of "${shown}" must not carry user@ or a #fragment`;
  return undefined;
}

/**
 * Validate a client's token exchange settings (RFC 8693, docs/token-exchange.md): the grant needs at least
 * one exchange audience (it could issue nothing otherwise), and audiences or trusted issuers without the
 * grant are refused rather than stored unused. Trusted issuers are unique, each with an https JWKS URL.
 *
 * @example
 * checkExchangeSettings(true, ['payments-api'], []); // { ok: true, audiences: ['payments-api'], trustIssuers: [] }
 */
export function checkExchangeSettings(
  hasGrant: boolean,
  audiences: string[],
  trustIssuers: ExchangeTrustIssuer[],
): ExchangeSettingsResult {
  if (!hasGrant) {
    if (audiences.length > 0 || trustIssuers.length > 0)
      return {
        ok: false,
        reason: '--exchange-audience and --exchange-trust-issuer need the token-exchange grant',
      };
    return { ok: true, audiences, trustIssuers };
  }
  if (audiences.length === 0)
    return {
      ok: false,
      reason:
        'the token-exchange grant needs at least one --exchange-audience (where exchanged tokens may go)',
    };
  const seen = new Set<string>();
  const checked: ExchangeTrustIssuer[] = [];
  for (const entry of trustIssuers) {
    const reason = checkTrustIssuer(entry);
    if (reason !== undefined) return { ok: false, reason };
    if (seen.has(entry.issuer))
      return { ok: false, reason: `the issuer "${entry.issuer.slice(0, 100)}" is trusted twice` };
    seen.add(entry.issuer);
    checked.push({ issuer: entry.issuer, jwksUri: new URL(entry.jwksUri).href });
  }
  return { ok: true, audiences, trustIssuers: checked };
}
