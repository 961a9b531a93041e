import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../server/context.js';

/** TEMPORARY: the sign-in, consent and set-password pages (the sign-in UI work fills this plugin). */
export const signInRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async () => {};
