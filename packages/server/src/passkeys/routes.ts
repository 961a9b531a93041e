import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { acceptForms } from '../oauth/form.js';
import { answerWrongMethods } from '../server/routes/method-not-allowed.js';
import { sendPageError } from '../signin/errors.js';
import { DEFAULT_FLOW, type InteractionFlow } from '../signin/flow.js';
import { addPasskey, getAccount, removePasskey } from './account.js';
import { passkeyScripts } from './assets.js';
import { showEnrol, submitEnrol } from './enrol.js';
import { answerOptions } from './options.js';
import { MAX_RESPONSE } from './response.js';
import { submitPasskeySignIn } from './signin.js';
import { requestReauth } from '../reauth/request.js';

/** A passkey form holds the response (at most MAX_RESPONSE), a name and tokens; the rest is slack. */
const FORM_BODY_LIMIT = MAX_RESPONSE + 4 * 1024;
/** The options request is `{ purpose, csrf, token }`. */
const OPTIONS_BODY_LIMIT = 2 * 1024;

type QueryRequest = FastifyRequest<{ Querystring: Record<string, unknown> }>;

export interface PasskeyRoutesOptions {
  ctx: ServerContext;
  /** The waiting-authorization contract (default: oidc/interaction.ts), as for the sign-in pages. */
  flow?: InteractionFlow;
}

/**
 * Passkeys: `POST /passkeys/options` (JSON, for the page script), `POST /signin/passkey`, the account page
 * `/account` with `POST /account/passkeys`, `/account/passkeys/remove` and `/account/reauth` (sign in
 * again), the enrolment link's page
 * `/account/passkey`, and the two scripts at hashed, long-cached URLs.
 *
 * @example await app.register(passkeyRoutes, { ctx });
 */
export const passkeyRoutes: FastifyPluginAsync<PasskeyRoutesOptions> = async (app, options) => {
  const { ctx } = options;
  const flow = options.flow ?? DEFAULT_FLOW;

  acceptForms(app, FORM_BODY_LIMIT);
  app.setErrorHandler((err, request, reply) => sendPageError(ctx, err, request, reply));

  for (const script of passkeyScripts()) {
    app.get(script.path, async (_request, reply) =>
      reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('x-content-type-options', 'nosniff')
        .type('text/javascript; charset=utf-8')
        .send(script.body),
    );
    answerWrongMethods(app, script.path, ['GET']);
  }

  app.post('/passkeys/options', { bodyLimit: OPTIONS_BODY_LIMIT }, async (request, reply) =>
    answerOptions(ctx, request, reply),
  );
  app.post('/signin/passkey', async (request, reply) => submitPasskeySignIn(ctx, flow, request, reply));
  app.get('/account', async (request: QueryRequest, reply) => getAccount(ctx, request, reply));
  app.post('/account/passkeys', async (request, reply) => addPasskey(ctx, request, reply));
  app.post('/account/passkeys/remove', async (request, reply) => removePasskey(ctx, request, reply));
  app.post('/account/reauth', async (request, reply) => requestReauth(ctx, request, reply));
  app.get('/account/passkey', async (request: QueryRequest, reply) => showEnrol(ctx, request, reply));
  app.post('/account/passkey', async (request, reply) => submitEnrol(ctx, request, reply));

  answerWrongMethods(app, '/account', ['GET']);
  answerWrongMethods(app, '/account/passkey', ['GET', 'POST']);
  for (const path of [
    '/passkeys/options',
    '/signin/passkey',
    '/account/passkeys',
    '/account/passkeys/remove',
    '/account/reauth',
  ])
    answerWrongMethods(app, path, ['POST']);
};
