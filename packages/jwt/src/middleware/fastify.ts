import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  onRequestHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import {
  authorizationOf,
  bodyText,
  checkScopeList,
  checkScopes,
  createAuthStep,
  type AuthOutcome,
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
export function createFastifyAuthHook(options: AuthOptions): onRequestHookHandler {
  const step = createAuthStep(options);
  async function settle(
    request: FastifyRequest,
    reply: FastifyReply,
    pending: AuthOutcome | Promise<AuthOutcome>,
  ) {
    const outcome = await pending;
    if (!outcome.ok) {
      await send(reply, outcome.failure);
      return;
    }
    request.auth = outcome.auth;
  }
  // Not an async function: on a cache hit it calls done() in the same tick (Fastify then continues
  // synchronously); otherwise it returns a promise, which Fastify awaits instead of done.
  return function tesseraAuth(
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): Promise<void> | undefined {
    const outcome = step(authorizationOf(request.headers.authorization, request.raw.rawHeaders));
    if (outcome instanceof Promise || !outcome.ok) return settle(request, reply, outcome);
    request.auth = outcome.auth;
    done();
    return undefined;
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
