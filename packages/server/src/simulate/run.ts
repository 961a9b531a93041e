/**
 * `runSimulation`: start everything on loopback (issuer, session stores, strategies, resource API, load
 * generator), run one scenario, tear everything down (also on errors and on abort), return the report.
 */
import { cpus, loadavg } from 'node:os';
import { startSimIssuer, type SimIssuer } from './issuer.js';
import { startResourceAPI, type ResourceAPI } from './resource-api.js';
import { startLoadGenerator, warmUp, type LoadGenerator, type Progress, type SimEnv } from './phase.js';
import type { SimulationReport } from './report.js';
import { isConcurrent, runScenario, type ScenarioName } from './scenarios.js';
import { buildStrategies, STRATEGY_NAMES, type Strategy, type StrategyName } from './strategies.js';

export interface SimulateOptions {
  strategies?: readonly StrategyName[];
  scenario?: ScenarioName;
  /** Seconds per phase (default 10). Ignored when `requests` is given. */
  duration?: number;
  /** Requests per strategy per phase, instead of a duration. */
  requests?: number;
  connections?: number;
  users?: number;
  redisUrl?: string;
  /** PostgreSQL for session-sql; undefined keeps it on SQLite. */
  postgresUrl?: string;
  /** The command line, recorded in the report. */
  command?: string;
  onProgress?: (p: Progress) => void;
  /** Lines worth telling the user as they happen (skipped strategies, set-up steps). */
  onNotice?: (line: string) => void;
  signal?: AbortSignal;
}

export const DEFAULTS = {
  duration: 10,
  connections: 50,
  users: 100,
  redisUrl: 'redis://127.0.0.1:6379',
} as const;

/** Settings that differ by scenario: rotation needs a short JWKS max-age, the others the production default. */
const JWKS_MAX_AGE = (s: ScenarioName) => (s === 'rotation' ? 1 : 300);
const POLL_INTERVAL_S = 1;
const INTROSPECTION_CACHE_S = 2;

/**
 * Run a simulation.
 *
 * @example
 * const report = await runSimulation({ scenario: 'baseline', strategies: ['jwt', 'introspect'], duration: 5 });
 * console.log(report.strategies[0].throughput_rps);
 */
export async function runSimulation(options: SimulateOptions = {}): Promise<SimulationReport> {
  const scenario = options.scenario ?? 'baseline';
  const names = [...new Set(options.strategies ?? STRATEGY_NAMES)];
  const settings = {
    duration: options.requests === undefined ? (options.duration ?? DEFAULTS.duration) : undefined,
    requests: options.requests,
    connections: options.connections ?? DEFAULTS.connections,
    users: options.users ?? DEFAULTS.users,
  };
  const notice = options.onNotice ?? (() => {});
  const startedAt = new Date();
  const loadAtStart = loadavg().map((n) => Math.round(n * 100) / 100);
  const cleanup: Array<() => Promise<unknown>> = [];
  let issuer: SimIssuer | undefined;
  try {
    issuer = await startSimIssuer({
      jwksMaxAge: JWKS_MAX_AGE(scenario),
      reloadInterval: scenario === 'rotation' ? 0.2 : 2,
    });
    const iss = issuer;
    cleanup.push(() => iss.close());
    notice(`issuer listening at ${iss.url} (SQLite in a temporary directory)`);
    const built = await buildStrategies(names, {
      issuer: iss,
      jwksMinCacheAge: Math.min(30, JWKS_MAX_AGE(scenario)),
      pollInterval: POLL_INTERVAL_S,
      introspectionCacheAge: INTROSPECTION_CACHE_S,
      redisUrl: options.redisUrl ?? DEFAULTS.redisUrl,
      postgresUrl: options.postgresUrl,
    });
    const strategies: Strategy[] = built.strategies;
    for (const s of strategies) cleanup.push(() => s.close());
    for (const s of built.skipped) notice(`skipping ${s.name}: ${s.reason}`);
    if (strategies.length === 0) throw new Error('no strategy could be set up');
    const sql = strategies.find((s) => s.name === 'session-sql');
    if (sql)
      notice(`session-sql looks sessions up in ${sql.store === 'postgresql' ? 'PostgreSQL' : 'SQLite'}`);

    const api: ResourceAPI = await startResourceAPI(strategies);
    cleanup.push(() => api.close());
    const load: LoadGenerator = await startLoadGenerator();
    cleanup.push(() => load.close());

    const env: SimEnv = {
      scenario,
      settings,
      issuer: iss,
      strategies,
      sessions: built.sessions,
      api,
      load,
      signal: options.signal,
      phaseStartedAt: 0,
      pollInterval: POLL_INTERVAL_S,
      holderKeys: new Map(),
      onProgress: options.onProgress,
    };
    notice(`warming up, then minting credentials for ${settings.users} users`);
    await warmUp(env);
    const result = await runScenario(env, scenario);
    const cpuList = cpus();
    return {
      scenario,
      command: options.command ?? '',
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      machine: {
        cpus: cpuList.length,
        cpu_model: cpuList[0]?.model ?? 'unknown',
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        load_average_at_start: loadAtStart,
      },
      settings: {
        strategies: names,
        duration_s: settings.duration ?? null,
        requests: settings.requests ?? null,
        connections: settings.connections,
        users: settings.users,
        mode: isConcurrent(scenario) ? 'concurrent' : 'sequential',
        jwks_max_age_s: JWKS_MAX_AGE(scenario),
        revocation_poll_interval_s: POLL_INTERVAL_S,
        introspection_cache_age_s: INTROSPECTION_CACHE_S,
        access_token_ttl_s: iss.accessTtl,
      },
      issuer: { url: iss.url, store: 'sqlite' },
      skipped: built.skipped,
      ...result,
    };
  } finally {
    // Reverse order: load generator, API, strategies (timers, Redis, PostgreSQL), issuer and its temp dir.
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  }
}
