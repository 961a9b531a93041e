/**
 * Test harness for the OAuth endpoints: a real server (startServer) on 127.0.0.1 port 0 with a temp data
 * dir, plus helpers to register clients through the same code the CLI uses and to make client keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type ServerHandle } from '../../src/server/start.js';
import { createLogger } from '../../src/server/app.js';
import { createClient, type CreateClientOptions } from '../../src/oauth/clients.js';

export interface Harness {
  server: ServerHandle;
  url: string;
  dataDir: string;
  /** Register a client (same validation as `tessera clients create`); returns its secret if it has one. */
  addClient(options: CreateClientOptions): Promise<{ id: string; secret: string | undefined }>;
  /** POST a form to a path of the server (in-process, fastify.inject). */
  post(
    path: string,
    form: Record<string, string> | string,
    headers?: Record<string, string>,
  ): Promise<InjectResult>;
  close(): Promise<void>;
}

export interface InjectResult {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  json: () => Record<string, unknown>;
}

/**
 * Start a server. `values` are `tessera serve` flag values (strings), e.g. `{ 'rate-limit-client': '3' }`.
 *
 * @example
 * const h = await startHarness();
 * const { id, secret } = await h.addClient({ id: 'svc', grants: ['client_credentials'] });
 */
export async function startHarness(
  values: Record<string, string> = {},
  options: { clock?: () => number; dataDir?: string } = {},
): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tessera-oauth-'));
  const config = loadConfig({
    values: { port: '0', host: '127.0.0.1', 'data-dir': dataDir, 'log-level': 'silent', ...values },
    env: {},
  });
  const server = await startServer(config, {
    log: createLogger('silent'),
    scheduleKeys: false,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const { ctx } = server;
  return {
    server,
    url: server.url,
    dataDir,
    async addClient(clientOptions) {
      const { client, secret } = await createClient(
        ctx.store,
        clientOptions,
        ctx.config,
        ctx.pepper,
        ctx.clock(),
      );
      return { id: client.id, secret };
    },
    async post(path, form, headers = {}) {
      const payload = typeof form === 'string' ? form : new URLSearchParams(form).toString();
      const res = await server.app.inject({
        method: 'POST',
        url: path,
        payload,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
      return {
        status: res.statusCode,
        headers: res.headers,
        body: res.body,
        json: () => JSON.parse(res.body) as Record<string, unknown>,
      };
    },
    async close() {
      await server.close();
      // A shared data dir belongs to the caller.
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { basic } from '../helpers/http.js';

export interface ClientKey {
  privateKey: Awaited<ReturnType<typeof jose.generateKeyPair>>['privateKey'];
  jwks: string;
  kid: string;
}

/** An ES256 key pair for a client; `jwks` is the public JWK Set as JSON text. */
export async function makeClientKey(): Promise<ClientKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(jwk);
  return { privateKey, kid, jwks: JSON.stringify({ keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] }) };
}

/** Sign an assertion with a client key (jose); `claims` override the defaults. */
export async function signAssertion(
  key: ClientKey,
  claims: Record<string, unknown>,
  options: { expiresIn?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({
    iat: now,
    exp: now + (options.expiresIn ?? 60),
    jti: crypto.randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .sign(key.privateKey);
}
