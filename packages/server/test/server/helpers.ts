/** Shared test helpers for the server and key tests: temp dirs, configs, a quiet logger, a caching JWKS client. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import {
  importJWK,
  JWKSNoMatchingKey,
  type JWK,
  type KeyLookup,
  type KeySource,
  type TesseraKey,
} from '@tessera/jwt';
import { loadConfig, type ServerConfig } from '../../src/server/config.js';
import type { CommandIO } from '../../src/cli/main.js';

export function tempDir(prefix = 'tessera-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A logger that keeps its lines in memory, so tests can assert what was (never) logged. */
export function memoryLogger(level = 'info') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

/** A config for tests: loopback, port 0, the given data dir, test-sized timings. */
export function testConfig(
  dataDir: string,
  values: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
): ServerConfig {
  return loadConfig({ values: { port: '0', 'data-dir': dataDir, 'log-level': 'silent', ...values }, env });
}

/** Capture a command's output. */
export function captureIO(env: NodeJS.ProcessEnv = {}): CommandIO & { out(): string; err(): string } {
  let out = '';
  let err = '';
  const stdout = new Writable({
    write(c, _e, d) {
      out += String(c);
      d();
    },
  });
  const stderr = new Writable({
    write(c, _e, d) {
      err += String(c);
      d();
    },
  });
  return { stdout, stderr, stdin: process.stdin, env, out: () => out, err: () => err };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A JWKS client like a verifier in production: caches the set for the response's max-age and refetches
 * once when a token names an unknown kid. Stands in for the SDK's remote JWKS client until it exists.
 */
export function cachingJWKS(url: string) {
  let keys = new Map<string, TesseraKey>();
  let expiresAt = 0;
  let fetches = 0;
  async function refresh(): Promise<void> {
    const res = await fetch(url);
    if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`);
    const m = /max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '');
    const body = (await res.json()) as { keys: JWK[] };
    keys = new Map(body.keys.map((j) => [j.kid!, importJWK(j)]));
    expiresAt = Date.now() + Number(m?.[1] ?? 0) * 1000;
    fetches++;
  }
  const source: KeySource = {
    async resolve(lookup: KeyLookup) {
      if (Date.now() >= expiresAt) await refresh();
      let key = lookup.kid ? keys.get(lookup.kid) : undefined;
      if (!key) {
        await refresh();
        key = lookup.kid ? keys.get(lookup.kid) : undefined;
      }
      if (!key || !key.algorithms.includes(lookup.alg)) throw new JWKSNoMatchingKey();
      return key;
    },
    isTrusted: (key) => [...keys.values()].includes(key),
  };
  return { source, fetches: () => fetches, kids: () => [...keys.keys()] };
}
