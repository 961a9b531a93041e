/**
 * The running environment of a simulation (issuer, strategies, resource API, load generator, users'
 * credentials) and the one operation every scenario is made of: a load phase, with optional events fired
 * at fractions of its progress (stop the issuer, rotate keys, revoke tokens).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SimIssuer } from './issuer.js';
import { credentialList, mintCredentials, type Credentials } from './credentials.js';
import type { HolderKey } from './dpop-keys.js';
import type { ChildMessage, LoadCredential, LoadJob, LoadResult, ParentMessage } from './load-generator.js';
import type { ResourceAPI } from './resource-api.js';
import type { StrategyRecorder } from './metrics.js';
import type { ExchangeFigures, StrategyReport } from './report.js';
import {
  KIND_OF,
  type ExchangePhaseFigures,
  type SessionStores,
  type Strategy,
  type StrategyName,
} from './strategies.js';

export { credentialList, mintCredentials, mintDpop, newSessionId, probe } from './credentials.js';
export type { Credentials } from './credentials.js';

/** Where a simulation reports its progress. */
export interface Progress {
  scenario: string;
  phase: string;
  elapsed_s: number;
  /** The phase length when it is time-bound, else null. */
  total_s: number | null;
  requests: number;
  rps: number;
}

export interface RunSettings {
  duration: number | undefined;
  requests: number | undefined;
  connections: number;
  users: number;
}

export interface SimEnv {
  scenario: string;
  settings: RunSettings;
  issuer: SimIssuer;
  strategies: Strategy[];
  sessions: SessionStores;
  api: ResourceAPI;
  load: LoadGenerator;
  signal: AbortSignal | undefined;
  /** performance.now() when the current phase's recorders started: the time base of its time series. */
  phaseStartedAt: number;
  /** The jwt-denylist feed poll interval, seconds. */
  pollInterval: number;
  /** The users' DPoP keys by user-name prefix (generated once, reused when tokens are minted again). */
  holderKeys: Map<string, HolderKey[]>;
  onProgress: ((p: Progress) => void) | undefined;
}

/** An event fired once the phase has made `at` (0…1) of its progress. */
export interface PhaseEvent {
  at: number;
  run(): Promise<void>;
}

export interface PhaseOutcome {
  /** performance.now() when the phase started. */
  startedAt: number;
  recorders: Map<StrategyName, StrategyRecorder>;
  load: Map<string, LoadResult>;
  issuerCalls: Map<StrategyName, number>;
  details: Map<StrategyName, Record<string, unknown>>;
  /** jwt-exchange's delegation figures of the phase. */
  exchange: Map<StrategyName, ExchangePhaseFigures>;
}

export interface LoadGenerator {
  run(jobs: LoadJob[]): Promise<LoadResult[]>;
  update(name: string, credentials: LoadCredential[]): void;
  stop(): void;
  close(): Promise<void>;
}

/** Fork the load generator (see load-generator.ts for why it is a child process). */
export async function startLoadGenerator(): Promise<LoadGenerator> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./load-generator.js', import.meta.url)), [], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'advanced',
    // Not the parent's flags (--inspect, --cpu-prof, test-runner options): the child is a plain load generator.
    execArgv: [],
  });
  const pending = new Map<number, { resolve(r: LoadResult[]): void; reject(e: Error): void }>();
  let nextId = 1;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error('the load generator exited'));
      pending.clear();
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the load generator exited with ${code}`)));
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'done') {
        pending.get(m.id)?.resolve(m.results);
        pending.delete(m.id);
      }
    });
  });
  const send = (m: ParentMessage) => {
    if (!exited && child.connected) child.send(m);
  };
  return {
    run(jobs) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ type: 'run', id, jobs });
      });
    },
    update: (name, credentials) => send({ type: 'credentials', name, credentials }),
    stop: () => send({ type: 'stop' }),
    async close() {
      if (exited) return;
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

/**
 * Warm everything up before anything is measured (JIT, sockets, pools, prepared statements, the load
 * generator): two seconds of unrecorded load on every strategy's route, with credentials of separate
 * warm-up users, so the caches hold nothing the measured phases will send.
 */
export async function warmUp(env: SimEnv, seconds = 2): Promise<void> {
  const creds = await mintCredentials(
    env,
    {},
    { users: Math.min(env.settings.users, 200), prefix: 'warmup-' },
  );
  env.api.begin([]);
  const perStrategy = Math.max(1, Math.floor(env.settings.connections / env.strategies.length));
  await env.load.run(
    env.strategies.map((s) => ({
      name: s.name,
      url: `${env.api.url}/${s.name}`,
      connections: perStrategy,
      duration: seconds,
      credentials: credentialList(creds, s.kind),
    })),
  );
}

/**
 * Run one load phase: every strategy in `names` is loaded at once (each with its share of the
 * connections), for the duration or the number of requests of the settings. Events fire in order as the
 * phase progresses; the phase ends when the load generator reports.
 */
export async function runPhase(
  env: SimEnv,
  label: string,
  names: readonly StrategyName[],
  creds: Credentials,
  events: PhaseEvent[] = [],
): Promise<PhaseOutcome> {
  const { settings } = env;
  const byName = new Map(env.strategies.map((s) => [s.name, s]));
  const perStrategy = Math.max(1, Math.floor(settings.connections / names.length));
  const callsBefore = new Map(names.map((n) => [n, byName.get(n)!.issuerCalls()]));
  const startedAt = env.api.begin(names);
  env.phaseStartedAt = startedAt;
  const jobs: LoadJob[] = names.map((name) => ({
    name,
    url: `${env.api.url}/${name}`,
    connections: perStrategy,
    ...(settings.requests !== undefined
      ? { amount: settings.requests }
      : { duration: settings.duration ?? 10 }),
    credentials: credentialList(creds, KIND_OF[name]),
  }));
  const done = env.load.run(jobs);
  const queue = [...events].sort((a, b) => a.at - b.at);
  let chain: Promise<void> = Promise.resolve();
  let lastServed = 0;
  let lastAt = startedAt;
  let lastReport = startedAt;
  const onAbort = () => env.load.stop();
  env.signal?.addEventListener('abort', onAbort);
  const ticker = setInterval(() => {
    const now = performance.now();
    const elapsed = (now - startedAt) / 1000;
    const served = env.api.served();
    const fraction =
      settings.requests !== undefined
        ? served / (settings.requests * names.length)
        : elapsed / (settings.duration ?? 10);
    while (queue.length > 0 && queue[0]!.at <= fraction) {
      const event = queue.shift()!;
      chain = chain.then(() => event.run());
    }
    if (now - lastReport >= 500) {
      const rps = ((served - lastServed) * 1000) / (now - lastAt);
      lastServed = served;
      lastAt = now;
      lastReport = now;
      env.onProgress?.({
        scenario: env.scenario,
        phase: label,
        elapsed_s: elapsed,
        total_s: settings.requests !== undefined ? null : (settings.duration ?? 10),
        requests: served,
        rps,
      });
    }
  }, 50);
  try {
    const results = await done;
    // The time series ends with the load, not when the late events below finish.
    const stoppedAt = performance.now();
    for (const recorder of env.api.recorders().values()) recorder.stop(stoppedAt);
    // Requests the load left in flight are still answered and recorded: wait for them (bounded), so the
    // counts read below (the recorders', the strategies' own) cover the same requests.
    await env.api.idle(2000);
    // An event the load outran (a short --requests run) still fires, late rather than never.
    for (const event of queue) chain = chain.then(() => event.run());
    await chain;
    const recorders = env.api.recorders();
    const issuerCalls = new Map(names.map((n) => [n, byName.get(n)!.issuerCalls() - callsBefore.get(n)!]));
    const details = new Map(names.map((n) => [n, byName.get(n)!.details()]));
    const exchange = new Map<StrategyName, ExchangePhaseFigures>();
    for (const n of names) {
      const figures = byName.get(n)!.exchangeFigures?.();
      if (figures) exchange.set(n, figures);
    }
    const load = new Map(results.map((r) => [r.name, r]));
    return { startedAt, recorders, load, issuerCalls, details, exchange };
  } finally {
    clearInterval(ticker);
    env.signal?.removeEventListener('abort', onAbort);
  }
}

const round = (n: number, digits = 3) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** The report entry of one strategy for one phase. */
export function strategyReport(
  strategy: Strategy,
  outcome: PhaseOutcome,
  creds: Credentials,
): StrategyReport {
  const rec = outcome.recorders.get(strategy.name)!;
  const load = outcome.load.get(strategy.name);
  const requests = rec.requests;
  const calls = outcome.issuerCalls.get(strategy.name) ?? 0;
  const list = creds[strategy.kind];
  const seconds = load && load.duration > 0 ? load.duration : 1;
  return {
    name: strategy.name,
    store: strategy.store,
    credential_bytes: Math.round(list.reduce((n, c) => n + c.token.length, 0) / Math.max(1, list.length)),
    token_validation_ms: rec.validation(),
    latency_ms: load?.latency_ms ?? { p50: 0, p97_5: 0, p99: 0, max: 0, mean: 0 },
    throughput_rps: round(requests / seconds, 1),
    payload_size_bytes: requests === 0 ? 0 : Math.round(rec.authorizationBytes / requests),
    bytes_sent_total: rec.bytesSent,
    bytes_sent_per_request: requests === 0 ? 0 : Math.round(rec.bytesSent / requests),
    cache_hit_ratio: strategy.cached ? (requests === 0 ? 0 : round(rec.cacheHits / requests, 4)) : null,
    requests,
    errors: rec.errors,
    errors_unavailable: rec.unavailable,
    error_rate: requests === 0 ? 0 : round(rec.errors / requests, 4),
    issuer_calls: calls,
    issuer_calls_per_request: requests === 0 ? 0 : round(calls / requests, 5),
    timeseries: rec.timeseries(),
    details: outcome.details.get(strategy.name) ?? {},
    ...(outcome.exchange.has(strategy.name) && {
      exchange: exchangeReport(outcome.exchange.get(strategy.name)!, requests, rec.cacheHits),
    }),
  };
}

/**
 * The report's delegation figures. The hit ratio is the row's own (the API's recorder, counted per answered
 * request), so the two never disagree by the requests still in flight when the strategy's counters were read.
 */
function exchangeReport(f: ExchangePhaseFigures, requests: number, cacheHits: number): ExchangeFigures {
  return {
    exchange_calls: f.exchange_calls,
    exchange_calls_per_request: requests === 0 ? 0 : round(f.exchange_calls / requests, 5),
    exchange_failures: f.exchange_failures,
    exchanged_token_hit_ratio: requests === 0 ? 0 : round(cacheHits / requests, 4),
    exchange_ms: f.exchange_ms,
    downstream_call_ms: f.downstream_call_ms,
    downstream_validation_ms: f.downstream_validation_ms,
    downstream_calls: f.downstream_calls,
    downstream_refused: f.downstream_refused,
    refresh_margin_s: f.refresh_margin_s,
  };
}
