import type { ServerContext } from '../server/context.js';

/** The OAuth settings this module reads, derived once per server config. */
export interface OAuthSettings {
  /** The `iss` of every token and the base of the endpoint URLs (no trailing slash). */
  issuer: string;
  /** `${issuer}/oauth/token`: the audience client assertions must name (or the issuer itself). */
  tokenEndpoint: string;
  /** Server maximum access-token lifetime in seconds. */
  maxAccessTtl: number;
  /** Custom claims above this many bytes (JSON) are logged as a warning. */
  claimsWarnBytes: number;
  /** Custom claims above this many bytes are refused. */
  claimsMaxBytes: number;
  /** Fixed-window rate limits: requests per window per client id and per IP address (0 = off). */
  rateLimitWindowMs: number;
  rateLimitPerClient: number;
  rateLimitPerIp: number;
  /** Clock tolerance in seconds for assertion time checks. */
  clockTolerance: number;
  /** Most actors in an exchanged token's `act` chain (RFC 8693 §4.1). */
  maxActorDepth: number;
}

/** Client assertions and jwt-bearer grants may not be valid for longer than this (RFC 7523 §3 "short exp"). */
export const MAX_ASSERTION_LIFETIME = 300;

const cache = new WeakMap<object, OAuthSettings & { rawIssuer: string }>();

/**
 * The OAuth settings of a server context, computed once per config object.
 *
 * @example
 * const { issuer, tokenEndpoint } = oauthSettings(ctx);
 */
export function oauthSettings(ctx: Pick<ServerContext, 'config'>): OAuthSettings {
  const { config } = ctx;
  const found = cache.get(config);
  // startServer fixes a default issuer after binding port 0, so a cached value must match the current one.
  if (found && found.rawIssuer === config.issuer) return found;
  const issuer = config.issuer.replace(/\/+$/, '');
  const settings: OAuthSettings & { rawIssuer: string } = {
    rawIssuer: config.issuer,
    issuer,
    tokenEndpoint: `${issuer}/oauth/token`,
    maxAccessTtl: config.maxAccessTtl ?? 3600,
    claimsWarnBytes: config.claimsWarnBytes ?? 1024,
    claimsMaxBytes: config.claimsMaxBytes ?? 4096,
    // The config states limits per minute.
    rateLimitWindowMs: 60_000,
    rateLimitPerClient: config.rateLimitClient ?? 0,
    rateLimitPerIp: config.rateLimitIp ?? 0,
    clockTolerance: config.clockTolerance ?? 30,
    maxActorDepth: config.maxActorDepth ?? 4,
  };
  cache.set(ctx.config, settings);
  return settings;
}
