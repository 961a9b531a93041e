import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../server/context.js';

/** TEMPORARY: /oauth/authorize, /oauth/par, /oauth/userinfo, /oauth/logout (the OIDC work fills this plugin). */
export const oidcRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async () => {};
