import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import { answerWrongMethods } from './method-not-allowed.js';

const PING_TIMEOUT_MS = 2000;

/**
 * `/healthz`: the process answers (liveness). `/readyz`: the store answers a ping and a current signing key
 * is loaded (readiness: a load balancer sends traffic only where tokens can be issued).
 *
 * @example
 * await app.register(healthRoutes, { ctx });
 */
export const healthRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const checks = { store: 'ok', signing_key: 'ok' };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ctx.store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('store ping timed out')), PING_TIMEOUT_MS);
        }),
      ]);
    } catch {
      checks.store = 'unavailable';
    } finally {
      clearTimeout(timer);
    }
    try {
      ctx.keys.signer();
    } catch {
      checks.signing_key = 'missing';
    }
    const ready = checks.store === 'ok' && checks.signing_key === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
  for (const path of ['/healthz', '/readyz']) answerWrongMethods(app, path, ['GET']);
};
