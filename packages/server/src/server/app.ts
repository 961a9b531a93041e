/**
 * The Fastify application: logging, limits, one error mapping and the route plugins. Built from a
 * ServerContext so tests can `inject` requests without a socket.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpServerOptions } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify';
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';
import type { Histogram } from 'prom-client';
import { StoreUnavailableError } from '../store/types.js';
import { OAuthError } from './errors.js';
import type { ServerContext } from './context.js';
import { jwksRoutes } from './routes/jwks.js';
import { metadataRoutes } from './routes/metadata.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { debuggerRoutes } from './routes/debugger.js';
import { oauthRoutes } from '../oauth/routes.js';
import { oidcRoutes } from '../oidc/routes.js';
import { signInRoutes } from '../signin/routes.js';
import { passkeyRoutes } from '../passkeys/routes.js';
import { UsageError } from '../cli/args.js';
import type { ServerConfig } from './config.js';

/** A token request is a few hundred bytes; 64 KiB leaves room for a large client assertion and no more. */
export const BODY_LIMIT = 64 * 1024;

/** The URL without its query string: a query may carry a token (RFC 6750 §2.3) and must not reach a log. */
const pathOnly = (url: string) => url.split('?', 1)[0];

/** Headers that carry credentials: never logged, whatever logger the embedder passes in. */
const REDACT = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["proxy-authorization"]',
    'res.headers["set-cookie"]',
    'headers.authorization',
    'headers.cookie',
  ],
  censor: '[redacted]',
};

/** Request lines carry method, path and client IP only: no query string, no headers, no body. */
const SERIALIZERS = {
  req: (req: { method?: string; url?: string; ip?: string }) => ({
    method: req.method,
    path: pathOnly(req.url ?? ''),
    ip: req.ip,
  }),
  res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
  err: pino.stdSerializers.err,
};

type LogArgs = Parameters<FastifyBaseLogger['info']>;

/**
 * The per-request logger Fastify hands to `request.log`: the real pino child (`parent.child({ reqId })`,
 * which inherits the redaction and serializers above) is built on the first log call, not for every request.
 * At the default levels almost no request logs anything, and a pino child per request is a measurable part
 * of a token request's CPU.
 */
class RequestLogger implements FastifyBaseLogger {
  #parent: FastifyBaseLogger;
  #bindings: Bindings;
  #options: ChildLoggerOptions;
  #real: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #logger(): FastifyBaseLogger {
    return (this.#real ??= this.#parent.child(this.#bindings, this.#options));
  }

  get level(): string {
    return this.#real?.level ?? this.#options.level ?? this.#parent.level;
  }
  set level(level: string) {
    this.#logger().level = level;
  }
  fatal(...args: LogArgs): void {
    this.#logger().fatal(...args);
  }
  error(...args: LogArgs): void {
    this.#logger().error(...args);
  }
  warn(...args: LogArgs): void {
    this.#logger().warn(...args);
  }
  info(...args: LogArgs): void {
    this.#logger().info(...args);
  }
  debug(...args: LogArgs): void {
    this.#logger().debug(...args);
  }
  trace(...args: LogArgs): void {
    this.#logger().trace(...args);
  }
  silent(): void {}
  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}

/**
 * The server's logger: pino with credentials redacted. Request logs carry method, path and status only;
 * bodies, tokens, secrets and keys are never logged.
 *
 * @example
 * const log = createLogger('info');
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { name: 'tessera' }, redact: REDACT, serializers: SERIALIZERS }, destination);
}

/** Map any failure to an HTTP status and RFC 6749 §5.2 body. Never a 500 for a malformed request. */
export function toHttpError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof StoreUnavailableError)
    return new OAuthError(503, 'temporarily_unavailable', 'the token service is temporarily unavailable', {
      'retry-after': '1',
    });
  const fe = err as Partial<FastifyError> | undefined;
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new OAuthError(413, 'invalid_request', 'request body too large');
  const status = fe?.statusCode;
  if (fe?.validation || (typeof status === 'number' && status >= 400 && status < 500)) {
    // Content type (415), parse errors, bad headers, validation: all the client's fault, all invalid_request.
    return new OAuthError(status === 413 ? 413 : 400, 'invalid_request', 'malformed request');
  }
  return new OAuthError(500, 'server_error', 'internal error');
}

type Limits = Pick<
  ServerConfig,
  'requestTimeout' | 'headersTimeout' | 'keepAliveTimeout' | 'tlsCert' | 'tlsKey'
>;

/**
 * The node server options: the slow-request limits and, with `--tls-cert`/`--tls-key`, the certificate.
 * node checks the request and headers timeouts on a timer (`connectionsCheckingInterval`, 30 s by default),
 * so the timer runs at a quarter of the shorter timeout (at most 1 s): a 10 s limit is enforced within
 * 10-11 s, not within 40 s.
 *
 * @example
 * const options = serverOptions(loadConfig({ values: { 'request-timeout': '2s', 'headers-timeout': '1s' } }));
 */
export function serverOptions(config: Limits): HttpServerOptions & HttpsServerOptions {
  const headersMs = Math.round(config.headersTimeout * 1000);
  const requestMs = Math.round(config.requestTimeout * 1000);
  const options: HttpServerOptions & HttpsServerOptions = {
    headersTimeout: headersMs,
    requestTimeout: requestMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersMs / 4))),
  };
  if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
    const read = (flag: string, file: string) => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new UsageError(
          `cannot read --${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    };
    options.cert = read('tls-cert', config.tlsCert);
    options.key = read('tls-key', config.tlsKey);
  }
  return options;
}

/**
 * Build the application for a context (does not listen).
 *
 * @example
 * const app = await buildApp(ctx);
 * const res = await app.inject({ url: '/.well-known/jwks.json' });
 */
export async function buildApp(ctx: ServerContext): Promise<FastifyInstance> {
  const nodeOptions = serverOptions(ctx.config);
  const tls = nodeOptions.cert !== undefined;
  let app: FastifyInstance;
  try {
    app = createFastify(ctx, tls ? { https: nodeOptions } : { http: nodeOptions });
  } catch (err) {
    // A key that does not match the certificate, or a file that is not PEM: name the flags, not the bytes.
    if (tls) throw new UsageError(`--tls-cert/--tls-key: ${(err as Error).message}`);
    throw err;
  }
  // Beyond this many open sockets node closes a new connection at once (no response is written): a flood of
  // idle or slow connections cannot exhaust file descriptors and memory (CWE-400).
  app.server.maxConnections = ctx.config.maxConnections;
  let lastDropWarning = 0;
  app.server.on('drop', () => {
    const now = Date.now();
    if (now - lastDropWarning < 10_000) return;
    lastDropWarning = now;
    ctx.log.warn(
      { maxConnections: ctx.config.maxConnections },
      'connection refused: --max-connections reached',
    );
  });
  return registerAll(app, ctx);
}

/** The Fastify instance over a node HTTP or HTTPS server built with `server` (see serverOptions). */
function createFastify(
  ctx: ServerContext,
  server: { http: HttpServerOptions } | { https: HttpsServerOptions },
): FastifyInstance {
  return Fastify({
    // A child with our serializers and redaction: Fastify lets a logger's own serializers win over its
    // defaults (which would log the full URL, query string included).
    loggerInstance: ctx.log.child({}, { serializers: SERIALIZERS, redact: REDACT }) as FastifyBaseLogger,
    // Behind a proxy, X-Forwarded-For is only believed when configured: otherwise any client could pick the
    // IP its per-IP rate limit is counted against.
    trustProxy: ctx.config.trustProxy,
    bodyLimit: BODY_LIMIT,
    // Per-request access lines only at debug: at thousands of tokens/s they would dominate the log.
    logController: new LogController({
      disableRequestLogging: ctx.config.logLevel !== 'debug' && ctx.config.logLevel !== 'trace',
    }),
    childLoggerFactory: (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) =>
      new RequestLogger(logger, bindings, options),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Fastify 5 defaults both to 0 (no limit): see serverOptions.
    requestTimeout: Math.round(ctx.config.requestTimeout * 1000),
    keepAliveTimeout: Math.round(ctx.config.keepAliveTimeout * 1000),
    ...server,
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
}

async function registerAll(app: FastifyInstance, ctx: ServerContext): Promise<FastifyInstance> {
  // Callback-style hooks: no promise per request.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('x-content-type-options', 'nosniff');
    done();
  });

  // Latency by route template (not raw URL), so label cardinality stays bounded. One labelled child per
  // (route, method, status), built on first use: no label object per request.
  const durationChildren = new Map<string, Histogram.Internal<'route' | 'method' | 'status'>>();
  app.addHook('onResponse', (request: FastifyRequest, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const key = `${route} ${request.method} ${status}`;
    let child = durationChildren.get(key);
    if (child === undefined) {
      child = ctx.metrics.httpDuration.labels(route, request.method, String(status));
      durationChildren.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((err, request, reply) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500 && !(err instanceof OAuthError))
      request.log.error({ err, path: pathOnly(request.url) }, 'request failed');
    return reply
      .code(httpError.status)
      .headers(httpError.headers)
      .header('cache-control', 'no-store')
      .send(httpError.toJSON());
  });

  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ error: 'not_found', error_description: 'no such endpoint' }),
  );

  await app.register(healthRoutes, { ctx });
  await app.register(jwksRoutes, { ctx });
  await app.register(metadataRoutes, { ctx });
  await app.register(metricsRoutes, { ctx });
  // The OAuth plugin registers its own form parser (RFC 6749 §3.2 duplicate detection) and error handler
  // in its own scope; a root form parser here would collide with it.
  await app.register(oauthRoutes, { ctx });
  // Each plugin parses its own form bodies in its own scope (like the OAuth plugin).
  await app.register(oidcRoutes, { ctx });
  await app.register(signInRoutes, { ctx });
  await app.register(passkeyRoutes, { ctx });
  await app.register(debuggerRoutes, { ctx });
  return app;
}
