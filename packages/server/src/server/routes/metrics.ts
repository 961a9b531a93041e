import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import { answerWrongMethods } from './method-not-allowed.js';

/**
 * `GET /metrics`: Prometheus text exposition of this server's registry. Bind the server to a private
 * interface or put it behind the proxy's access rules: the metrics name kids and client outcomes.
 *
 * @example
 * await app.register(metricsRoutes, { ctx });
 */
export const metricsRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  app.get('/metrics', async (_request, reply) => {
    const text = await ctx.metrics.render();
    return reply.header('cache-control', 'no-store').type(ctx.metrics.registry.contentType).send(text);
  });
  answerWrongMethods(app, '/metrics', ['GET']);
};
