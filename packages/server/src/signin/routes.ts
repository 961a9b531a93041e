import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { acceptForms } from '../oauth/form.js';
import { answerWrongMethods } from '../server/routes/method-not-allowed.js';
import { pageStylesheet } from '../pages/index.js';
import { sendPageError } from './errors.js';
import { DEFAULT_FLOW, DEFAULT_LINKS, type InteractionFlow, type SetPasswordLinks } from './flow.js';
import { showSignIn, submitSignIn, submitSignOut } from './signin.js';
import { showConsent, submitConsent } from './consent.js';
import { showSetPassword, submitSetPassword } from './set-password.js';
import { finishUpstreamSignIn, startUpstreamSignIn } from '../federation/signin.js';
import { closeProviderRegistry } from '../federation/registry.js';
import { continueAfterUpstream } from '../federation/continue.js';

/** A sign-in form is well under 2 KiB; 16 KiB leaves room and no more. */
const FORM_BODY_LIMIT = 16 * 1024;

type QueryRequest = FastifyRequest<{ Querystring: Record<string, unknown> }>;
type ProviderRequest = FastifyRequest<{ Params: { id: string } }>;

export interface SignInRoutesOptions {
  ctx: ServerContext;
  /** The waiting-authorization contract (default: oidc/interaction.ts). */
  flow?: InteractionFlow;
  /** The set-password link contract (default: users/links.ts). */
  links?: SetPasswordLinks;
}

/**
 * Tessera's pages: `/signin`, `/signout`, `/consent`, `/account/set-password`, the upstream sign-ins
 * (`/signin/idp/{id}` and its callback) and the stylesheet. Form
 * bodies are parsed in this plugin's scope (repeated fields refused, like the OAuth endpoints), and every
 * failure renders a page.
 *
 * @example await app.register(signInRoutes, { ctx });
 */
export const signInRoutes: FastifyPluginAsync<SignInRoutesOptions> = async (app, options) => {
  const { ctx } = options;
  const flow = options.flow ?? DEFAULT_FLOW;
  const links = options.links ?? DEFAULT_LINKS;

  acceptForms(app, FORM_BODY_LIMIT);
  app.setErrorHandler((err, request, reply) => sendPageError(ctx, err, request, reply));

  // Long-cached: the URL changes with the content (pageStylesheet hashes it).
  const stylesheet = pageStylesheet();
  app.get(stylesheet.path, async (_request, reply) =>
    reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .type('text/css; charset=utf-8')
      .send(stylesheet.body),
  );

  app.get('/signin', async (request: QueryRequest, reply) => showSignIn(ctx, flow, request, reply));
  app.post('/signin', async (request, reply) => submitSignIn(ctx, flow, request, reply));
  app.post('/signout', async (request, reply) => submitSignOut(ctx, request, reply));
  app.get('/consent', async (request: QueryRequest, reply) => showConsent(ctx, flow, request, reply));
  app.post('/consent', async (request, reply) => submitConsent(ctx, flow, request, reply));
  app.get('/account/set-password', async (request: QueryRequest, reply) =>
    showSetPassword(ctx, links, request, reply),
  );
  app.post('/account/set-password', async (request, reply) => submitSetPassword(ctx, links, request, reply));
  // Federation: a provider button, and the upstream's answer.
  app.post('/signin/idp/:id', async (request: ProviderRequest, reply) =>
    startUpstreamSignIn(ctx, flow, request, reply),
  );
  app.get('/signin/idp/:id/callback', async (request: ProviderRequest, reply) =>
    finishUpstreamSignIn(ctx, request, reply),
  );
  app.get('/signin/idp/continue', async (request: QueryRequest, reply) =>
    continueAfterUpstream(ctx, flow, request, reply),
  );
  app.addHook('onClose', async () => closeProviderRegistry(ctx));

  for (const path of ['/signin', '/consent', '/account/set-password'])
    answerWrongMethods(app, path, ['GET', 'POST']);
  answerWrongMethods(app, '/signout', ['POST']);
  answerWrongMethods(app, '/signin/idp/:id', ['POST']);
  answerWrongMethods(app, '/signin/idp/:id/callback', ['GET']);
  answerWrongMethods(app, '/signin/idp/continue', ['GET']);
  answerWrongMethods(app, stylesheet.path, ['GET']);
};
