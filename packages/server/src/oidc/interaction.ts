/**
 * The decision at the heart of the authorization endpoint, and the contract the sign-in and consent pages
 * use to hand a waiting request back (loadInteraction, continueAuthorization, denyAuthorization).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import type { OAuthError } from '../server/errors.js';
import { accessDenied, consentRequired, loginRequired } from '../server/errors.js';
import type { ClientRecord } from '../store/types.js';
import { readSession, type ActiveSession } from '../sessions/session.js';
import { sendErrorPage } from '../pages/index.js';
import { hashToken, randomToken } from '../oauth/crypto.js';
import { oauthSettings } from '../oauth/settings.js';
import { parseStoredRequest, type AuthorizationRequest } from './authorize-request.js';
import { issueAuthorizationCode } from './codes.js';
import { withQuery } from './redirect-uri.js';

/** What the pages may show about a waiting authorization request. */
export interface InteractionView {
  /** The interaction id (the `interaction` query parameter of /signin and /consent). */
  id: string;
  clientId: string;
  /** Scopes the client asks for (the consent page lists them). */
  scope: string[];
  /** `login_hint`, to pre-fill the email field. */
  loginHint: string | undefined;
  /** The validated redirect URI the request will answer to (the pages' CSP `form-action` names it). */
  redirectUri: string;
}

/** A waiting request lives this long (time to type a password, not to leave a tab open for a day). */
const INTERACTION_TTL_MS = 10 * 60_000;

/** The pending record's data. */
interface InteractionData {
  request: AuthorizationRequest;
  /** Where the request waits: the sign-in page or the consent page. */
  stage: 'login' | 'consent';
  /** The user the request is for, once known (set when it goes to the consent page). */
  userId?: string;
  /** The session created by a sign-in for this request: prompt=login and max_age are satisfied by it. */
  signedInSession?: string;
}

function readData(data: string): InteractionData | undefined {
  try {
    const parsed = JSON.parse(data) as Partial<InteractionData>;
    const request = parseStoredRequest(parsed.request);
    if (request === undefined || (parsed.stage !== 'login' && parsed.stage !== 'consent')) return undefined;
    return { ...parsed, request } as InteractionData;
  } catch {
    return undefined;
  }
}

/** 302 back to the client with the response parameters, `state` when sent and `iss` (RFC 9207). */
export function redirectToClient(
  ctx: ServerContext,
  reply: FastifyReply,
  target: { redirectUri: string; state?: string | undefined },
  params: Record<string, string>,
): FastifyReply {
  const location = withQuery(target.redirectUri, {
    ...params,
    state: target.state,
    iss: oauthSettings(ctx).issuer,
  });
  return reply.code(302).header('location', location).header('cache-control', 'no-store').send();
}

/** RFC 6749 §4.1.2.1: an error sent back to a validated redirect URI, counted by its code. */
export function redirectError(
  ctx: ServerContext,
  reply: FastifyReply,
  target: { redirectUri: string; state?: string | undefined },
  error: OAuthError,
): FastifyReply {
  ctx.metrics.authorizations.inc({ result: error.error });
  return redirectToClient(ctx, reply, target, { error: error.error, error_description: error.message });
}

/** The page shown when an interaction is unknown, expired, used, or belongs to another account. */
function sendInteractionGone(reply: FastifyReply, message?: string): FastifyReply {
  return sendErrorPage(reply, 400, {
    title: 'This sign-in request has expired',
    message:
      message ?? 'The request expired or was already completed. Go back to the application and start again.',
  });
}

async function saveInteraction(ctx: ServerContext, id: string, data: InteractionData): Promise<void> {
  const now = ctx.clock();
  await ctx.store.insertPending({
    hash: hashToken(id),
    kind: 'interaction',
    owner: data.request.clientId,
    data: JSON.stringify(data),
    createdAt: now,
    expiresAt: now + INTERACTION_TTL_MS,
  });
}

function consentCovers(granted: readonly string[] | undefined, requested: readonly string[]): boolean {
  return granted !== undefined && requested.every((s) => granted.includes(s));
}

interface DecideOptions {
  /** The user just authenticated for this request (prompt=login / max_age satisfied). */
  signedIn?: boolean;
  /** The user just allowed the request on the consent page. */
  consented?: boolean;
  /** Continue an existing interaction under the same id. */
  interactionId?: string;
  /** A session created earlier in this interaction. */
  signedInSession?: string;
}

/**
 * Decide what happens to a validated request given the browser's session: sign-in page, consent page,
 * an error back to the client (`prompt=none`), or a code (OIDC Core §3.1.2.3 to §3.1.2.5).
 *
 * @example
 * return decideAuthorization(ctx, reply, client, request, await readSession(ctx, httpRequest), {});
 */
export async function decideAuthorization(
  ctx: ServerContext,
  reply: FastifyReply,
  client: ClientRecord,
  request: AuthorizationRequest,
  active: ActiveSession | undefined,
  options: DecideOptions,
): Promise<FastifyReply> {
  const now = ctx.clock();
  const signedInHere =
    options.signedIn === true || (active !== undefined && options.signedInSession === active.session.id);
  const tooOld =
    active !== undefined &&
    request.maxAge !== undefined &&
    // OIDC Core §3.1.2.1: older than max_age → re-authenticate; max_age=0 therefore always does.
    now - active.session.authTime >= request.maxAge * 1000;
  const needLogin = active === undefined || (!signedInHere && (request.prompt.includes('login') || tooOld));
  if (needLogin) {
    if (request.prompt.includes('none'))
      return redirectError(ctx, reply, request, loginRequired('the user is not signed in'));
    const id = options.interactionId ?? randomToken(32);
    await saveInteraction(ctx, id, { request, stage: 'login' });
    ctx.metrics.authorizations.inc({ result: 'login' });
    return reply
      .code(302)
      .header('location', `/signin?interaction=${encodeURIComponent(id)}`)
      .header('cache-control', 'no-store')
      .send();
  }

  const consented = options.consented === true;
  if (!client.firstParty && !consented) {
    const remembered = await ctx.store.getConsent(active.user.id, client.id);
    if (request.prompt.includes('consent') || !consentCovers(remembered?.scope, request.scope)) {
      if (request.prompt.includes('none'))
        return redirectError(
          ctx,
          reply,
          request,
          consentRequired('the user has not consented to this client'),
        );
      const id = options.interactionId ?? randomToken(32);
      const data: InteractionData = { request, stage: 'consent', userId: active.user.id };
      if (signedInHere) data.signedInSession = active.session.id;
      await saveInteraction(ctx, id, data);
      ctx.metrics.authorizations.inc({ result: 'consent' });
      return reply
        .code(302)
        .header('location', `/consent?interaction=${encodeURIComponent(id)}`)
        .header('cache-control', 'no-store')
        .send();
    }
  }
  if (consented) await ctx.store.grantConsent(active.user.id, client.id, request.scope, now);

  const code = await issueAuthorizationCode(ctx, request, active);
  ctx.metrics.authorizations.inc({ result: 'code' });
  return redirectToClient(ctx, reply, request, { code });
}

/** The waiting request `id`, or undefined when it is unknown or expired. */
export async function loadInteraction(ctx: ServerContext, id: string): Promise<InteractionView | undefined> {
  if (id.length === 0 || id.length > 128) return undefined;
  const record = await ctx.store.getPending('interaction', hashToken(id), ctx.clock());
  const data = record && readData(record.data);
  if (data === undefined) return undefined;
  return {
    id,
    clientId: data.request.clientId,
    scope: data.request.scope,
    loginHint: data.request.loginHint,
    redirectUri: data.request.redirectUri,
  };
}

/** Take (single use) a waiting request; undefined when unknown, expired or already taken. */
async function takeInteraction(ctx: ServerContext, id: string): Promise<InteractionData | undefined> {
  if (id.length === 0 || id.length > 128) return undefined;
  const record = await ctx.store.takePending('interaction', hashToken(id), ctx.clock());
  return record && readData(record.data);
}

/**
 * Carry on with the waiting request `id` for this session: to the consent page, or back to the client
 * with a code. `progress.signedIn` means the user just authenticated (so `prompt=login` / `max_age` are
 * satisfied); `progress.consented` means they just allowed it on the consent page.
 */
export async function continueAuthorization(
  ctx: ServerContext,
  _request: FastifyRequest,
  reply: FastifyReply,
  id: string,
  active: ActiveSession,
  progress: { signedIn?: boolean; consented?: boolean },
): Promise<FastifyReply> {
  // Taken, not read: two racing posts of the same form cannot both issue a code.
  const data = await takeInteraction(ctx, id);
  if (data === undefined) return sendInteractionGone(reply);
  const signedIn = progress.signedIn === true;
  // A consent given on a page showing user A must not authorize user B, who signed in since in another tab.
  if (data.userId !== undefined && data.userId !== active.user.id && !signedIn)
    return sendInteractionGone(
      reply,
      'You signed in as someone else meanwhile. Go back to the application and start again.',
    );
  const client = await ctx.store.getClient(data.request.clientId);
  if (client === undefined || !client.grants.includes('authorization_code'))
    return sendInteractionGone(reply, 'The application is no longer registered.');
  const options: DecideOptions = {
    signedIn,
    // Only a request waiting at the consent page can be consented to.
    consented: progress.consented === true && data.stage === 'consent' && data.userId === active.user.id,
    interactionId: id,
  };
  if (data.signedInSession !== undefined) options.signedInSession = data.signedInSession;
  return decideAuthorization(ctx, reply, client, data.request, active, options);
}

/** The user denied on the consent page (or cancelled sign-in): back to the client with `access_denied`. */
export async function denyAuthorization(
  ctx: ServerContext,
  _request: FastifyRequest,
  reply: FastifyReply,
  id: string,
): Promise<FastifyReply> {
  const data = await takeInteraction(ctx, id);
  if (data === undefined) return sendInteractionGone(reply);
  return redirectError(ctx, reply, data.request, accessDenied('the user denied the request'));
}

/** The authorization request of a fresh browser visit: decide with the browser's current session. */
export async function authorizeWithBrowserSession(
  ctx: ServerContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  client: ClientRecord,
  request: AuthorizationRequest,
): Promise<FastifyReply> {
  return decideAuthorization(ctx, reply, client, request, await readSession(ctx, httpRequest), {});
}
