import type { ServerContext } from '../server/context.js';
import type { ClientRecord } from '../store/types.js';
import type { FormParams } from './form.js';
import type { OpaqueTokenRecord } from '../store/types.js';
import { unauthorizedClient } from '../server/errors.js';
import {
  findOpaqueToken,
  findRefreshToken,
  looksLikeJWT,
  verifyOwnAccessToken,
  type AccessTokenClaims,
} from './own-tokens.js';
import { recordIntrospection } from './observe.js';
import { oauthSettings } from './settings.js';
import { deniedByClientRevocation } from './clients.js';

/** RFC 7662 §2.2 answer. Inactive is exactly `{ "active": false }`: nothing about why. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      scope?: string;
      client_id: string;
      sub: string;
      aud?: string | string[];
      iss: string;
      exp: number;
      iat: number;
      jti?: string;
      /** `DPoP` for a token bound to a key; the answer then carries `cnf.jkt` (RFC 9449 §6.2). */
      token_type: 'Bearer' | 'DPoP' | 'refresh_token';
      [claim: string]: unknown;
    };

type ActiveIntrospection = Extract<IntrospectionResponse, { active: true }>;

const INACTIVE = { active: false } as const;
const ACTIVE_BEARER = { active: true, token_type: 'Bearer' } as const;
const ACTIVE_DPOP = { active: true, token_type: 'DPoP' } as const;

/** RFC 9449 §6.2: a bound token introspects with its `cnf` (carried in its claims) and token_type DPoP. */
const isBound = (claims: Record<string, unknown>): boolean => {
  const cnf = claims['cnf'] as { jkt?: unknown } | null | undefined;
  return typeof cnf === 'object' && cnf !== null && typeof cnf.jkt === 'string';
};

/**
 * Visibility rule (docs/oauth.md "Introspection"): a client may introspect an access token it was issued,
 * or one whose `aud` names an audience it holds an introspection permission for (`--introspect-audience`,
 * a resource server checking tokens meant for it). Its own `audience` grants nothing: any client whose
 * tokens are for `orders-api` is not thereby allowed to read everyone's `orders-api` tokens (issue 12 #5,
 * token scanning by a co-audience client). A refresh token only by the client it was issued to. Everything
 * else is answered `{ active: false }` as if unknown, so introspection cannot probe other clients' tokens.
 */
function mayIntrospect(
  requester: ClientRecord,
  tokenClientId: string,
  aud: string | string[] | undefined,
): boolean {
  if (requester.id === tokenClientId) return true;
  const allowed = requester.introspectAudiences;
  if (allowed === undefined || allowed.length === 0) return false;
  const audiences = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud;
  return audiences.some((a) => allowed.includes(a));
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * Denied by a revocation entry that covers every token issued until then: its client deleted, or its
 * subject (a user) disabled or deleted since (`tessera users disable|delete` add a `sub` entry).
 */
async function deniedWholesale(
  ctx: ServerContext,
  clientId: string,
  sub: string | undefined,
  iat: number | undefined,
): Promise<boolean> {
  const now = ctx.clock();
  for (const [kind, value] of [
    ['client', clientId],
    ['sub', sub],
  ] as const) {
    if (value === undefined) continue;
    const entry = await ctx.store.getRevocation(kind, value, now);
    if (entry && deniedByClientRevocation(entry, iat)) return true;
  }
  return false;
}

/**
 * One of our JWT access tokens that is still good: verified (signature, `typ: at+jwt`, `iss`, expiry), its
 * jti not revoked, its client not deleted and its user not disabled or deleted since it was issued. Shared
 * by introspection, userinfo and token exchange.
 *
 * @example
 * const claims = await verifyLiveAccessToken(ctx, token);
 */
export async function verifyLiveAccessToken(
  ctx: ServerContext,
  token: string,
): Promise<AccessTokenClaims | undefined> {
  const claims = await verifyOwnAccessToken(ctx, token);
  if (!claims) return undefined;
  // A deleted client's or disabled user's JWTs are not recorded one by one: one entry denies them all.
  if (await deniedWholesale(ctx, claims.client_id, claims.sub, claims.iat)) return undefined;
  return claims;
}

/** A stored opaque token denied since: by its jti, or wholesale (client deleted, user disabled). */
async function opaqueRevoked(ctx: ServerContext, record: OpaqueTokenRecord): Promise<boolean> {
  if (await ctx.store.isRevoked('jti', record.jti, ctx.clock())) return true;
  return deniedWholesale(ctx, record.clientId, record.sub, Math.floor(record.issuedAt / 1000));
}

/**
 * A live opaque access token: stored, unexpired, its jti not revoked (a replayed authorization code revokes
 * what it issued by jti, RFC 6749 §4.1.2) and its user not disabled or deleted since. Shared by
 * introspection, userinfo and token exchange.
 */
export async function findLiveOpaqueToken(
  ctx: ServerContext,
  token: string,
): Promise<OpaqueTokenRecord | undefined> {
  const record = await findOpaqueToken(ctx, token);
  if (!record) return undefined;
  return (await opaqueRevoked(ctx, record)) ? undefined : record;
}

async function introspectJWT(
  ctx: ServerContext,
  requester: ClientRecord,
  token: string,
): Promise<IntrospectionResponse> {
  const claims = await verifyLiveAccessToken(ctx, token);
  if (!claims || !mayIntrospect(requester, claims.client_id, claims.aud)) return INACTIVE;
  // `active` first for readers; set again after the claims so no claim named `active` can change it.
  const active = isBound(claims) ? ACTIVE_DPOP : ACTIVE_BEARER;
  return Object.assign({ active: true }, claims, active) as IntrospectionResponse;
}

async function introspectOpaque(
  ctx: ServerContext,
  requester: ClientRecord,
  token: string,
): Promise<IntrospectionResponse | undefined> {
  const record = await findOpaqueToken(ctx, token);
  if (!record) return undefined;
  if (await opaqueRevoked(ctx, record)) return INACTIVE;
  if (!mayIntrospect(requester, record.clientId, record.audience)) return INACTIVE;
  const registered = {
    active: true,
    token_type: 'Bearer',
    client_id: record.clientId,
    sub: record.sub,
    aud: record.audience.length === 1 ? record.audience[0] : record.audience,
    iss: oauthSettings(ctx).issuer,
    exp: seconds(record.expiresAt),
    iat: seconds(record.issuedAt),
    jti: record.jti,
  } as ActiveIntrospection;
  // Most tokens carry no custom claims ('{}' as stored): then the registered members are the whole answer.
  let body = registered;
  if (record.claims !== '{}') {
    let custom: Record<string, unknown> = {};
    try {
      custom = JSON.parse(record.claims) as Record<string, unknown>;
    } catch {
      // stored by us; an unreadable value only loses the custom claims
    }
    // `active` first for readers; the registered members last, so no custom claim can change them.
    body = Object.assign({ active: true }, custom, registered);
    if (isBound(custom)) body.token_type = 'DPoP';
  }
  if (record.scope.length > 0) body.scope = record.scope.join(' ');
  return body;
}

async function introspectRefresh(
  ctx: ServerContext,
  requester: ClientRecord,
  token: string,
): Promise<IntrospectionResponse | undefined> {
  const found = await findRefreshToken(ctx, token);
  if (!found) return undefined;
  const { family, token: record, active } = found;
  if (!active || family.clientId !== requester.id) return INACTIVE;
  const body: IntrospectionResponse = {
    active: true,
    client_id: family.clientId,
    sub: family.sub,
    iss: oauthSettings(ctx).issuer,
    exp: seconds(record.expiresAt),
    iat: seconds(record.createdAt),
    token_type: 'refresh_token',
  };
  if (family.scope.length > 0) body.scope = family.scope.join(' ');
  return body;
}

/**
 * RFC 7662 token introspection for JWT and opaque access tokens and refresh tokens. The hint
 * (`token_type_hint`) is not needed: JWTs are recognised by shape, and opaque access and refresh tokens
 * are found by hash in their stores.
 *
 * @example
 * const body = await introspectToken(ctx, client, form); // { active: true, sub: … } or { active: false }
 */
export async function introspectToken(
  ctx: ServerContext,
  requester: ClientRecord,
  form: FormParams,
): Promise<IntrospectionResponse> {
  // RFC 7662 §2.1 protects the endpoint with client authentication; a public client has none to offer.
  if (requester.authMethod === 'none') throw unauthorizedClient('public clients cannot introspect tokens');
  const token = form.require('token');
  let body: IntrospectionResponse;
  let format = 'jwt';
  if (looksLikeJWT(token)) {
    body = await introspectJWT(ctx, requester, token);
  } else {
    const refreshFirst = form.get('token_type_hint') === 'refresh_token';
    const lookups = refreshFirst
      ? [introspectRefresh, introspectOpaque]
      : [introspectOpaque, introspectRefresh];
    const [first, second] = lookups as [typeof introspectOpaque, typeof introspectOpaque];
    const found = (await first(ctx, requester, token)) ?? (await second(ctx, requester, token));
    body = found ?? INACTIVE;
    format = body.active ? (body.token_type === 'refresh_token' ? 'refresh' : 'opaque') : 'opaque';
  }
  recordIntrospection(ctx, body.active, format);
  return body;
}
