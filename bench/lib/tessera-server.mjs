// Start `tessera serve` and `tessera clients create` as child processes on a temp data dir (sections 3, 4).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const TESSERA_BIN = join(here, '..', '..', 'packages', 'server', 'bin', 'tessera.js');

/** A fresh temp data dir; `remove()` deletes it. */
export function tempDataDir(prefix = 'tessera-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort() {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Run the tessera CLI to completion; resolves to stdout, rejects on a non-zero exit. */
export function tesseraCLI(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [TESSERA_BIN, ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`tessera ${args.slice(0, 2).join(' ')} exited ${code}: ${err.slice(-1000)}`));
    });
  });
}

/** Create a client_credentials client and return `{ clientId, clientSecret, basic }`. */
export async function createBenchClient(
  storageArgs,
  { id, tokenFormat = 'jwt', audience, scope, introspectAudience },
  env = {},
) {
  const out = await tesseraCLI(
    [
      'clients',
      'create',
      '--id',
      id,
      '--grants',
      'client_credentials',
      '--token-format',
      tokenFormat,
      '--audience',
      audience,
      '--scope',
      scope,
      ...(introspectAudience ? ['--introspect-audience', introspectAudience] : []),
      '--json',
      '--init', // the bench creates clients before the first server start: create the state
      ...storageArgs,
    ],
    env,
  );
  const c = JSON.parse(out);
  return {
    clientId: c.client_id,
    clientSecret: c.client_secret,
    basic: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`,
  };
}

/**
 * Start `tessera serve` on a free port with rate limits off (the benchmark is one client from one IP) and
 * warn-level logs. Resolves to `{ url, port, child, stop() }` once it answers /readyz.
 */
export async function startTessera(storageArgs, { env = {}, extraArgs = [] } = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    'serve',
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--issuer',
    url,
    '--rate-limit-client',
    '0',
    '--rate-limit-ip',
    '0',
    '--log-level',
    'warn',
    ...storageArgs,
    ...extraArgs,
  ];
  const child = track(
    spawn(process.execPath, [TESSERA_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  child.stdout.resume();
  const deadline = Date.now() + 120_000; // generous: this machine is often shared and overloaded
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tessera serve exited ${child.exitCode}: ${err}`);
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tessera serve did not become ready in 120 s: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { url, port, child, stop, stderr: () => err };
}

/** Start the node-oidc-provider peer (bench/lib/oidc-peer.mjs) in a child process. */
export async function startOIDCPeer(config) {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [join(here, 'oidc-peer.mjs'), JSON.stringify({ ...config, port })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`oidc-provider peer did not start: ${err}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`oidc-provider peer exited ${code}: ${err}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { url, child, stop };
}
