import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import {
  bodyText,
  checkScopeList,
  checkScopes,
  createAuthenticator,
  type AuthFailure,
  type AuthInfo,
  type AuthOptions,
} from './shared.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the Tessera plugin once the bearer token verified. */
    auth: AuthInfo | null;
  }
}

function send(reply: FastifyReply, failure: AuthFailure): FastifyReply {
  reply.code(failure.status).headers(failure.headers);
  if (failure.body === undefined) return reply.send();
  return reply.type('application/json').send(bodyText(failure));
}

/**
 * The onRequest hook alone, for per-route use: `{ onRequest: createFastifyAuthHook({ verifier }) }`.
 *
 * @example app.get('/orders', { onRequest: createFastifyAuthHook({ verifier }) }, (req) => req.auth!.claims);
 */
export function createFastifyAuthHook(options: AuthOptions): onRequestAsyncHookHandler {
  const authenticate = createAuthenticator(options);
  return async function tesseraAuth(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const outcome = await authenticate(request.headers.authorization);
    if (!outcome.ok) {
      await send(reply, outcome.failure);
      return;
    }
    request.auth = outcome.auth;
  };
}

/**
 * A Fastify plugin that authenticates every route registered after it in the same context (it is not
 * encapsulated, like fastify-plugin's output; register it inside a child context to protect only that).
 * Claims land on `request.auth`.
 *
 * @example
 * await app.register(createFastifyAuth({ verifier }));
 * app.get('/orders', { preHandler: requireScopes('orders:read') }, (request) => request.auth!.claims);
 */
export function createFastifyAuth(options: AuthOptions): FastifyPluginAsync {
  const hook = createFastifyAuthHook(options);
  const plugin: FastifyPluginAsync = async function tesseraAuthPlugin(fastify) {
    if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
    fastify.addHook('onRequest', hook);
  };
  // Same markers fastify-plugin sets: apply to the registering context, and a readable name.
  Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'tessera-auth',
  });
  return plugin;
}

/**
 * A preHandler hook answering 403 insufficient_scope unless `request.auth` carries every scope.
 *
 * @example app.post('/orders', { preHandler: requireScopes('orders:write') }, handler);
 */
export function requireScopes(...scopes: string[]): preHandlerAsyncHookHandler {
  const required = checkScopeList(scopes);
  return async function checkRequiredScopes(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const failure = checkScopes(request.auth ?? undefined, required);
    if (failure) await send(reply, failure);
  };
}
