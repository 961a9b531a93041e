import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import { answerWrongMethods } from './method-not-allowed.js';

/** Public members only; the key manager strips private members before the body is built. */
export const JWKS_PATH = '/.well-known/jwks.json';

/** Does an If-None-Match header (RFC 9110 §13.1.2: a list, or `*`) match our strong ETag? */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  // Weak comparison is what If-None-Match uses, so `W/"x"` matches `"x"`.
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

let lastBody = '';
let lastBytes = Buffer.alloc(0);
const bodyBytes = (body: string) => {
  if (body !== lastBody) {
    lastBody = body;
    lastBytes = Buffer.from(body, 'utf8');
  }
  return lastBytes;
};

/**
 * `GET /.well-known/jwks.json`: the pre-serialised key set from the key manager's in-memory snapshot, so it
 * keeps answering while the store is down. `max-age` is the pre-publication window: a new key is listed at
 * least that long before it signs.
 *
 * @example
 * await app.register(jwksRoutes, { ctx });
 */
export const jwksRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  app.get(JWKS_PATH, async (request, reply) => {
    const jwks = ctx.keys.published();
    reply
      .header('cache-control', `public, max-age=${jwks.maxAge}`)
      .header('etag', jwks.etag)
      .header('access-control-allow-origin', '*');
    if (matches(request.headers['if-none-match'], jwks.etag)) {
      ctx.metrics.jwksRequests.inc({ status: '304' });
      return reply.code(304).send();
    }
    ctx.metrics.jwksRequests.inc({ status: '200' });
    // A Buffer, so Fastify adds no `charset` parameter: application/jwk-set+json (RFC 7517 §8.5) has none.
    return reply.type('application/jwk-set+json').send(bodyBytes(jwks.body));
  });
  answerWrongMethods(app, JWKS_PATH, ['GET']);
};
