import { decodeJWT, TesseraError } from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import { invalidGrant, invalidRequest } from '../server/errors.js';
import type { ClientRecord } from '../store/types.js';
import { findLiveOpaqueToken, verifyLiveAccessToken } from '../oauth/introspect.js';
import { looksLikeJWT } from '../oauth/own-tokens.js';
import { oauthSettings } from '../oauth/settings.js';
import { verifyForeignToken } from './foreign.js';
import { JWT_TOKEN_TYPE } from './request.js';

/** A verified, live subject (or actor) token, whatever its kind, reduced to what the exchange reads. */
export interface SubjectToken {
  /** `jwt` and `opaque`: issued by this server; `foreign`: a JWT of an issuer the client trusts. */
  kind: 'jwt' | 'opaque' | 'foreign';
  issuer: string;
  sub: string;
  /** The client the token was issued to (`client_id`, or `azp` for a foreign token), if it says. */
  clientId: string | undefined;
  audience: string[];
  scope: string[];
  /** Expiry, seconds since the epoch. */
  exp: number;
  iat: number | undefined;
  jti: string | undefined;
  /** Every claim the token carries (registered, server-set and custom), for the act chain and carry-over. */
  claims: Record<string, unknown>;
}

/** One message for every own token that is not live: nothing about which check failed (RFC 7662 §2.2 spirit). */
const NOT_LIVE = 'the subject token is invalid, expired or revoked';

const audienceList = (aud: unknown): string[] =>
  typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a) => typeof a === 'string') : [];

const scopeList = (scope: unknown): string[] =>
  typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : [];

/** The unverified `iss` of a JWT, to pick who verifies it; undefined when it does not decode. */
function unverifiedIssuer(token: string): unknown {
  try {
    return decodeJWT(token).payload.iss;
  } catch (err) {
    if (err instanceof TesseraError) return undefined;
    throw err;
  }
}

async function ownJWT(ctx: ServerContext, token: string): Promise<SubjectToken> {
  // Signature by a trusted (published, non-revoked) key, typ at+jwt, our iss, exp; jti deny-list,
  // deleted-client and disabled-user entries: exactly what introspection calls a live token.
  const claims = await verifyLiveAccessToken(ctx, token);
  if (!claims || typeof claims.sub !== 'string') throw invalidGrant(NOT_LIVE);
  return {
    kind: 'jwt',
    issuer: oauthSettings(ctx).issuer,
    sub: claims.sub,
    clientId: claims.client_id,
    audience: audienceList(claims.aud),
    scope: scopeList(claims.scope),
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    claims,
  };
}

async function ownOpaque(ctx: ServerContext, token: string): Promise<SubjectToken> {
  // Stored, unexpired, its jti not denied and its user not disabled; a deleted client's opaque tokens are
  // deleted with it.
  const record = await findLiveOpaqueToken(ctx, token);
  if (!record) throw invalidGrant(NOT_LIVE);
  const iat = Math.floor(record.issuedAt / 1000);
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(record.claims) as Record<string, unknown>;
  } catch {
    // Stored by us; unreadable, it would lose the token's act chain, so the token is not exchanged.
    throw invalidGrant(NOT_LIVE);
  }
  return {
    kind: 'opaque',
    issuer: oauthSettings(ctx).issuer,
    sub: record.sub,
    clientId: record.clientId,
    audience: record.audience,
    scope: record.scope,
    exp: Math.floor(record.expiresAt / 1000),
    iat,
    jti: record.jti,
    claims,
  };
}

/**
 * Verify the token given as `subject_token` (or `actor_token`) and return what it says. A JWT is routed
 * by its unverified `iss`: our own issuer is verified with our keys (oauth/own-tokens.ts, as introspection
 * does), an issuer the client trusts with that issuer's JWKS (foreign.ts), anything else is refused before
 * any key is fetched. Other tokens are looked up among our opaque access tokens. Revoked, expired, unknown
 * and foreign tokens are `invalid_grant` (RFC 8693 §2.2.2, RFC 6749 §5.2).
 *
 * @example
 * const subject = await resolveSubjectToken(ctx, client, form.require('subject_token'), ACCESS_TOKEN_TYPE);
 */
export async function resolveSubjectToken(
  ctx: ServerContext,
  client: ClientRecord,
  token: string,
  tokenType: string,
): Promise<SubjectToken> {
  if (!looksLikeJWT(token)) {
    if (tokenType === JWT_TOKEN_TYPE) throw invalidRequest('the token is not a JWT but its type says jwt');
    return ownOpaque(ctx, token);
  }
  const iss = unverifiedIssuer(token);
  if (iss === oauthSettings(ctx).issuer) return ownJWT(ctx, token);
  const trusted =
    typeof iss === 'string' ? (client.exchangeTrustIssuers ?? []).find((t) => t.issuer === iss) : undefined;
  if (trusted === undefined) throw invalidGrant("the subject token's issuer is not trusted by this client");
  const payload = await verifyForeignToken(ctx, client, trusted, token);
  const azp = typeof payload.client_id === 'string' ? payload.client_id : payload.azp;
  return {
    kind: 'foreign',
    issuer: trusted.issuer,
    sub: payload.sub as string,
    clientId: typeof azp === 'string' ? azp : undefined,
    audience: audienceList(payload.aud),
    scope: scopeList(payload.scope),
    exp: payload.exp as number,
    iat: typeof payload.iat === 'number' ? payload.iat : undefined,
    jti: typeof payload.jti === 'string' ? payload.jti : undefined,
    claims: payload,
  };
}

/**
 * Whether the subject token was meant for the exchanging client, so a service can exchange only the tokens
 * it legitimately holds, never one it stole or was shown by another service (docs/token-exchange.md "Whose
 * token"): it was issued to the client (`client_id`, or `azp` of a foreign token), its `aud` names the
 * client's id, or its `aud` names an audience the client is the registered resource server for (its
 * `--introspect-audience` list). The client's own `--audience` list grants nothing: those are the APIs it
 * calls, whose other callers' tokens it must never be able to exchange.
 */
export function meantForClient(subject: SubjectToken, client: ClientRecord): boolean {
  if (subject.clientId === client.id) return true;
  if (subject.audience.includes(client.id)) return true;
  const serves = client.introspectAudiences ?? [];
  return subject.audience.some((a) => serves.includes(a));
}
