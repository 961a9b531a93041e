import type { ServerContext } from '../server/context.js';
import { invalidGrant, invalidTarget } from '../server/errors.js';
import type { ClientRecord } from '../store/types.js';
import { issueAccessToken } from '../oauth/access-token.js';
import type { FormParams } from '../oauth/form.js';
import type { GrantRequest, TokenResponse } from '../oauth/grants/types.js';
import { tokenResponse } from '../oauth/grants/types.js';
import { resolveAudience } from '../oauth/resource.js';
import { oauthSettings } from '../oauth/settings.js';
import { buildActorClaim, checkMayAct } from './actors.js';
import { carriedAuthentication, carriedClaims, exchangeScope } from './narrow.js';
import { readExchangeRequest } from './request.js';
import { meantForClient, resolveSubjectToken } from './subject.js';

/**
 * RFC 8693 §2.1 `actor_token`: the party acting is always the authenticated client, so an actor token may
 * only name that client (its own client_credentials token, live); one naming anybody else would let a
 * caller claim another service acted, and is `invalid_grant`.
 */
async function checkActorToken(
  ctx: ServerContext,
  client: ClientRecord,
  token: string | undefined,
  tokenType: string | undefined,
): Promise<void> {
  if (token === undefined || tokenType === undefined) return;
  let actor;
  try {
    actor = await resolveSubjectToken(ctx, client, token, tokenType);
  } catch {
    throw invalidGrant('the actor token is invalid, expired or revoked');
  }
  if (actor.kind === 'foreign' || actor.sub !== client.id || actor.clientId !== client.id)
    throw invalidGrant('the actor token must be a token of the exchanging client itself');
}

/**
 * Answer a token exchange request (RFC 8693) for an authenticated confidential client, step by step:
 * read the parameters; resolve the target audience from the client's exchange audiences (`invalid_target`
 * otherwise); verify the subject token (own JWT or opaque, or a trusted issuer's JWT; live, not revoked)
 * and that it was meant for this client; honour `may_act`; check an actor token; build the `act` chain
 * within the depth limit; narrow the scope; carry over allowed custom claims; issue a token for the
 * subject's `sub` that never outlives the subject token, bound to the caller's DPoP key when it sent a
 * proof; audit the exchange with its chain.
 *
 * @example
 * const body = await exchangeToken(ctx, client, form, { dpop: { jkt } });
 */
export async function exchangeToken(
  ctx: ServerContext,
  client: ClientRecord,
  form: FormParams,
  request: GrantRequest,
): Promise<TokenResponse> {
  const params = readExchangeRequest(form, client);
  const allowed = client.exchangeAudiences ?? [];
  if (allowed.length === 0) throw invalidTarget('the client has no exchange audiences');
  const audience = resolveAudience(ctx, client, form, allowed);
  const subject = await resolveSubjectToken(ctx, client, params.subjectToken, params.subjectTokenType);
  // Token theft between services: B must not exchange a token A received (docs/token-exchange.md).
  if (!meantForClient(subject, client))
    throw invalidGrant('the subject token was not issued to or for this client');
  const { issuer, maxActorDepth } = oauthSettings(ctx);
  checkMayAct(subject, client, issuer);
  await checkActorToken(ctx, client, params.actorToken, params.actorTokenType);
  const { act, chain } = buildActorClaim(subject, client, maxActorDepth);
  const scope = exchangeScope(subject, client, form.get('scope'));
  const issued = await issueAccessToken(ctx, {
    client,
    sub: subject.sub,
    scope,
    audience,
    claims: carriedClaims(subject, client),
    authentication: carriedAuthentication(subject),
    act,
    // Never outlives the token it was exchanged for: revoking access by letting the subject expire still works.
    notAfter: subject.exp,
    // RFC 9449 §5: a DPoP proof on the exchange binds the new token to the caller's key.
    cnf: request.dpop,
  });
  await ctx.audit('token.exchanged', {
    clientId: client.id,
    sub: subject.sub,
    audience,
    scope: scope.join(' '),
    actors: chain,
    subjectKind: subject.kind,
    subjectIssuer: subject.issuer,
    subjectJti: subject.jti ?? null,
    jti: issued.jti,
    bound: issued.cnf !== undefined,
  });
  // RFC 8693 §2.2.1: issued_token_type is required in a token exchange response.
  return { ...tokenResponse(issued, scope), issued_token_type: params.issuedTokenType };
}
