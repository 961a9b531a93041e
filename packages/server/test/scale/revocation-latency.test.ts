/**
 * Issue "Scale-out": revoke-to-reject latency, measured. Two `tessera serve` instances on one PostgreSQL
 * schema and one Redis; two verifier PROCESSES (verifier-worker.ts), each with a remote JWKS and a
 * fail-closed revocation list (pull every 1 s + Redis push). Tokens are revoked alternately at instance A
 * and B through RFC 7009 POST /oauth/revoke; latency = the first rejection in a worker − the start of the
 * revoke request (both wall clock, sub-millisecond, same machine).
 *
 * Phase 1 measures the push path. Phase 2 takes the workers' Redis path down (their transport goes through a
 * TCP proxy that is closed) and measures the pull fallback, bounded by pollInterval + margin. The numbers
 * go to docs/deployment.md; run with:
 *   npm run build && node --test packages/server/dist/test/scale/revocation-latency.test.js
 *
 * The workers spin (one verification pass per setImmediate turn); on a small machine they compete with the
 * servers and PostgreSQL for CPU, which shows up in the revoke request's own time. TESSERA_LATENCY_NICE=10
 * lowers their priority, approximating verifiers on other hosts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRedisRevocationTransport } from '@tessera/jwt';
import {
  dropPgSchemas,
  pgUrl,
  randomSchema,
  redisUrl,
  testRedisArgs,
  TEST_REVOCATION_CHANNEL,
} from '../helpers/services.js';
import {
  createClientCLI,
  runTessera,
  startServe,
  stopAll,
  stopProcess,
  type ServeProcess,
} from '../helpers/processes.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import type { WorkerCommand, WorkerOptions, WorkerReport } from './verifier-worker.js';
import { basic } from '../helpers/http.js';

const ISSUER = 'http://tessera.test';
const AUDIENCE = 'api';
/** Revocations pushed through Redis: documented bound (push is milliseconds; this is generous). */
const PUSH_BOUND_MS = 2000;
/** The workers' pollInterval. */
const POLL_MS = 1000;
/**
 * Pull fallback: one poll interval plus a margin for the pull in flight when the entry was written (it missed
 * it) and the next one (each up to a few hundred ms on a loaded 2-core machine).
 */
const PULL_BOUND_MS = POLL_MS + 1500;
const PUSH_SAMPLES = 40;
const PULL_SAMPLES = 8;
const WORKER = fileURLToPath(new URL('./verifier-worker.js', import.meta.url));

const pgServer = await pgUrl();
const redis = await redisUrl();

const wallClock = (): number => performance.timeOrigin + performance.now();

async function post(base: string, path: string, auth: string, form: Record<string, string>) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summarize(label: string, samples: readonly number[], suffix: string): string {
  const s = [...samples].sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(1);
  return `${label}: p50 ${f(percentile(s, 50))} ms, p99 ${f(percentile(s, 99))} ms, max ${f(s[s.length - 1]!)} ms (${s.length} samples${suffix})`;
}

/** One verifier process and a way to wait for its reports. */
interface Worker {
  name: string;
  proc: ChildProcess;
  send(cmd: WorkerCommand): void;
  /** Resolves with the first report (already received or future) that matches. */
  next<T extends WorkerReport>(match: (r: WorkerReport) => r is T, timeoutMs: number): Promise<T>;
  reports: WorkerReport[];
}

function startWorker(name: string, options: WorkerOptions): Promise<Worker> {
  const proc = fork(WORKER, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reports: WorkerReport[] = [];
  const waiters = new Set<(r: WorkerReport) => boolean>();
  proc.on('message', (r: WorkerReport) => {
    reports.push(r);
    for (const w of waiters) if (w(r)) waiters.delete(w);
  });
  const worker: Worker = {
    name,
    proc,
    reports,
    send: (cmd) => void proc.send(cmd),
    next(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const seen = reports.find(match);
        const consume = (r: WorkerReport) => reports.splice(reports.indexOf(r), 1);
        if (seen) {
          consume(seen);
          resolve(seen);
          return;
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${name}: no matching report within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (r: WorkerReport): boolean => {
          if (!match(r)) return false;
          clearTimeout(timer);
          consume(r);
          resolve(r);
          return true;
        };
        waiters.add(waiter);
      });
    },
  };
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
    void worker
      .next((r): r is { type: 'ready' } => r.type === 'ready', 15_000)
      .then(() => resolve(worker), reject);
  });
}

const isType =
  <K extends WorkerReport['type']>(type: K, id?: number) =>
  (r: WorkerReport): r is Extract<WorkerReport, { type: K }> =>
    r.type === type && (id === undefined || (r as { id?: number }).id === id);

describe(
  'revocation latency: 2 instances, 2 verifier processes',
  { skip: !pgServer || !redis, timeout: 120_000 },
  () => {
    const schema = randomSchema();
    let dir: string;
    let storeSpec: string;
    let env: NodeJS.ProcessEnv;
    const instances: ServeProcess[] = [];
    const workers: Worker[] = [];
    let redisProxy: TcpProxy;
    let svcAuth: string;
    let nextId = 0;
    /** How long each POST /oauth/revoke took (store write + publish), to read the latency figures against. */
    const revokeRequestMs: number[] = [];

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tessera-latency-'));
      storeSpec = `${pgServer}?schema=${schema}`;
      env = { TESSERA_KEK: randomBytes(32).toString('base64url'), TESSERA_LOG_LEVEL: 'warn' };
      const common = ['--store', storeSpec, ...testRedisArgs(redis!), '--issuer', ISSUER, '--data-dir', dir];
      const limits = ['--rate-limit-client', '0', '--rate-limit-ip', '0', '--reload-interval', '1s'];
      instances.push(
        ...(await Promise.all([0, 1].map(() => startServe(['--port', '0', ...common, ...limits], env)))),
      );
      const svc = await createClientCLI(
        ['--id', 'svc', '--grants', 'client_credentials', '--audience', AUDIENCE],
        storeSpec,
        dir,
        env,
      );
      const secret = String(svc.client_secret);
      svcAuth = basic('svc', secret);

      // The servers publish on the real Redis; the workers subscribe through a proxy a phase can take down.
      const r = new URL(redis!);
      redisProxy = await startTcpProxy(r.hostname, Number(r.port || 6379));
      const proxied = new URL(redis!);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(redisProxy.port);
      for (const i of [0, 1]) {
        const base = instances[i]!.url;
        workers.push(
          await startWorker(`verifier ${i + 1}`, {
            issuer: ISSUER,
            audience: AUDIENCE,
            jwksUri: `${base}/.well-known/jwks.json`,
            feedUrl: `${base}/oauth/revocations`,
            clientId: 'svc',
            clientSecret: secret,
            redisUrl: proxied.toString(),
            ...(process.env.TESSERA_LATENCY_NICE && { nice: Number(process.env.TESSERA_LATENCY_NICE) }),
          }),
        );
      }
      await Promise.all(workers.map((w) => w.next(isType('subscribed'), 10_000)));
    });

    after(async () => {
      for (const w of workers) {
        if (w.proc.connected) w.send({ type: 'close' });
        await stopProcess(w.proc);
      }
      await redisProxy?.close();
      await Promise.all(instances.map((p) => p.stop()));
      await stopAll();
      if (pgServer) await dropPgSchemas(pgServer, [schema]).catch(() => undefined);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /**
     * Issue one token, let both workers see it valid, revoke it at `instance`, and return each worker's
     * revoke-to-reject latency with its report.
     */
    async function measureOne(instance: ServeProcess, boundMs: number, jitterMs = 0) {
      const issued = await post(instance.url, '/oauth/token', svcAuth, { grant_type: 'client_credentials' });
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      const token = String(issued.body.access_token);
      const id = nextId++;
      for (const w of workers) w.send({ type: 'watch', id, token });
      // Both workers verified it as valid before the revocation starts.
      await Promise.all(
        workers.map(async (w) => {
          const r = await w.next(
            (x): x is Extract<WorkerReport, { type: 'watching' | 'invalid' }> =>
              (x.type === 'watching' || x.type === 'invalid') && x.id === id,
            10_000,
          );
          assert.equal(r.type, 'watching', `${w.name} rejected a fresh token: ${JSON.stringify(r)}`);
        }),
      );
      // In the pull phase a random delay de-correlates the revocation from the workers' poll timers, which
      // a back-to-back sequence would otherwise lock onto (every sample at the same phase of the interval).
      if (jitterMs > 0) await new Promise((r) => setTimeout(r, Math.random() * jitterMs));
      const started = wallClock();
      const revoked = await post(instance.url, '/oauth/revoke', svcAuth, {
        token,
        token_type_hint: 'access_token',
      });
      assert.equal(revoked.status, 200);
      const responded = wallClock();
      revokeRequestMs.push(responded - started);
      return Promise.all(
        workers.map(async (w) => {
          const r = await w.next(isType('rejected', id), boundMs + 3000);
          assert.equal(r.code, 'ERR_TOKEN_REVOKED', `${w.name} rejected for the right reason`);
          // Negative when the push beat the HTTP response back to the client (the publish precedes the reply).
          return { worker: w.name, latency: r.at - started, afterResponse: r.at - responded, report: r };
        }),
      );
    }

    it('pushes every revocation to both verifier processes within the bound, and falls back to pull', async () => {
      // Phase 1: push. Alternate the instance that takes the revocation.
      const push = new Map<string, number[]>(workers.map((w) => [w.name, []]));
      const pushAfterResponse: number[] = [];
      const pushedBefore = new Map<string, number>();
      for (let i = 0; i < PUSH_SAMPLES; i++) {
        for (const m of await measureOne(instances[i % 2]!, PUSH_BOUND_MS)) {
          push.get(m.worker)!.push(m.latency);
          pushAfterResponse.push(m.afterResponse);
          if (i === 0) pushedBefore.set(m.worker, m.report.pushed - 1);
          if (i === PUSH_SAMPLES - 1) {
            // Every entry arrived by push (the pull may deliver it too, but push counted each). At least: other
            // test files may publish on the same channel of the shared Redis.
            const pushed = m.report.pushed - pushedBefore.get(m.worker)!;
            assert.ok(pushed >= PUSH_SAMPLES, `${m.worker} received ${pushed} of ${PUSH_SAMPLES} by push`);
          }
        }
      }
      const allPush = [...push.values()].flat();
      for (const [name, samples] of push)
        process.stdout.write(`# ${summarize(`  ${name} push`, samples, '')}\n`);
      process.stdout.write(
        `# ${summarize('revocation push latency', allPush, ', 2 instances, 2 verifier processes')}\n`,
      );
      process.stdout.write(
        `# ${summarize('  of which POST /oauth/revoke response time', revokeRequestMs, '')}\n`,
      );
      process.stdout.write(
        `# ${summarize('  rejection after the revoke response', pushAfterResponse, '')}\n`,
      );
      const [load1] = loadavg();
      process.stdout.write(
        `#   machine: ${availableParallelism()} cores, load average ${load1!.toFixed(1)}\n`,
      );
      const overPush = allPush.filter((ms) => ms > PUSH_BOUND_MS);
      assert.deepEqual(overPush, [], `every pushed revocation rejected within ${PUSH_BOUND_MS} ms`);

      // Phase 2: the workers lose Redis. The servers still publish, but nobody hears it: only the pull is left.
      await redisProxy.down();
      const pull = new Map<string, number[]>(workers.map((w) => [w.name, []]));
      const pushedCounts = new Map<string, Set<number>>(workers.map((w) => [w.name, new Set()]));
      for (let i = 0; i < PULL_SAMPLES; i++) {
        for (const m of await measureOne(instances[i % 2]!, PULL_BOUND_MS, POLL_MS)) {
          pull.get(m.worker)!.push(m.latency);
          pushedCounts.get(m.worker)!.add(m.report.pushed);
        }
      }
      const allPull = [...pull.values()].flat();
      for (const [name, samples] of pull)
        process.stdout.write(`# ${summarize(`  ${name} pull`, samples, '')}\n`);
      process.stdout.write(
        `# ${summarize(`revocation pull fallback latency (Redis path down, pollInterval ${POLL_MS} ms)`, allPull, ', 2 instances, 2 verifier processes')}\n`,
      );
      for (const [name, counts] of pushedCounts)
        assert.equal(counts.size, 1, `${name}: nothing arrived by push while the Redis path was down`);
      const overPull = allPull.filter((ms) => ms > PULL_BOUND_MS);
      assert.deepEqual(
        overPull,
        [],
        `every revocation rejected within pollInterval + margin (${PULL_BOUND_MS} ms)`,
      );

      // Redis back: the transports re-subscribe on their own and push resumes.
      await redisProxy.up();
      await Promise.all(workers.map((w) => w.next(isType('subscribed'), 10_000)));
      const again = await measureOne(instances[0]!, PUSH_BOUND_MS);
      for (const m of again) assert.ok(m.latency < PUSH_BOUND_MS, `${m.worker} push after reconnect`);
    });

    it('`tessera keys revoke --redis` pushes the kid entry on the revocation channel of its --redis-prefix', async () => {
      const entries: unknown[] = [];
      let subscribed!: () => void;
      const live = new Promise<void>((r) => (subscribed = r));
      const unsubscribe = createRedisRevocationTransport({
        url: redis!,
        channel: TEST_REVOCATION_CHANNEL,
      }).subscribe(
        (e) => entries.push(e),
        () => subscribed(),
      );
      try {
        await live;
        const list = await runTessera(
          ['keys', 'list', '--json', '--store', storeSpec, '--data-dir', dir],
          env,
        );
        assert.equal(list.code, 0, list.stderr);
        // The pre-published next key: revoking it does not disturb signing.
        const next = (JSON.parse(list.stdout) as { kid: string; state: string }[]).find(
          (k) => k.state === 'next',
        );
        assert.ok(next, list.stdout);
        const started = Date.now();
        const r = await runTessera(
          ['keys', 'revoke', next.kid, '--store', storeSpec, '--data-dir', dir, ...testRedisArgs(redis!)],
          env,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '', 'no push warning');
        while (
          !entries.some((e) => (e as { value?: string }).value === next.kid) &&
          Date.now() - started < 5000
        )
          await new Promise((res) => setTimeout(res, 20));
        const entry = entries.find((e) => (e as { value?: string }).value === next.kid) as
          Record<string, unknown> | undefined;
        assert.ok(entry, 'the kid entry was pushed');
        assert.equal(entry.type, 'kid');
        assert.equal(typeof entry.seq, 'number');
      } finally {
        unsubscribe();
      }
    });
  },
);
