/**
 * Real `tessera` processes for multi-instance tests: spawn, wait for the listening line, stop. Every process
 * started here is tracked so that a failing test still kills it (`stopAll`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TESSERA_BIN = fileURLToPath(new URL('../../../bin/tessera.js', import.meta.url));

export interface ServeProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Output so far (for failure messages). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Start `tessera serve ARGS` and resolve once it prints its URL. */
export function startServe(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 20_000,
): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [TESSERA_BIN, 'serve', '--host', '127.0.0.1', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(proc);
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`tessera serve did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stdout!.on('data', (x: Buffer) => (out += x.toString()));
        resolve({
          url: m[1]!,
          port: Number(m[2]),
          proc,
          output: () => out,
          stop: (signal = 'SIGTERM') => stopProcess(proc, signal),
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (code) => {
      running.delete(proc);
      clearTimeout(timer);
      if (!/listening on/.test(out)) reject(new Error(`tessera serve exited with ${code}:\n${out}`));
    });
  });
}

export function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => {
      clearTimeout(force);
      running.delete(proc);
      resolve();
    });
    proc.kill(signal);
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stopProcess(p, 'SIGKILL')));
}

/** Run `tessera ARGS` to completion; `stdin` (a secret or password) is written to its standard input. */
export function runTessera(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [TESSERA_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    proc.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `tessera clients create ARGS --json` on a store; fails the test on a non-zero exit. */
export async function createClientCLI(
  args: string[],
  storeSpec: string,
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ client_id?: string; client_secret?: string }> {
  const r = await runTessera(
    ['clients', 'create', ...args, '--json', '--store', storeSpec, '--data-dir', dir],
    env,
  );
  if (r.code !== 0) throw new Error(`tessera clients create failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { client_id?: string; client_secret?: string };
}
