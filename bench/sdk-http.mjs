// Section 2, HTTP part: a trivial endpoint, bare vs behind each @tessera/jwt middleware (with and without the
// verified-token cache). Servers run in this process on 127.0.0.1, port 0; autocannon runs in a child process
// (bench/lib/load-child.mjs) so the server keeps a core of its own.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createSigner, createVerifier } from '@tessera/jwt';
import { AUDIENCE, ISSUER, keysFor, realisticPayload } from './lib/fixtures.mjs';
import { runLoad, runLoadWithCPU } from './lib/procs.mjs';
import { fmtGoal, fmtOps, fmtRatio, markdownTable } from './lib/table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const MIDDLEWARE_DIR = join(here, '..', 'packages', 'jwt', 'dist', 'src', 'middleware');
const BODY = '{"ok":true}';

/** Listen on 127.0.0.1, port 0: `{ url, close }` for a node server. */
async function served(server) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => closeServer(server) };
}

// The trivial endpoint of the node:http rows.
function nodeOk(_req, res) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(BODY);
}

function closeServer(server) {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

async function importMiddleware(file) {
  const path = join(MIDDLEWARE_DIR, file);
  if (!existsSync(path)) return null;
  return import(pathToFileURL(path).href);
}

// One entry per framework: `start(verifier | null)` returns { url, close }. With a verifier, the endpoint sits
// behind the Tessera middleware; `available()` says whether that middleware exists in this build.
const FRAMEWORKS = {
  'node:http': {
    file: 'node-http.js',
    async start(verifier, mw) {
      let handler = nodeOk;
      if (verifier) {
        const authenticate = mw.adapt(verifier);
        handler = async (req, res) => {
          if (await authenticate(req, res)) nodeOk(req, res);
        };
      }
      return served(createServer(handler));
    },
  },
  // The same server with the check as a handler wrapper (withNodeHttpAuth): no async step on a cache hit.
  'node:http (withNodeHttpAuth)': {
    file: 'node-http.js',
    async start(verifier, mw) {
      return served(createServer(verifier ? mw.wrap(verifier, nodeOk) : nodeOk));
    },
  },
  express: {
    file: 'express.js',
    async start(verifier, mw) {
      const express = (await import('express')).default;
      const app = express();
      if (verifier) app.use(mw.adapt(verifier));
      app.get('/', (_req, res) => res.json({ ok: true }));
      return served(createServer(app));
    },
  },
  fastify: {
    file: 'fastify.js',
    async start(verifier, mw) {
      const Fastify = (await import('fastify')).default;
      const app = Fastify({ logger: false });
      if (verifier) await app.register(mw.adapt(verifier));
      app.get('/', async () => ({ ok: true }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: `http://127.0.0.1:${app.server.address().port}/`, close: () => app.close() };
    },
  },
  hono: {
    file: 'hono.js',
    async start(verifier, mw) {
      const { Hono } = await import('hono');
      const { createAdaptorServer } = await import('@hono/node-server');
      const app = new Hono();
      if (verifier) app.use('*', mw.adapt(verifier));
      app.get('/', (c) => c.json({ ok: true }));
      return served(createAdaptorServer({ fetch: app.fetch }));
    },
  },
  // The same Hono app with the check as a handler wrapper (withHonoAuth): the route keeps a single handler.
  'hono (withHonoAuth)': {
    file: 'hono.js',
    async start(verifier, mw) {
      const { Hono } = await import('hono');
      const { createAdaptorServer } = await import('@hono/node-server');
      const app = new Hono();
      const handler = (c) => c.json({ ok: true });
      app.get('/', verifier ? mw.wrap(verifier, handler) : handler);
      return served(createAdaptorServer({ fetch: app.fetch }));
    },
  },
};

// The adapter each framework gets, by its export name in packages/jwt/dist/src/middleware/<file>.
const FACTORIES = {
  'node:http': 'createNodeHttpAuth',
  'node:http (withNodeHttpAuth)': 'withNodeHttpAuth',
  express: 'createExpressAuth',
  fastify: 'createFastifyAuth',
  hono: 'createHonoAuth',
  'hono (withHonoAuth)': 'withHonoAuth',
};

async function loadAdapter(framework) {
  const mod = await importMiddleware(FRAMEWORKS[framework].file);
  if (!mod) return null;
  const factory = mod[FACTORIES[framework]];
  if (typeof factory !== 'function') throw new Error(`no ${FACTORIES[framework]} export`);
  return {
    name: FACTORIES[framework],
    adapt: (verifier) => factory({ verifier }),
    wrap: (verifier, handler) => factory({ verifier }, handler),
  };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Run the HTTP benchmark; returns `{ rows, skipped, markdown }`. Per framework, the bare server and both
 * middleware variants listen at once (idle ones cost nothing) and are loaded in rounds, in a rotated order,
 * so drift on this shared machine hits all three alike; the ratio to bare is the median of per-round ratios.
 */
export async function runMiddlewareHTTP({ quick }) {
  // Five short rounds rather than three long ones: a median of five per-round ratios moves less between runs.
  const duration = quick ? 0.5 : 2;
  const rounds = quick ? 1 : 5;
  const alg = 'ES256';
  const { signKey, verifyKey } = keysFor(alg);
  const token = createSigner({ key: signKey, alg }).sign(realisticPayload());
  const headers = { authorization: `Bearer ${token}` };
  const base = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, keys: [verifyKey] };
  const rows = [];
  const skipped = [];
  for (const framework of Object.keys(FRAMEWORKS)) {
    const fw = FRAMEWORKS[framework];
    let adapter = null;
    try {
      adapter = await loadAdapter(framework);
      if (!adapter)
        skipped.push(`${framework}: no middleware in packages/jwt/dist/src/middleware/${fw.file}`);
    } catch (err) {
      skipped.push(`${framework}: middleware failed to load (${err.message})`);
    }
    const variants = [{ variant: 'bare', verifier: null }];
    if (adapter) {
      variants.push({ variant: 'middleware, no cache', verifier: createVerifier(base) });
      variants.push({
        variant: 'middleware + cache',
        verifier: createVerifier({ ...base, cache: { maxEntries: 10000 } }),
      });
    }
    try {
      for (const v of variants) {
        v.server = await fw.start(v.verifier, adapter);
        v.samples = [];
        // The middleware really guards the endpoint: no token is a 401, the bench token a 200.
        const denied = await fetch(v.server.url);
        await denied.arrayBuffer();
        if (v.verifier && denied.status !== 401)
          throw new Error(`${framework} ${v.variant}: no token got ${denied.status}`);
        const allowed = await fetch(v.server.url, { headers });
        await allowed.arrayBuffer();
        if (allowed.status !== 200)
          throw new Error(`${framework} ${v.variant}: the bench token got ${allowed.status}`);
        // Short warm-up so JIT and connection setup do not count.
        if (!quick) await runLoad({ url: v.server.url, connections: 50, duration: 1, headers });
      }
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < variants.length; k++) {
          const v = variants[(k + r) % variants.length];
          const res = await runLoadWithCPU({ url: v.server.url, connections: 50, duration, headers }, [
            process.pid,
          ]);
          if (res.non2xx > 0 || res.errors > 0)
            throw new Error(`${framework} ${v.variant}: ${res.non2xx} non-2xx, ${res.errors} errors`);
          v.samples.push(res);
        }
      }
    } finally {
      for (const v of variants) {
        await v.server?.close();
        v.verifier?.close();
      }
    }
    const bare = variants[0];
    for (const v of variants) {
      const rps = v.samples.map((x) => x.requestsPerSec);
      const ratio = median(rps.map((x, i) => x / bare.samples[i].requestsPerSec));
      const cpu = v.samples.map((x) => x.requestsPerCPUSecond);
      const cpuRatio = cpu.every((x) => x !== undefined)
        ? median(cpu.map((x, i) => x / bare.samples[i].requestsPerCPUSecond))
        : undefined;
      rows.push({
        framework,
        variant: v.variant,
        requestsPerSec: median(rps),
        rounds: rps,
        p50: median(v.samples.map((x) => x.p50)),
        p99: median(v.samples.map((x) => x.p99)),
        ratioToBare: ratio,
        requestsPerCPUSecond: cpu.every((x) => x !== undefined) ? median(cpu) : undefined,
        cpuRatioToBare: cpuRatio,
        ...(v.variant === 'middleware + cache' ? { pass: ratio >= 0.9 } : {}),
      });
    }
    process.stderr.write(`  sdk http: ${framework} done\n`);
  }
  const md = [
    `### Verifier SDK: HTTP, trivial endpoint bare vs behind the middleware (in-process server, autocannon in a child process, 50 connections, ES256 token, ${rounds} interleaved rounds of ${duration} s, medians)`,
    '',
    markdownTable(
      [
        'framework',
        'variant',
        'req/s',
        'p50 ms',
        'p99 ms',
        '× bare',
        'req/CPU-s',
        '× bare (CPU)',
        'goal ≥ 0.9× (cache)',
      ],
      rows.map((r) => [
        r.framework,
        r.variant,
        fmtOps(r.requestsPerSec),
        r.p50,
        r.p99,
        fmtRatio(r.ratioToBare),
        fmtOps(r.requestsPerCPUSecond),
        fmtRatio(r.cpuRatioToBare),
        fmtGoal(r.pass),
      ]),
    ),
  ];
  if (skipped.length) md.push('', `Skipped: ${skipped.join('; ')}.`);
  return { duration, rounds, connections: 50, rows, skipped, markdown: md.join('\n') };
}
