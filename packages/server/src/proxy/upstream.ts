/**
 * Forwarding to the app with `@fastify/http-proxy` (on `@fastify/reply-from` and undici): bodies stream in
 * both directions, WebSocket upgrades pass through, and the headers go through forward-headers.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import { OAuthError } from '../server/errors.js';
import type { ProxyOptions } from './options.js';
import { admittedToken } from './gate.js';
import { forwardHeaders, responseHeaders } from './forward-headers.js';
import { sendProxyErrorPage } from './pages.js';

/** Set by the WebSocket client itself; the client's values would break (or forge) the upstream handshake. */
const WS_OWN = new Set([
  'host',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'content-length',
]);

function wantsHtml(request: FastifyRequest): boolean {
  return request.headers.accept?.includes('text/html') === true;
}

/**
 * 502 when the app cannot be reached or answers garbage, 504 when it is too slow (RFC 9110 §15.6.3,
 * §15.6.5). Fixed text: never the upstream's address, the socket error or a stack (CWE-209).
 */
function upstreamFailure(reply: FastifyReply, error: { statusCode?: number }): void {
  const timeout = error.statusCode === 504;
  const status = timeout ? 504 : 502;
  reply.request.log.warn({ status }, 'upstream failure');
  if (reply.sent) return;
  reply.removeHeader('content-length');
  if (wantsHtml(reply.request)) {
    void sendProxyErrorPage(reply, status, {
      title: timeout ? 'The application is taking too long' : 'The application is unavailable',
      message: timeout
        ? 'The application did not answer in time. Try again in a moment.'
        : 'The application could not be reached. Try again in a moment.',
      retry: true,
    });
    return;
  }
  const err = new OAuthError(
    status,
    'temporarily_unavailable',
    timeout ? 'the application did not answer in time' : 'the application could not be reached',
  );
  void reply.code(status).header('cache-control', 'no-store').send(err.toJSON());
}

/**
 * Register the forwarding of every path (but `/.tessera/`) to the upstream.
 *
 * @example await app.register(upstreamProxy(options, () => publicUrl, jar.names));
 */
export function upstreamProxy(options: ProxyOptions, publicUrl: () => URL, cookieNames: ReadonlySet<string>) {
  const forwarding = (request: FastifyRequest) => ({
    token: admittedToken(request),
    assertionHeader: options.assertionHeader,
    cookieNames,
    clientIp: request.socket.remoteAddress ?? '',
    proto: publicUrl().protocol.slice(0, -1),
    host: publicUrl().host,
  });
  return async function proxy(app: FastifyInstance): Promise<void> {
    await app.register(httpProxy, {
      upstream: options.upstream.origin,
      websocket: true,
      // Redirects are the app's: a Location is passed on untouched.
      internalRewriteLocationHeader: false,
      // Two info lines per proxied request otherwise (formatted even when the level drops them).
      disableRequestLogging: true,
      undici: {
        connections: 128,
        pipelining: 1,
        headersTimeout: options.upstreamTimeoutMs,
        // Streaming bodies (server-sent events, long downloads) may pause: no idle limit once headers came.
        bodyTimeout: 0,
        // An https app's certificate is checked like any server's (said explicitly: reply-from's own
        // `tls` option defaults to rejectUnauthorized false).
        connect: { rejectUnauthorized: true },
      },
      replyOptions: {
        rewriteRequestHeaders: (request, headers) =>
          forwardHeaders(headers, forwarding(request as FastifyRequest)) as Record<string, string>,
        rewriteHeaders: (headers) => responseHeaders(headers, cookieNames) as Record<string, string>,
        onError: (reply, { error }) =>
          upstreamFailure(reply as FastifyReply, error as { statusCode?: number }),
        // A proxy that retries on its own could run a request twice: the client decides.
        retryDelay: () => null,
      },
      // `rewriteRequestHeaders` is documented and implemented by @fastify/http-proxy but missing from its types.
      wsClientOptions: {
        rewriteRequestHeaders: (_headers: unknown, request: FastifyRequest) => {
          const out = forwardHeaders(request.headers, forwarding(request));
          for (const name of WS_OWN) delete out[name];
          return out;
        },
      } as object,
    });
  };
}
