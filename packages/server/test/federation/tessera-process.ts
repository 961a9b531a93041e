/**
 * An upstream Tessera that no test code controls: the compiled `tessera serve` in its own process, with its
 * own data dir (SQLite, its own KEK and keys) on a free loopback port, set up only through its CLI
 * (`tessera users create`, `tessera clients create`) the way an administrator would, and stopped at the end.
 * Nothing here reaches into its store or its clock: what a test learns about it comes over HTTP or from
 * what its CLI prints.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTessera, startServe, type ServeProcess } from '../helpers/processes.js';

export const UPSTREAM_PASSWORD = 'correct horse battery staple';

export interface UpstreamTessera {
  /** Its issuer: http://127.0.0.1:PORT (the default issuer, fixed once port 0 is bound). */
  url: string;
  dataDir: string;
  process: ServeProcess;
  /** `tessera ARGS --data-dir DIR` against its state; `stdin` for `--password-stdin`-style flags. */
  cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `tessera users create --email-verified --password-stdin --json`; returns its id (the upstream `sub`). */
  createUser(email: string, name: string): Promise<{ id: string; email: string }>;
  /** `tessera clients create --grants authorization_code --redirect-uri URI --first-party --json`. */
  createClient(id: string, redirectUri: string): Promise<{ id: string; secret: string }>;
  /** Stop the process (SIGTERM) and remove its data dir. */
  close(): Promise<void>;
}

/**
 * Start `tessera serve --port 0` on a fresh data dir. Rate limits stay at their defaults: the tests sign in
 * a handful of times, far below them.
 *
 * @example
 * const upstream = await startUpstreamTessera();
 * const ada = await upstream.createUser('ada@corp.example', 'Ada Lovelace');
 */
export async function startUpstreamTessera(): Promise<UpstreamTessera> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-upstream-'));
  let proc: ServeProcess;
  try {
    proc = await startServe(['--port', '0', '--data-dir', dataDir]);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const cli: UpstreamTessera['cli'] = (args, stdin) =>
    runTessera([...args, '--data-dir', dataDir], { TESSERA_ISSUER: proc.url }, stdin);
  const json = async (args: string[], stdin?: string) => {
    const res = await cli([...args, '--json'], stdin);
    assert.equal(res.code, 0, `tessera ${args.slice(0, 2).join(' ')} failed: ${res.stderr}`);
    return JSON.parse(res.stdout) as Record<string, unknown>;
  };
  return {
    url: proc.url,
    dataDir,
    process: proc,
    cli,
    async createUser(email, name) {
      const args = [
        'users',
        'create',
        '--email',
        email,
        '--name',
        name,
        '--email-verified',
        '--password-stdin',
      ];
      const user = await json(args, `${UPSTREAM_PASSWORD}\n`);
      return { id: String(user.id), email };
    },
    async createClient(id, redirectUri) {
      const client = await json([
        'clients',
        'create',
        '--id',
        id,
        '--grants',
        'authorization_code',
        '--redirect-uri',
        redirectUri,
        '--first-party',
      ]);
      return { id, secret: String(client.client_secret) };
    },
    async close() {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
