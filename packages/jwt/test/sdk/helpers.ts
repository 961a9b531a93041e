import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';
import {
  createSigner,
  exportJWK,
  generateKeyPair,
  type Alg,
  type GeneratedKeyPair,
  type JWKS,
  type JWTPayload,
  type Signer,
} from '../../src/index.js';

/**
 * Closing for a test file's servers: `listen(server)` starts a node server on 127.0.0.1, port 0, and tracks
 * it; `track(server)` registers a listening node server (connections dropped, then closed) and returns its
 * port; `onClose(fn)` registers any other closer. Everything closes after the file. Call once at the top level
 * of a test file.
 */
export function serverCloser(): {
  listen(server: Server): Promise<number>;
  track(server: Server): number;
  onClose(fn: () => Promise<void>): void;
} {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    await Promise.all(closers.map((c) => c()));
  });
  const track = (server: Server): number => {
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return (server.address() as AddressInfo).port;
  };
  return {
    async listen(server) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return track(server);
    },
    track,
    onClose(fn) {
      closers.push(fn);
    },
  };
}

/** A loopback HTTP server started by a test; always close it. */
export interface TestServer {
  url: string;
  /** Requests seen, in order. */
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  close(): Promise<void>;
  server: Server;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** Start a node:http server on 127.0.0.1, port 0. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a test JWKS server does on its next requests. */
export interface JWKSServerState {
  jwks: JWKS;
  mode: 'ok' | 'slow' | '500' | 'hang' | 'garbage' | 'huge' | 'huge-declared' | 'redirect';
  etag?: string;
  cacheControl?: string;
  redirectTo?: string;
}

/** A JWKS server whose behaviour the test switches; answers 304 when If-None-Match matches its ETag. */
export async function startJWKSServer(initial: JWKS): Promise<TestServer & { state: JWKSServerState }> {
  const state: JWKSServerState = { jwks: initial, mode: 'ok' };
  const srv = await startServer((req, res) => {
    switch (state.mode) {
      case '500':
        res.writeHead(500).end('oops');
        return;
      case 'hang':
        return; // never answer
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ this is not json');
        return;
      case 'huge': {
        // 10 MiB, chunked (no content-length): the cap must hold while streaming.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 10 && res.write(chunk)) sent++;
          if (sent < 10) res.once('drain', pump);
          else res.end();
        };
        res.on('error', () => {});
        pump();
        return;
      }
      case 'huge-declared':
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': String(10 * 1024 * 1024),
        });
        res.on('error', () => {});
        res.write(Buffer.alloc(1024, 0x20));
        return;
      case 'redirect':
        res.writeHead(302, { location: state.redirectTo ?? '/elsewhere' }).end();
        return;
      case 'slow':
        setTimeout(
          () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state.jwks)),
          300,
        );
        return;
      default: {
        if (state.etag !== undefined && req.headers['if-none-match'] === state.etag) {
          res.writeHead(304, { etag: state.etag }).end();
          return;
        }
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (state.etag !== undefined) headers.etag = state.etag;
        if (state.cacheControl !== undefined) headers['cache-control'] = state.cacheControl;
        res.writeHead(200, headers).end(JSON.stringify(state.jwks));
      }
    }
  });
  return Object.assign(srv, { state });
}

/** A key pair with a signer and its public JWK. */
export interface TestKey {
  pair: GeneratedKeyPair;
  signer: Signer;
  kid: string;
  jwk: ReturnType<typeof exportJWK>;
}

export function makeKey(alg: Alg = 'ES256'): TestKey {
  const pair = generateKeyPair(alg);
  const signer = createSigner({ key: pair.privateKey, alg });
  return { pair, signer, kid: pair.publicKey.kid!, jwk: exportJWK(pair.publicKey) };
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);

export function claims(extra: JWTPayload = {}): JWTPayload {
  return {
    iss: 'https://issuer.test',
    aud: 'api',
    sub: 'user-1',
    exp: nowSec() + 600,
    jti: `j-${Math.random()}`,
    ...extra,
  };
}

/** The code of a rejection (or 'resolved'). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}
