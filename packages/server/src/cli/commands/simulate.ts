import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, parseDuration, usageFailure } from '../args.js';
import { DEFAULTS, runSimulation, type SimulateOptions } from '../../simulate/run.js';
import { SCENARIO_HELP, SCENARIO_NAMES, type ScenarioName } from '../../simulate/scenarios.js';
import { STRATEGY_NAMES, redact, type StrategyName } from '../../simulate/strategies.js';
import { renderTable } from '../../simulate/report-table.js';
import { renderHTML } from '../../simulate/report-html.js';
import type { Progress } from '../../simulate/phase.js';

export const summary =
  'Measure JWT validation (bearer, DPoP, exchanged) vs introspection vs session lookups under load, on loopback';

const DEFAULT_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';

const HELP = `Usage: tessera simulate [options]

Starts on loopback a Tessera issuer (SQLite in a temporary directory), the stores the strategies need,
and a resource API with one route per strategy; mints credentials for --users users; drives HTTP load
at the API from a separate process (autocannon); prints a table; tears everything down.

Options:
  --strategies LIST     comma-separated, default all:
                          jwt                local signature + claims against the JWKS fetched once
                          jwt-cached         the same plus the SDK's verified-token cache
                          jwt-denylist       local checks plus the revocation deny-list pulled from
                                             the feed every 1 s (fail-open while the feed is down)
                          jwt-dpop           DPoP-bound JWT (RFC 9449): a fresh proof per request,
                                             checked with the token (signature, ath, cnf.jkt, jti once)
                          jwt-exchange       the user's JWT checked, then a call to a downstream service
                                             with a token from RFC 8693 token exchange at the issuer,
                                             cached per user until 30 s before it expires
                          introspect         RFC 7662 call to the issuer on every request
                          introspect-cached  the same with the SDK's introspection cache (2 s)
                          session-redis      random 256-bit session id looked up in Redis (GET)
                          session-sql        the same in PostgreSQL when reachable, else SQLite
  --scenario NAME       default baseline:
${SCENARIO_NAMES.map((s) => `                          ${s.padEnd(18)} ${SCENARIO_HELP[s]}`).join('\n')}
  --duration D          length of each load phase, e.g. 10s (default), 30s, 2m
  --requests N          requests per strategy per phase instead of a duration
  --connections C       concurrent connections (default ${DEFAULTS.connections}); split between strategies
                        in the scenarios that load all strategies at once
  --users U             distinct users, hence distinct tokens (default ${DEFAULTS.users}); sets the cache hit ratio
  --json FILE           write every figure as JSON (time series included)
  --html FILE           write a self-contained HTML page with inline SVG charts
  --redis URL           Redis for session-redis (default ${DEFAULTS.redisUrl}; TESSERA_SIM_REDIS_URL)
  --postgres URL        PostgreSQL for session-sql (default ${DEFAULT_POSTGRES};
                        TESSERA_SIM_POSTGRES_URL)
  --sql-store STORE     auto (default: PostgreSQL when reachable, else SQLite), sqlite, or postgres
                        (session-sql is skipped when PostgreSQL cannot be used)

A strategy whose store is unreachable is skipped with a line saying so, never simulated.
A live progress line (phase, elapsed, requests/s) goes to stderr; the table to stdout.

Reported per strategy: token_validation_ms {p50,p95,p99,max} measured inside the API around the
validation step alone (jwt-dpop: with the proof; jwt-exchange: the user's JWT plus obtaining the
exchanged token, not the downstream call); end-to-end latency; throughput_rps; payload_size_bytes
(Authorization header, plus the DPoP header for jwt-dpop, per request) and bytes sent in total;
cache_hit_ratio (cached strategies, jwt-exchange: cached exchanged tokens; null otherwise); requests;
errors; issuer_calls_per_request (JWKS fetches, introspection calls, feed pulls and token exchanges per
request); for jwt-exchange also exchange calls, their latency, and the downstream call and validation.

Exit codes: 0 ok, 1 failed, 2 usage, 130 interrupted.`;

const OPTIONS = {
  strategies: { type: 'string' },
  scenario: { type: 'string' },
  duration: { type: 'string' },
  requests: { type: 'string' },
  connections: { type: 'string' },
  users: { type: 'string' },
  json: { type: 'string' },
  html: { type: 'string' },
  redis: { type: 'string' },
  postgres: { type: 'string' },
  'sql-store': { type: 'string' },
} as const;

function positiveInt(text: string | undefined, name: string, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`--${name} must be an integer 1..${max}`);
  return n;
}

function canConnect(url: string, timeoutMs = 1000): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    port = Number(u.port) || 5432;
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

interface Parsed {
  options: SimulateOptions;
  json: string | undefined;
  html: string | undefined;
  sqlStore: 'auto' | 'sqlite' | 'postgres';
  postgres: string;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): Parsed | 'help' {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS, false);
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const list = str('strategies');
  let strategies: StrategyName[] = [...STRATEGY_NAMES];
  if (list !== undefined && list !== 'all') {
    strategies = list
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '') as StrategyName[];
    const unknown = strategies.find((s) => !(STRATEGY_NAMES as readonly string[]).includes(s));
    if (unknown !== undefined)
      throw new UsageError(`unknown strategy "${unknown}" (one of ${STRATEGY_NAMES.join(', ')})`);
    if (strategies.length === 0) throw new UsageError('--strategies is empty');
  }
  const scenario = (str('scenario') ?? 'baseline') as ScenarioName;
  if (!(SCENARIO_NAMES as readonly string[]).includes(scenario))
    throw new UsageError(`unknown scenario "${scenario}" (one of ${SCENARIO_NAMES.join(', ')})`);
  if (str('duration') !== undefined && str('requests') !== undefined)
    throw new UsageError('give --duration or --requests, not both');
  const duration = str('duration') === undefined ? undefined : parseDuration(str('duration')!);
  if (duration !== undefined && (duration < 1 || duration > 3600))
    throw new UsageError('--duration must be between 1s and 1h');
  const requests = positiveInt(str('requests'), 'requests', 100_000_000);
  const connections = positiveInt(str('connections'), 'connections', 10_000);
  const users = positiveInt(str('users'), 'users', 1_000_000);
  const sqlStore = (str('sql-store') ?? 'auto') as Parsed['sqlStore'];
  if (!['auto', 'sqlite', 'postgres'].includes(sqlStore))
    throw new UsageError('--sql-store must be auto, sqlite or postgres');
  const options: SimulateOptions = {
    strategies,
    scenario,
    ...(duration !== undefined && { duration }),
    ...(requests !== undefined && { requests }),
    ...(connections !== undefined && { connections }),
    ...(users !== undefined && { users }),
    redisUrl: str('redis') ?? env['TESSERA_SIM_REDIS_URL'] ?? DEFAULTS.redisUrl,
    command: ['tessera', 'simulate', ...argv].join(' '),
  };
  return {
    options,
    json: str('json'),
    html: str('html'),
    sqlStore,
    postgres: str('postgres') ?? env['TESSERA_SIM_POSTGRES_URL'] ?? DEFAULT_POSTGRES,
  };
}

function progressWriter(io: CommandIO): { update(p: Progress): void; done(): void } {
  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  let lastLine = 0;
  let shown = false;
  return {
    update(p) {
      const total = p.total_s === null ? '' : `/${p.total_s}s`;
      const line = `[${p.scenario}] ${p.phase}  ${p.elapsed_s.toFixed(1)}s${total}  ${Math.round(p.rps).toLocaleString('en-US')} req/s  ${p.requests.toLocaleString('en-US')} requests`;
      if (tty) {
        io.stderr.write(`\r\x1b[K${line}`);
        shown = true;
      } else if (Date.now() - lastLine >= 2000) {
        // Not a terminal (CI, a pipe): a line every 2 s rather than a carriage-return animation.
        io.stderr.write(line + '\n');
        lastLine = Date.now();
      }
    },
    done() {
      if (tty && shown) io.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** `tessera simulate` */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  let parsed: Parsed | 'help';
  try {
    parsed = parse(argv, io.env);
  } catch (err) {
    return usageFailure(io, err, HELP);
  }
  if (parsed === 'help') {
    io.stdout.write(HELP + '\n');
    return 0;
  }
  const { options } = parsed;
  const wantsSQL = options.strategies!.includes('session-sql');
  if (wantsSQL && parsed.sqlStore === 'postgres') options.postgresUrl = parsed.postgres;
  else if (wantsSQL && parsed.sqlStore === 'auto') {
    if (await canConnect(parsed.postgres)) options.postgresUrl = parsed.postgres;
    else
      io.stderr.write(
        `tessera: PostgreSQL not reachable at ${redact(parsed.postgres)}; session-sql uses SQLite\n`,
      );
  }
  const progress = progressWriter(io);
  const controller = new AbortController();
  const onSignal = () => {
    progress.done();
    io.stderr.write('tessera: interrupted; stopping the load and tearing down\n');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const report = await runSimulation({
      ...options,
      signal: controller.signal,
      onProgress: (p) => progress.update(p),
      onNotice: (line) => {
        progress.done();
        io.stderr.write(`tessera: ${line}\n`);
      },
    });
    progress.done();
    if (controller.signal.aborted) return 130;
    io.stdout.write(renderTable(report));
    if (parsed.json !== undefined) writeFileSync(parsed.json, JSON.stringify(report, null, 2) + '\n');
    if (parsed.html !== undefined) writeFileSync(parsed.html, renderHTML(report));
    return 0;
  } catch (err) {
    progress.done();
    if (controller.signal.aborted) return 130;
    io.stderr.write(`tessera: simulation failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
