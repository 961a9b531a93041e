/**
 * The browser's trip through an upstream identity provider: `POST /signin/idp/{id}` (a provider button)
 * starts it, `GET /signin/idp/{id}/callback` finishes it, and `signInProviders` lists the buttons.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import type { IdentityProviderRecord } from '../store/types.js';
import type { PendingSignIn } from '../relying-party/index.js';
import { RelyingPartyError } from '../relying-party/index.js';
import { hashToken, randomToken } from '../oauth/crypto.js';
import { readCookie, writeCookie } from '../sessions/cookies.js';
import { verifyCsrf } from '../sessions/csrf.js';
import { startSession } from '../sessions/session.js';
import { sendErrorPage, sendLinkNeededPage, type ProviderButton } from '../pages/index.js';
import { EXPIRED_SIGNIN, formOf } from '../signin/errors.js';
import type { InteractionFlow } from '../signin/flow.js';
import { waitingRequest } from '../signin/signin.js';
import { isProviderId } from './provider-id.js';
import { providerRegistry } from './registry.js';
import { resolveUpstreamUser } from './linking.js';
import { upstreamAmr } from './amr.js';
import { sendContinue } from './continue.js';
import {
  pendingReauth,
  reauthSignInUrl,
  redirectAfterSignIn,
  type ReauthPurpose,
} from '../reauth/return-path.js';

/** Binds a sign-in sent upstream to this browser: a callback in another browser finds no match. */
export const SIGNIN_COOKIE = 'tessera_idp';
/** Time to sign in at the upstream. */
const SIGNIN_TTL_MS = 10 * 60_000;

interface PendingData {
  providerId: string;
  /** SHA-256 of this browser's SIGNIN_COOKIE value. */
  browser: string;
  interaction?: string;
  /** A sign-in asked for again (reauth/return-path.ts): the upstream was asked to authenticate anew. */
  reauth?: ReauthPurpose;
  pending: PendingSignIn;
}

const UNAVAILABLE = {
  title: 'Sign-in is unavailable',
  message: 'This sign-in option is not available right now. Go back and sign in another way.',
};
const FAILED = (name: string) => ({
  title: 'Sign-in failed',
  message: `Signing in with ${name} did not succeed. Go back to the application and try again.`,
});
const NOT_FRESH = (name: string) => ({
  title: 'Sign in again',
  message: `${name} did not ask you to sign in again, so it cannot confirm it is you. Go back and sign in with your password or a passkey.`,
});
const NOT_ALLOWED = (name: string) => ({
  title: 'This account cannot sign in here',
  message: `Your ${name} account is not allowed to sign in to this service. Ask your administrator for access.`,
});

/**
 * The sign-in page's provider buttons and the origins their answers redirect to (its CSP `form-action`).
 *
 * @example const { providers, providerTargets } = await signInProviders(ctx);
 */
export async function signInProviders(
  ctx: ServerContext,
): Promise<{ providers: ProviderButton[]; providerTargets: string[] }> {
  const records = await ctx.store.listIdentityProviders();
  const registry = providerRegistry(ctx);
  const targets = await Promise.all(
    records.map(async (p) => (await registry.authorizationEndpoint(p)) ?? p.issuer),
  );
  return { providers: records.map((p) => ({ id: p.id, name: p.name })), providerTargets: targets };
}

async function providerOf(ctx: ServerContext, raw: unknown): Promise<IdentityProviderRecord | undefined> {
  return typeof raw === 'string' && isProviderId(raw) ? ctx.store.getIdentityProvider(raw) : undefined;
}

/**
 * `POST /signin/idp/{id}`: CSRF, the waiting request, then 303 to the upstream with state, nonce and PKCE.
 *
 * @example app.post('/signin/idp/:id', (request, reply) => startUpstreamSignIn(ctx, flow, request, reply));
 */
export async function startUpstreamSignIn(
  ctx: ServerContext,
  flow: InteractionFlow,
  request: FastifyRequest<{ Params: { id: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const form = formOf(request);
  verifyCsrf(ctx, request, form.get('csrf'), 'signin');
  const interaction = form.get('interaction');
  if (interaction !== undefined && (await waitingRequest(ctx, flow, interaction)) === undefined)
    return sendErrorPage(reply, 400, EXPIRED_SIGNIN);
  const provider = await providerOf(ctx, request.params.id);
  if (provider === undefined) return sendErrorPage(reply, 404, UNAVAILABLE);
  // Signing in again must not be one click on a live upstream session: ask the upstream to authenticate
  // anew (OIDC Core §3.1.2.1 `prompt=login`; `max_age=0` makes `auth_time` required in the ID token), and
  // check `auth_time` at the callback.
  const reauth = interaction === undefined ? pendingReauth(ctx, request) : undefined;
  let started;
  try {
    const rp = await providerRegistry(ctx).get(provider);
    started = reauth === undefined ? rp.start() : rp.start({ prompt: 'login', max_age: '0' });
  } catch (err) {
    if (!(err instanceof RelyingPartyError)) throw err;
    return refuse(ctx, request, reply, provider, err.code, 502, UNAVAILABLE);
  }
  let browser = readCookie(ctx, request, SIGNIN_COOKIE);
  if (browser === undefined || browser.length !== 43) browser = randomToken(32);
  // Refreshed on every start, so two tabs signing in at once share one binding.
  writeCookie(ctx, reply, SIGNIN_COOKIE, browser, SIGNIN_TTL_MS / 1000);
  const now = ctx.clock();
  const data: PendingData = {
    providerId: provider.id,
    browser: hashToken(browser),
    pending: started.pending,
    ...(interaction !== undefined && { interaction }),
    ...(reauth !== undefined && { reauth }),
  };
  // Keyed by the state, taken once at the callback (a replayed callback finds nothing).
  await ctx.store.insertPending({
    hash: hashToken(started.pending.state),
    kind: 'idp_signin',
    owner: provider.id,
    data: JSON.stringify(data),
    createdAt: now,
    expiresAt: now + SIGNIN_TTL_MS,
  });
  return reply.header('cache-control', 'no-store').redirect(started.url.href, 303);
}

/**
 * `GET /signin/idp/{id}/callback`: the pending sign-in (by `state`, single use, this browser only), the
 * relying party's checks (`iss`, code exchange with PKCE, ID token), then link or provision, a session with
 * `idp` and the upstream's `amr`, and the waiting authorization request continues (continue.ts).
 *
 * @example app.get('/signin/idp/:id/callback', (request, reply) => finishUpstreamSignIn(ctx, request, reply));
 */
export async function finishUpstreamSignIn(
  ctx: ServerContext,
  request: FastifyRequest<{ Params: { id: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const provider = await providerOf(ctx, request.params.id);
  if (provider === undefined) return sendErrorPage(reply, 404, UNAVAILABLE);
  const params = new URL(request.url, 'http://callback.invalid').searchParams;
  const states = params.getAll('state');
  const state = states.length === 1 && states[0]!.length <= 256 ? states[0]! : undefined;
  const record =
    state === undefined
      ? undefined
      : await ctx.store.takePending('idp_signin', hashToken(state), ctx.clock());
  if (record === undefined || record.owner !== provider.id)
    return refuse(ctx, request, reply, provider, 'pending_unknown', 400, EXPIRED_SIGNIN);
  const data = JSON.parse(record.data) as PendingData;
  const browser = readCookie(ctx, request, SIGNIN_COOKIE);
  // Login CSRF / code injection: the sign-in must come back to the browser that started it.
  if (browser === undefined || hashToken(browser) !== data.browser)
    return refuse(ctx, request, reply, provider, 'browser_mismatch', 400, EXPIRED_SIGNIN);

  let claims;
  try {
    claims = (await (await providerRegistry(ctx).get(provider)).finish(params, data.pending)).claims;
  } catch (err) {
    if (!(err instanceof RelyingPartyError)) throw err;
    request.log.warn({ idp: provider.id, code: err.code, reason: err.message }, 'upstream sign-in refused');
    return refuse(ctx, request, reply, provider, err.code, 400, FAILED(provider.name));
  }

  // OIDC Core §3.1.2.1: with max_age the upstream must say when the user authenticated; a sign-in asked for
  // again counts only if that was after we asked (within the clock tolerance), not an old upstream session.
  const authTime = claims.auth_time;
  if (
    data.reauth !== undefined &&
    (typeof authTime !== 'number' || authTime * 1000 < record.createdAt - ctx.config.clockTolerance * 1000)
  )
    return refuse(ctx, request, reply, provider, 'auth_time_stale', 400, NOT_FRESH(provider.name));

  const resolution = await resolveUpstreamUser(ctx, reply, provider, claims);
  if (resolution.kind === 'refused')
    return refuse(ctx, request, reply, provider, resolution.reason, 403, NOT_ALLOWED(provider.name));
  if (resolution.kind === 'link_pending') {
    ctx.metrics.federatedSignIns.inc({ idp: provider.id, result: 'link_pending' });
    const signInUrl =
      data.interaction !== undefined
        ? `/signin?interaction=${encodeURIComponent(data.interaction)}`
        : data.reauth !== undefined
          ? reauthSignInUrl(data.reauth)
          : '/signin';
    return sendLinkNeededPage(reply, { providerName: provider.name, email: resolution.email, signInUrl });
  }

  const { user } = resolution;
  const session = await startSession(ctx, request, reply, user, {
    amr: upstreamAmr(claims.amr),
    acr: '1',
    idp: provider.id,
  });
  ctx.metrics.signIns.inc({ result: 'success' });
  ctx.metrics.federatedSignIns.inc({ idp: provider.id, result: resolution.how });
  await ctx.audit('signin.success', { userId: user.id, sid: session.id, idp: provider.id, ip: request.ip });
  if (data.interaction !== undefined) return sendContinue(ctx, reply, data.interaction, session);
  return redirectAfterSignIn(ctx, request, reply);
}

/** Count, audit and render one refused upstream sign-in; the page never carries the upstream's own text. */
async function refuse(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  provider: IdentityProviderRecord,
  reason: string,
  status: number,
  page: { title: string; message: string },
): Promise<FastifyReply> {
  ctx.metrics.signIns.inc({ result: 'failure' });
  ctx.metrics.federatedSignIns.inc({ idp: provider.id, result: reason });
  await ctx.audit('signin.failure', { idp: provider.id, reason, ip: request.ip });
  return sendErrorPage(reply, status, page);
}
