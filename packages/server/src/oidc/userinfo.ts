import type { FastifyRequest } from 'fastify';
import { extractBearerToken } from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import { OAuthError } from '../server/errors.js';
import type { FormParams } from '../oauth/form.js';
import { looksLikeJWT } from '../oauth/own-tokens.js';
import { findLiveOpaqueToken, verifyLiveAccessToken } from '../oauth/introspect.js';
import { scopedUserClaims } from './id-token.js';
import {
  checkResourcePresentation,
  DpopChallengeError,
  extractDpopToken,
  type Presentation,
} from '../dpop/resource-request.js';
import { dpopEndpoints } from '../dpop/settings.js';

/**
 * An RFC 6750 §3 failure at the userinfo endpoint. `bare` (no token at all) answers 401 with a challenge
 * that carries no error attribute (§3.1) and no body.
 */
export class BearerError extends OAuthError {
  override readonly name = 'BearerError';
  readonly bare: boolean;
  constructor(status: number, error: OAuthError['error'], description: string, extra = '', bare = false) {
    const challenge = bare
      ? 'Bearer realm="tessera"'
      : `Bearer realm="tessera", error="${error}", error_description="${description}"${extra}`;
    super(status, error, description, { 'www-authenticate': challenge });
    this.bare = bare;
  }
}

const invalidToken = () =>
  new BearerError(401, 'invalid_token', 'the access token is invalid, expired or revoked');

/**
 * The access token of a userinfo request: the Authorization header (RFC 6750 §2.1, or the DPoP scheme of
 * RFC 9449 §7.1) or, on POST, the form body's `access_token` (§2.2); exactly one. Never the URL query
 * (§2.3 is optional, and URLs leak into logs and Referer headers, §5.3).
 */
function presentedToken(
  request: FastifyRequest,
  form: FormParams | undefined,
  queryHasToken: boolean,
): { token: string; presentation: Presentation } {
  if (queryHasToken)
    throw new BearerError(400, 'invalid_request', 'access tokens are not accepted in the URL query');
  const authorization = request.headers.authorization;
  const dpop = extractDpopToken(authorization);
  if (dpop !== undefined) {
    if (form?.get('access_token') !== undefined)
      throw new BearerError(400, 'invalid_request', 'more than one access token presented');
    return { token: dpop, presentation: 'DPoP' };
  }
  const header = extractBearerToken(authorization);
  if (header.status === 'malformed')
    throw new BearerError(400, 'invalid_request', 'malformed Authorization header');
  const body = form?.get('access_token');
  if (header.status === 'ok' && body !== undefined)
    throw new BearerError(400, 'invalid_request', 'more than one access token presented');
  if (header.status === 'ok') return { token: header.token, presentation: 'Bearer' };
  if (body !== undefined) return { token: body, presentation: 'body' };
  throw new BearerError(401, 'invalid_request', 'no access token', '', true);
}

interface TokenGrant {
  sub: string;
  scope: string[];
  /** The DPoP key the token is bound to (`cnf.jkt`, RFC 9449 §6), if any. */
  jkt: string | undefined;
}

function boundKey(claims: Record<string, unknown>): string | undefined {
  const cnf = claims['cnf'] as { jkt?: unknown } | null | undefined;
  return typeof cnf === 'object' && cnf !== null && typeof cnf.jkt === 'string' ? cnf.jkt : undefined;
}

function storedClaims(text: string): Record<string, unknown> {
  if (text === '{}') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The subject, scope and bound key of a live access token of ours (JWT `typ: at+jwt` or opaque), else
 * invalid_token.
 */
async function tokenGrant(ctx: ServerContext, token: string): Promise<TokenGrant> {
  if (token.length > 16384) throw invalidToken();
  if (looksLikeJWT(token)) {
    // `typ: at+jwt` is required (RFC 9068 §4): an ID token (`typ: JWT`) is not an access token.
    const claims = await verifyLiveAccessToken(ctx, token);
    if (claims === undefined || typeof claims.sub !== 'string') throw invalidToken();
    const scope = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    return { sub: claims.sub, scope, jkt: boundKey(claims) };
  }
  const record = await findLiveOpaqueToken(ctx, token);
  if (record === undefined) throw invalidToken();
  return { sub: record.sub, scope: record.scope, jkt: boundKey(storedClaims(record.claims)) };
}

/**
 * OIDC Core §5.3 userinfo: `sub` and only what the granted scopes allow. The token must carry `openid`
 * (else 403 insufficient_scope) and its user must still exist and be enabled. A DPoP-bound token must come
 * with a valid proof (RFC 9449 §7; `DPoP` challenges on failure).
 *
 * @example
 * const claims = await answerUserinfo(ctx, request, form, false); // { sub, name?, email?, email_verified? }
 */
export async function answerUserinfo(
  ctx: ServerContext,
  request: FastifyRequest,
  form: FormParams | undefined,
  queryHasToken: boolean,
): Promise<Record<string, unknown>> {
  const { token, presentation } = presentedToken(request, form, queryHasToken);
  let grant: TokenGrant;
  try {
    grant = await tokenGrant(ctx, token);
  } catch (err) {
    // RFC 9449 §7.1: a client that used the DPoP scheme is answered with a DPoP challenge.
    if (presentation === 'DPoP' && err instanceof BearerError)
      throw new DpopChallengeError(err.error, err.message);
    throw err;
  }
  const { sub, scope, jkt } = grant;
  // RFC 9449 §7: a bound token needs the DPoP scheme and a proof by its key, for this very request.
  await checkResourcePresentation(ctx, request, {
    token,
    presentation,
    boundJkt: jkt,
    url: dpopEndpoints(ctx).userinfo,
  });
  if (!scope.includes('openid'))
    throw new BearerError(
      403,
      'insufficient_scope',
      'the access token lacks the openid scope',
      ', scope="openid"',
    );
  const user = await ctx.store.getUser(sub);
  if (user === undefined || user.disabled) throw invalidToken();
  return { ...scopedUserClaims(user, scope), sub: user.id };
}
