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
  createAuthSteps,
  nodeRequestReader,
  type AdapterAuthOptions,
  type AuthFailure,
  type AuthInfo,
  type StepOutcome,
} from './shared.js';
import { InvalidOptions } from '../errors.js';

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

/** Options of the Fastify hook: AuthOptions plus `getToken(request)` and `onError(failure, request, reply)`. */
export type FastifyAuthHookOptions = AdapterAuthOptions<FastifyRequest, FastifyReply>;

/** Options of the Fastify plugin: the hook's options plus `publicRoutes`. */
export interface FastifyAuthOptions extends FastifyAuthHookOptions {
  /**
   * URL patterns of routes the plugin leaves open, exactly as the route was declared with its prefix
   * (`routeOptions.url`, e.g. `'/health'`, `'/api/users/:id'`); every method of that pattern. Routes outside
   * the plugin's context are never touched, so this is only for routes inside it.
   */
  publicRoutes?: readonly string[];
}

/**
 * The onRequest hook alone, for per-route use: `{ onRequest: createFastifyAuthHook({ verifier }) }`. With
 * `onError`, the hook runs first; to answer yourself, `return reply.send(…)` from it (Fastify's convention
 * for async hooks: it then settles once the response has ended). If the reply has not been sent when it
 * settles, the default answer is. With `credentialsRequired: false`, a request
 * without credentials goes on with `request.auth` null.
 *
 * @example app.get('/orders', { onRequest: createFastifyAuthHook({ verifier }) }, (req) => req.auth!.claims);
 */
export function createFastifyAuthHook(options: FastifyAuthHookOptions): onRequestHookHandler {
  const { header, token } = createAuthSteps(options, nodeRequestReader);
  const { getToken, onError } = options;
  async function fail(request: FastifyRequest, reply: FastifyReply, failure: AuthFailure) {
    if (onError !== undefined) {
      // A returned reply is awaited like Fastify awaits one from an async hook: until the response has ended,
      // which is when reply.sent turns true.
      await onError(failure, request, reply);
      if (reply.sent) return;
    }
    await send(reply, failure);
  }
  async function settle(
    request: FastifyRequest,
    reply: FastifyReply,
    pending: StepOutcome | Promise<StepOutcome>,
  ) {
    const outcome = await pending;
    if (!outcome.ok) {
      await fail(request, reply, outcome.failure);
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
    const outcome =
      getToken === undefined
        ? header(authorizationOf(request.headers.authorization, request.raw.rawHeaders), request.raw)
        : token(getToken(request));
    if (outcome instanceof Promise || !outcome.ok) return settle(request, reply, outcome);
    request.auth = outcome.auth;
    done();
    return undefined;
  };
}

/**
 * A Fastify plugin that authenticates exactly the routes of its encapsulation context declared after it
 * has loaded: routes registered after `await app.register(…)` in the same context and every route of the
 * child contexts registered after it. Routes of the parent context, of sibling contexts, and routes declared
 * before it are not touched (issue 13: a context-wide hook reached routes declared before it too), nor is
 * the 404 handler. It adds the check to each route as it is declared (an `onRoute` hook putting the check
 * first in the route's onRequest list), so await the register call: a route declared while the plugin is
 * still queued (`app.register(…)` without await, then `app.get(…)`) is declared before it and stays open.
 * `publicRoutes` leaves named routes of its context open. Claims land on `request.auth`.
 *
 * @example
 * await app.register(createFastifyAuth({ verifier, publicRoutes: ['/health'] }));
 * app.get('/health', async () => 'ok'); // open
 * app.get('/orders', { preHandler: requireScopes('orders:read') }, (request) => request.auth!.claims);
 */
export function createFastifyAuth(options: FastifyAuthOptions): FastifyPluginAsync {
  const publicRoutes = options.publicRoutes ?? [];
  if (!Array.isArray(publicRoutes) || !publicRoutes.every((r) => typeof r === 'string' && r.startsWith('/')))
    throw new InvalidOptions('"publicRoutes" must be a list of route URL patterns such as "/health"');
  const open = new Set<string>(publicRoutes);
  const hook = createFastifyAuthHook(options);
  const plugin: FastifyPluginAsync = async function tesseraAuthPlugin(fastify) {
    if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
    // onRoute hooks run for the routes declared from now on in this context and its children only.
    fastify.addHook('onRoute', (route) => {
      if (open.has(route.url)) return;
      const own = route.onRequest;
      route.onRequest = own === undefined ? [hook] : [hook, ...(Array.isArray(own) ? own : [own])];
    });
  };
  // Same markers fastify-plugin sets: apply to the registering context (not a child of its own, which
  // would hold no routes), and a readable name.
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
    const failure = checkScopes(request.auth, required);
    if (failure) await send(reply, failure);
  };
}
