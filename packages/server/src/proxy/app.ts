/**
 * `tessera proxy` as a Fastify app: the gate on every request, the `/.tessera/` routes, and the upstream.
 * `startProxy` discovers the issuer, builds the relying party and the token verifier, and listens.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Fetcher } from '@tessera/jwt';
import { createRelyingParty, discoverProvider } from '../relying-party/index.js';
import type { RelyingParty } from '../relying-party/types.js';
import type { ProxyOptions } from './options.js';
import { createCookieJar } from './session.js';
import { createGate } from './gate.js';
import { callbackUrl, proxyRoutes } from './routes.js';
import { audienceParameter, createAccessTokenVerifier, createRefresher } from './tokens.js';
import { upstreamProxy } from './upstream.js';
import { PAGE_HEADERS } from '../pages/index.js';

export interface ProxyHandle {
  app: FastifyInstance;
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  url: string;
  /** The public URL in use (the callback is under it). */
  publicUrl: URL;
  rp: RelyingParty;
  close(): Promise<void>;
}

export interface StartProxyOptions {
  /** Milliseconds since the epoch; default Date.now (tests move it). */
  clock?: () => number;
  /** For discovery, the token endpoint and the JWKS (tests). */
  fetcher?: Fetcher;
  logLevel?: string;
}

/**
 * Discover the issuer, then listen.
 *
 * @example
 * const proxy = await startProxy(buildProxyOptions(values, secret));
 */
export async function startProxy(options: ProxyOptions, start: StartProxyOptions = {}): Promise<ProxyHandle> {
  const clock = start.clock ?? Date.now;
  const metadata = await discoverProvider(options.issuer, start.fetcher ? { fetcher: start.fetcher } : {});
  const verifier = createAccessTokenVerifier({
    issuer: metadata.issuer,
    audience: options.audience,
    jwksUri: metadata.jwks_uri,
    algorithms: options.algorithms,
    clock,
    ...(start.fetcher && { fetcher: start.fetcher }),
  });
  // Without --public-url the proxy's URL is its listening address, known once it listens; until then
  // (before any request can arrive) the relying party does not exist.
  let publicUrl = options.publicUrl ?? new URL('http://127.0.0.1/');
  const made: { rp?: RelyingParty } = {};
  const relyingParty = (): RelyingParty => {
    if (made.rp === undefined) throw new Error('the proxy is not listening yet');
    return made.rp;
  };
  const jar = createCookieJar(publicUrl, options.clientSecret);
  const app = Fastify({
    logger: { level: start.logLevel ?? 'silent' },
    logController: new LogController({ disableRequestLogging: true }),
    // One logger for every request: a pino child per request (Fastify's default) costs on every proxied
    // request and only adds a request id to the few lines the proxy logs.
    childLoggerFactory: (logger) => logger,
    // The client's address is the socket's: X-Forwarded-For from the client is never believed.
    trustProxy: false,
    // No whole-request deadline: uploads stream through for as long as they take. Node's headersTimeout
    // (60 s) still bounds slow headers (Slowloris); the upstream has its own (--upstream-timeout).
    requestTimeout: 0,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
  });
  const log = (event: string, fields: Record<string, unknown>) => app.log.info({ event, ...fields }, event);
  app.addHook(
    'onRequest',
    createGate({
      options,
      jar,
      verifier,
      rp: relyingParty,
      refresh: createRefresher(relyingParty, audienceParameter(options.audience), clock),
      clock,
    }),
  );
  // Anything the proxy answers itself (not proxied) must not be cached or framed.
  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    app.log.warn({ status }, 'proxy error');
    void reply
      .code(status >= 400 && status < 500 ? status : 500)
      .headers(PAGE_HEADERS)
      .type('application/json')
      .send({
        error: status >= 500 ? 'server_error' : 'invalid_request',
        error_description: 'the request could not be handled',
      });
  });
  await app.register(
    proxyRoutes({ options, jar, verifier, rp: relyingParty, publicUrl: () => publicUrl, clock, log }),
  );
  await app.register(upstreamProxy(options, () => publicUrl, jar.names));
  await app.listen({ host: options.listen.host, port: options.listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.listen.port;
  const host = options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host;
  const url = `http://${host}:${port}`;
  publicUrl = options.publicUrl ?? new URL(url);
  const created = createRelyingParty({
    metadata,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: callbackUrl(publicUrl),
    scope: options.scope,
    clock,
    ...(start.fetcher && { fetcher: start.fetcher }),
  });
  made.rp = created;
  return {
    app,
    url,
    publicUrl,
    rp: created,
    async close() {
      await app.close();
      verifier.close();
      created.close();
    },
  };
}
