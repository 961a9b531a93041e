import { createVerifier, TesseraError } from '@tessera/jwt';
import type { Alg, JWTPayload, KeySource, Verifier } from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import type { ClientRecord } from '../store/types.js';
import type { FormParams } from '../oauth/form.js';
import { oauthSettings } from '../oauth/settings.js';
import { UnredirectableError } from './authorize-request.js';

const OWN_ALGORITHMS: Alg[] = ['ES256', 'RS256', 'PS256', 'EdDSA'];
/**
 * RP-Initiated Logout 1.0 §2: an expired id_token_hint is still a hint (users log out long after their ID
 * token expired). Accepted for this long after expiry; older hints are refused.
 */
const HINT_GRACE_SECONDS = 30 * 24 * 3600;
const MAX_STATE = 512;

/** A validated logout request. */
export interface LogoutRequest {
  client: ClientRecord | undefined;
  postLogoutRedirectUri: string | undefined;
  state: string | undefined;
  /** The parameters to carry through the confirmation form. */
  fields: Record<string, string>;
}

const verifiers = new WeakMap<KeySource, { issuer: string; verifier: Verifier }>();

function hintVerifier(ctx: ServerContext): Verifier {
  const keys = ctx.keys.keySource();
  const { issuer } = oauthSettings(ctx);
  const cached = verifiers.get(keys);
  if (cached && cached.issuer === issuer) return cached.verifier;
  const verifier = createVerifier({
    algorithms: OWN_ALGORITHMS,
    issuer,
    audience: null,
    keys,
    // Our ID tokens are typed `JWT`: an access token is no ID token hint.
    typ: 'JWT',
    requiredClaims: ['sub', 'aud'],
    clockTolerance: HINT_GRACE_SECONDS,
    clock: ctx.clock,
  });
  verifiers.set(keys, { issuer, verifier });
  return verifier;
}

const refuse = (message: string) => new UnredirectableError(400, 'invalid_request', message);

/** The client an ID token was issued to: `azp`, else its single `aud`. */
function hintClientId(payload: JWTPayload): string | undefined {
  if (typeof payload.azp === 'string') return payload.azp;
  if (typeof payload.aud === 'string') return payload.aud;
  return Array.isArray(payload.aud) && payload.aud.length === 1 ? payload.aud[0] : undefined;
}

/**
 * Validate an RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0 §2, §3): the
 * id_token_hint must be one of our ID tokens; client_id must agree with it; a post_logout_redirect_uri is
 * honoured only for an identified client and only when it exactly matches one the client registered
 * (otherwise the error page: no open redirector). Errors are UnredirectableError.
 *
 * @example
 * const logout = await validateLogoutRequest(ctx, params);
 */
export async function validateLogoutRequest(ctx: ServerContext, params: FormParams): Promise<LogoutRequest> {
  const fields: Record<string, string> = {};
  let hintClient: string | undefined;
  const hint = params.get('id_token_hint');
  if (hint !== undefined) {
    try {
      hintClient = hintClientId((await hintVerifier(ctx).verify(hint)).payload);
    } catch (err) {
      if (!(err instanceof TesseraError)) throw err;
      throw refuse('the id_token_hint is not a valid ID token from this server');
    }
    fields.id_token_hint = hint;
  }
  const clientIdParam = params.get('client_id');
  if (clientIdParam !== undefined && hintClient !== undefined && clientIdParam !== hintClient)
    throw refuse('client_id does not match the id_token_hint');
  const clientId = clientIdParam ?? hintClient;
  let client: ClientRecord | undefined;
  if (clientId !== undefined && clientId.length <= 256) client = await ctx.store.getClient(clientId);
  if (clientIdParam !== undefined) {
    if (client === undefined) throw refuse('unknown client');
    fields.client_id = clientIdParam;
  }

  const postLogoutRedirectUri = params.get('post_logout_redirect_uri');
  if (postLogoutRedirectUri !== undefined) {
    if (client === undefined)
      throw refuse('post_logout_redirect_uri needs the client to be identified (client_id or id_token_hint)');
    if (!(client.postLogoutRedirectUris ?? []).includes(postLogoutRedirectUri))
      throw refuse('the post_logout_redirect_uri is not registered for this client');
    fields.post_logout_redirect_uri = postLogoutRedirectUri;
  }
  const state = params.get('state');
  if (state !== undefined) {
    if (state.length > MAX_STATE) throw refuse('state is too long');
    fields.state = state;
  }
  return { client, postLogoutRedirectUri, state, fields };
}
