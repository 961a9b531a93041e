/**
 * Server configuration: one table of options, read with the precedence flags > `TESSERA_*` environment >
 * JSON config file (`--config FILE`) > defaults. The same table drives `tessera serve --help`, so the help
 * text cannot drift from what is accepted. Durations are stored in seconds.
 */
import { readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import type { Alg } from '@tessera/jwt';
import { parseDuration, UsageError, type OptionSpec } from '../cli/args.js';

/** Signing algorithms the server offers (RFC 7518 §3; RFC 8037 for EdDSA). HMAC is out: verifiers need no secret. */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const satisfies readonly Alg[];
export type SigningAlg = (typeof SIGNING_ALGORITHMS)[number];

export interface ServerConfig {
  port: number;
  host: string;
  /** Absolute path of the data directory (SQLite database, KEK file). */
  dataDir: string;
  /** The `iss` of every token and the base of every metadata URL; no trailing slash. */
  issuer: string;
  /** True when `issuer` was derived from host and port (so `startServer` may fix it after binding port 0). */
  issuerIsDefault: boolean;
  /** Store spec for `openStore`: undefined (SQLite in the data dir), `sqlite:PATH`, `memory:` or `postgres://…`. */
  store: string | undefined;
  /** Redis URL for rate limits, single-use ids and revocation push; undefined keeps them in memory. */
  redis: string | undefined;
  /** Prefix of every Redis key and pub/sub channel Tessera uses (`tessera:` → `tessera:revocations`). */
  redisPrefix: string;
  /** Path of the KEK file (used when `TESSERA_KEK` is not set). */
  kekFile: string;
  /** The KEK itself (base64url, 32 bytes) from `TESSERA_KEK`; takes precedence over the file. */
  kek: string | undefined;
  alg: SigningAlg;
  /** RSA modulus length for RS256/PS256. */
  rsaBits: 2048 | 3072;
  /** Seconds between scheduled rotations. */
  rotationInterval: number;
  /** Seconds the JWKS may be cached (`Cache-Control: max-age`); also the pre-publication window. */
  jwksMaxAge: number;
  /** Default access-token lifetime, seconds. */
  accessTtl: number;
  /** Longest access-token lifetime any client may have, seconds. */
  maxAccessTtl: number;
  refreshAbsoluteTtl: number;
  refreshIdleTtl: number;
  /** Sign-in session idle lifetime, seconds (`--session-idle-ttl`). */
  sessionIdleTtl: number;
  /** Sign-in session absolute lifetime, seconds (`--session-ttl`): the user signs in again after it. */
  sessionTtl: number;
  /**
   * Seconds a sign-in stays recent enough to add or remove passkeys (`--reauth-max-age`); an older session
   * signs in again first (NIST SP 800-63B §4 reauthentication).
   */
  reauthMaxAge: number;
  /** Seconds of clock skew tolerated when checking `exp`/`nbf`/`iat`. */
  clockTolerance: number;
  claimsWarnBytes: number;
  claimsMaxBytes: number;
  /** Most actors in the `act` chain of an exchanged token (RFC 8693 §4.1, `--max-actor-depth`). */
  maxActorDepth: number;
  /** Token/introspection requests per client per minute; 0 disables the limit. */
  rateLimitClient: number;
  /** Token/introspection requests per client IP per minute; 0 disables the limit. */
  rateLimitIp: number;
  /** Seconds between re-reads of the store (CLI and other instances' changes). At most 5 s in practice. */
  reloadInterval: number;
  /** Fastify trustProxy: false (default), true, or a comma list of proxy addresses/CIDRs. */
  trustProxy: boolean | string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Seconds a client has to send a whole request (headers and body); then the connection is dropped. */
  requestTimeout: number;
  /** Seconds a client has to send the request headers. */
  headersTimeout: number;
  /** Seconds an idle keep-alive connection stays open between requests. */
  keepAliveTimeout: number;
  /** Open connections per server process; further ones are closed at once (node's `server.maxConnections`). */
  maxConnections: number;
  /** PEM certificate chain file: with `tlsKey`, the server speaks HTTPS itself. */
  tlsCert: string | undefined;
  /** PEM private key file of `tlsCert`. */
  tlsKey: string | undefined;
  /**
   * Seconds a DPoP proof's `iat` may lie from now, either way (RFC 9449 §11.1); also how long its `jti` is
   * remembered (twice this, the span in which a proof is acceptable).
   */
  dpopProofWindow: number;
  /** RFC 9449 §8: DPoP proofs must carry a server nonce (`use_dpop_nonce`, rotating every proof window). */
  dpopNonce: boolean;
}

type Parser = (text: string, name: string) => unknown;

interface OptionDef {
  flag: string;
  key: keyof ServerConfig;
  help: string;
  /** Shown in `--help`; `undefined` when the default is computed (described in `help`). */
  def: string | undefined;
  parse: Parser;
}

const int =
  (min: number, max: number): Parser =>
  (text, name) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`--${name} must be an integer ${min}..${max}`);
    return n;
  };

const duration =
  (minSeconds: number): Parser =>
  (text, name) => {
    let s: number;
    try {
      s = parseDuration(String(text));
    } catch (err) {
      // Name the option: the value may come from the environment or a config file, not the command line.
      throw new UsageError(`--${name} (${envName(name)}): ${(err as Error).message}`);
    }
    if (s < minSeconds) throw new UsageError(`--${name} must be at least ${minSeconds}s`);
    return s;
  };

const oneOf =
  (values: readonly string[]): Parser =>
  (text, name) => {
    if (!values.includes(text)) throw new UsageError(`--${name} must be one of ${values.join(', ')}`);
    return text;
  };

const str: Parser = (text) => text;

const bool: Parser = (text, name) => {
  if (text !== 'true' && text !== 'false') throw new UsageError(`--${name} must be true or false`);
  return text === 'true';
};

/**
 * A Redis key and channel prefix: pub/sub channels are shared by every Redis database, so a prefix is what
 * keeps two deployments (or tests and a developer's own servers) from hearing each other's revocations.
 */
const redisPrefix: Parser = (text, name) => {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(text))
    throw new UsageError(`--${name} must be 1-64 characters of letters, digits and _ . : -`);
  return text;
};

/** `6000`, `6000/min`, `100/s` or `360000/h`, normalised to requests per minute. */
const perMinute: Parser = (text, name) => {
  const m = /^(\d+)(?:\/(s|sec|m|min|h|hour))?$/.exec(String(text).trim());
  if (!m) throw new UsageError(`--${name} must look like 6000, 6000/min or 100/s`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'min';
  return unit.startsWith('s') ? n * 60 : unit.startsWith('h') ? Math.ceil(n / 60) : n;
};

/** Every option `tessera serve` (and, for the storage subset, every other command) accepts. */
export const OPTIONS: readonly OptionDef[] = [
  { flag: 'port', key: 'port', def: '7070', parse: int(0, 65535), help: 'TCP port to listen on' },
  { flag: 'host', key: 'host', def: '127.0.0.1', parse: str, help: 'interface to bind' },
  {
    flag: 'data-dir',
    key: 'dataDir',
    def: './.tessera',
    parse: str,
    help: 'directory for the database and KEK file',
  },
  {
    flag: 'issuer',
    key: 'issuer',
    def: undefined,
    parse: str,
    help: 'token issuer URL (default http://HOST:PORT)',
  },
  {
    flag: 'store',
    key: 'store',
    def: undefined,
    parse: str,
    help: 'state store: sqlite:PATH, postgres://… or memory: (default SQLite at DATA_DIR/tessera.db)',
  },
  {
    flag: 'redis',
    key: 'redis',
    def: undefined,
    parse: str,
    help: 'Redis URL: shared rate limits and single-use ids, revocation and key-change push',
  },
  {
    flag: 'redis-prefix',
    key: 'redisPrefix',
    def: 'tessera:',
    parse: redisPrefix,
    help: "prefix of Tessera's Redis keys and pub/sub channels (several deployments or tests on one Redis)",
  },
  {
    flag: 'kek-file',
    key: 'kekFile',
    def: undefined,
    parse: str,
    help: 'key-encryption key file (default DATA_DIR/kek); TESSERA_KEK=<base64url 32 bytes> overrides it',
  },
  {
    flag: 'alg',
    key: 'alg',
    def: 'ES256',
    parse: oneOf(SIGNING_ALGORITHMS),
    help: 'signing algorithm: ES256, RS256, PS256, EdDSA',
  },
  {
    flag: 'rsa-bits',
    key: 'rsaBits',
    def: '2048',
    parse: (t, n) => Number(oneOf(['2048', '3072'])(t, n)),
    help: 'RSA modulus length: 2048 or 3072',
  },
  {
    flag: 'rotation-interval',
    key: 'rotationInterval',
    def: '90d',
    parse: duration(1),
    help: 'scheduled key rotation period',
  },
  {
    flag: 'jwks-max-age',
    key: 'jwksMaxAge',
    def: '300s',
    parse: duration(0),
    help: 'JWKS Cache-Control max-age and key pre-publication window',
  },
  {
    flag: 'access-ttl',
    key: 'accessTtl',
    def: '15m',
    parse: duration(1),
    help: 'default access-token lifetime',
  },
  {
    flag: 'max-access-ttl',
    key: 'maxAccessTtl',
    def: '1h',
    parse: duration(1),
    help: 'longest access-token lifetime a client may have',
  },
  {
    flag: 'refresh-absolute-ttl',
    key: 'refreshAbsoluteTtl',
    def: '7d',
    parse: duration(1),
    help: 'refresh family absolute lifetime',
  },
  {
    flag: 'refresh-idle-ttl',
    key: 'refreshIdleTtl',
    def: '24h',
    parse: duration(1),
    help: 'refresh token idle lifetime',
  },
  {
    flag: 'session-idle-ttl',
    key: 'sessionIdleTtl',
    def: '1h',
    parse: duration(60),
    help: 'sign-in session idle lifetime (the session ends after this long unused)',
  },
  {
    flag: 'session-ttl',
    key: 'sessionTtl',
    def: '7d',
    parse: duration(60),
    help: 'sign-in session absolute lifetime (the user signs in again after it)',
  },
  {
    flag: 'reauth-max-age',
    key: 'reauthMaxAge',
    def: '10m',
    parse: duration(60),
    help: 'how recent a sign-in must be to add or remove passkeys (an older session signs in again)',
  },
  {
    flag: 'clock-tolerance',
    key: 'clockTolerance',
    def: '30s',
    parse: duration(0),
    help: 'clock skew tolerated on exp/nbf/iat',
  },
  {
    flag: 'claims-warn-bytes',
    key: 'claimsWarnBytes',
    def: '1024',
    parse: int(0, 1 << 20),
    help: 'warn when custom claims exceed this size',
  },
  {
    flag: 'claims-max-bytes',
    key: 'claimsMaxBytes',
    def: '4096',
    parse: int(0, 1 << 20),
    help: 'refuse custom claims above this size',
  },
  {
    flag: 'max-actor-depth',
    key: 'maxActorDepth',
    def: '4',
    parse: int(1, 16),
    help: 'most services in the act chain of an exchanged token (token exchange)',
  },
  {
    flag: 'rate-limit-client',
    key: 'rateLimitClient',
    def: '6000/min',
    parse: perMinute,
    help: 'token/introspection requests per client (0: off)',
  },
  {
    flag: 'rate-limit-ip',
    key: 'rateLimitIp',
    def: '12000/min',
    parse: perMinute,
    help: 'token/introspection requests per client IP (0: off)',
  },
  {
    flag: 'reload-interval',
    key: 'reloadInterval',
    def: '2s',
    parse: duration(0.05),
    help: 'how often the store is re-read for CLI/other-instance changes',
  },
  {
    flag: 'trust-proxy',
    key: 'trustProxy',
    def: 'false',
    parse: (t) => (t === 'true' ? true : t === 'false' ? false : t),
    help: 'believe X-Forwarded-For from: false, true, or a comma list of proxy addresses/CIDRs',
  },
  {
    flag: 'log-level',
    key: 'logLevel',
    def: 'info',
    parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    help: 'log level',
  },
  // Slow-request limits (slowloris, CWE-400): Fastify 5 and node leave a request unbounded in time
  // otherwise, so a client sending a body one byte a minute would hold its connection forever.
  {
    flag: 'request-timeout',
    key: 'requestTimeout',
    def: '10s',
    parse: duration(0.1),
    help: 'a request (headers and body) not complete within this is answered 408 and its connection closed',
  },
  {
    flag: 'headers-timeout',
    key: 'headersTimeout',
    def: '5s',
    parse: duration(0.1),
    help: 'request headers not complete within this: 408 and the connection closed',
  },
  {
    flag: 'keep-alive-timeout',
    key: 'keepAliveTimeout',
    def: '5s',
    parse: duration(0.1),
    help: 'an idle keep-alive connection is closed after this',
  },
  {
    flag: 'max-connections',
    key: 'maxConnections',
    def: '1024',
    parse: int(1, 1 << 20),
    help: 'open connections per server process; one more is closed at once, without a response',
  },
  {
    flag: 'tls-cert',
    key: 'tlsCert',
    def: undefined,
    parse: str,
    help: 'PEM certificate (chain) file: serve HTTPS directly (with --tls-key)',
  },
  {
    flag: 'tls-key',
    key: 'tlsKey',
    def: undefined,
    parse: str,
    help: 'PEM private key file of --tls-cert',
  },
  {
    flag: 'dpop-proof-window',
    key: 'dpopProofWindow',
    def: '60s',
    parse: duration(1),
    help: 'how far a DPoP proof iat may lie from now, either way (its jti is remembered twice as long)',
  },
  {
    flag: 'dpop-nonce',
    key: 'dpopNonce',
    def: 'false',
    parse: bool,
    help: 'true: DPoP proofs must carry a server nonce (use_dpop_nonce, rotating each proof window)',
  },
];

/** The options every command that touches server state takes (keys, clients, inspect, migrate …). */
export const STORAGE_FLAGS = ['data-dir', 'store', 'redis', 'redis-prefix', 'kek-file', 'config'] as const;

export const envName = (flag: string) => `TESSERA_${flag.toUpperCase().replaceAll('-', '_')}`;

/**
 * Commands that work on existing state (a subset of flags with `data-dir`: keys, clients …) also take
 * `--init`; `serve` (all flags) creates its state on the first run anyway.
 */
const takesInit = (flags?: readonly string[]) => flags !== undefined && flags.includes('data-dir');

/** node:util parseArgs spec for the given flags (all by default), plus `--config` (and `--init`, see above). */
export function configArgSpec(flags?: readonly string[]): OptionSpec {
  const spec: OptionSpec = { config: { type: 'string' } };
  if (takesInit(flags)) spec['init'] = { type: 'boolean' };
  for (const o of OPTIONS) if (!flags || flags.includes(o.flag)) spec[o.flag] = { type: 'string' };
  return spec;
}

/** `--help` lines for the given flags: flag, env var, default, meaning. */
export function configHelp(flags?: readonly string[]): string {
  const lines = ['  --config FILE                 JSON config file; keys are option names (TESSERA_CONFIG)'];
  if (takesInit(flags))
    lines.push(
      '  --init                        create the state (KEK, database, first keys) if there is none;',
      '                                without it a command refuses a data dir or store with no Tessera state',
    );
  for (const o of OPTIONS) {
    if (flags && !flags.includes(o.flag)) continue;
    const left = `  --${o.flag} VALUE`.padEnd(32);
    lines.push(`${left}${o.help} (${envName(o.flag)}${o.def !== undefined ? `; default ${o.def}` : ''})`);
  }
  return lines.join('\n');
}

export interface LoadConfigOptions {
  /** Parsed flag values (from `parseCommandArgs`); `config` names the config file. */
  values?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Config file path; defaults to `values.config`, then `TESSERA_CONFIG`. */
  configFile?: string;
  /** Relative paths (data dir, KEK file, config file) resolve against this; default process.cwd(). */
  cwd?: string;
}

const camelToFlag = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function readConfigFile(path: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new UsageError(`config file ${path} must hold a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    // Accept both option names (`data-dir`) and config field names (`dataDir`).
    const flag = k.includes('-') ? k : camelToFlag(k);
    if (!OPTIONS.some((o) => o.flag === flag))
      throw new UsageError(`config file ${path}: unknown option "${k}"`);
    out[flag] = v;
  }
  return out;
}

/**
 * Resolve the configuration.
 *
 * @example
 * const { values } = parseCommandArgs(argv, configArgSpec());
 * const config = loadConfig({ values, env: process.env });
 */
export function loadConfig(options: LoadConfigOptions = {}): ServerConfig {
  const values = options.values ?? {};
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const fileName =
    options.configFile ??
    (typeof values['config'] === 'string' ? values['config'] : undefined) ??
    env['TESSERA_CONFIG'];
  const file = fileName ? readConfigFile(resolve(cwd, fileName)) : {};

  const raw = (flag: string): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    // TESSERA_KEK holds the key itself, so the file's env var is TESSERA_KEK_FILE (same rule as the others).
    const e = env[envName(flag)];
    if (e !== undefined && e !== '') return e;
    const f = file[flag];
    if (f !== undefined && f !== null) return String(f);
    return undefined;
  };

  const out: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const text = raw(o.flag) ?? o.def;
    out[o.key] = text === undefined ? undefined : o.parse(text, o.flag);
  }
  const config = out as unknown as ServerConfig;
  config.dataDir = resolve(cwd, config.dataDir);
  config.kekFile = config.kekFile ? resolve(cwd, config.kekFile) : join(config.dataDir, 'kek');
  config.kek = env['TESSERA_KEK'] || undefined;
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  if (config.tlsCert !== undefined) config.tlsCert = resolve(cwd, config.tlsCert);
  if (config.tlsKey !== undefined) config.tlsKey = resolve(cwd, config.tlsKey);
  config.issuerIsDefault = config.issuer === undefined;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const scheme = config.tlsCert !== undefined ? 'https' : 'http';
  config.issuer = (config.issuer ?? `${scheme}://${hostForUrl}:${config.port}`).replace(/\/+$/, '');
  try {
    new URL(config.issuer);
  } catch {
    throw new UsageError(`--issuer must be an absolute URL`);
  }
  if (config.accessTtl > config.maxAccessTtl)
    throw new UsageError('--access-ttl must not exceed --max-access-ttl');
  if (config.claimsWarnBytes > config.claimsMaxBytes)
    throw new UsageError('--claims-warn-bytes must not exceed --claims-max-bytes');
  // node refuses a headers timeout above the request timeout: say so in our terms.
  if (config.headersTimeout > config.requestTimeout)
    throw new UsageError('--headers-timeout must not exceed --request-timeout');
  return config;
}

/** True for a host that only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Refuse to listen on a non-loopback interface with the default issuer. The issuer is every token's `iss`
 * and the base of the metadata and JWKS URLs (RFC 8414 §2, RFC 9068 §2.2): derived from the bind address
 * it would read `http://0.0.0.0:7070`, a URL no client can use and no verifier would configure.
 *
 * @example
 * assertIssuerForHost(loadConfig({ values: { host: '0.0.0.0' } })); // throws UsageError
 */
export function assertIssuerForHost(config: Pick<ServerConfig, 'host' | 'issuerIsDefault'>): void {
  if (config.issuerIsDefault && !isLoopbackHost(config.host))
    throw new UsageError(
      `--host ${config.host} needs --issuer: the issuer is the "iss" of every token and the base of the ` +
        'JWKS and metadata URLs, so it must be the public URL clients and verifiers use ' +
        '(e.g. --issuer https://auth.example.com), not one derived from the bind address',
    );
}
