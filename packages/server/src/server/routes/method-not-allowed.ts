import type { FastifyInstance, FastifyReply, HTTPMethods } from 'fastify';

/** The methods answered 405 on a path that exists; Fastify adds HEAD to every GET route itself. */
const ALL_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/**
 * Answer every other method on `url` with `405 Method Not Allowed` and `Allow` (RFC 9110 §15.5.6, which
 * requires the header), instead of a 404 that says the endpoint does not exist (issue 13). The body is the
 * server's OAuth-style error (RFC 6749 §5.2 shape). Answered in `onRequest`, before any body is read or
 * parsed, so a wrong method with an odd content type or body still gets 405.
 *
 * @example
 * app.get('/oauth/revocations', handler);
 * answerWrongMethods(app, '/oauth/revocations', ['GET']);
 */
export function answerWrongMethods(
  app: FastifyInstance,
  url: string,
  allowed: readonly ('GET' | 'POST')[],
): void {
  const served = new Set<HTTPMethods>(allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed);
  const allow = [...served].join(', ');
  const body = JSON.stringify({
    error: 'invalid_request',
    error_description: `method not allowed; this endpoint answers ${allow}`,
  });
  const send = (reply: FastifyReply) =>
    reply
      .code(405)
      .header('allow', allow)
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send(body);
  app.route({
    method: ALL_METHODS.filter((m) => !served.has(m)),
    url,
    // Returning the reply from an async hook ends the request there (Fastify "Respond to a request from a hook").
    onRequest: async (_request, reply) => send(reply),
    handler: async (_request, reply) => send(reply),
  });
}
