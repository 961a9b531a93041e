/**
 * The parts of a proxy test, all real and on loopback: Tessera (in-process harness, injectable clock),
 * a small node:http app that verifies the forwarded token with @tessera/jwt and shows the email, and
 * `tessera proxy` in front of it. Plus a cookie-jar HTTP client that plays the browser.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { createVerifier, type Verifier } from '@tessera/jwt';
import type { Harness } from '../oauth/harness.js';
import { addCodeClient, createUser, signIn, startOidcHarness, type CodeClient } from '../oidc/helpers.js';
import { buildProxyOptions } from '../../src/proxy/options.js';
import { startProxy, type ProxyHandle } from '../../src/proxy/app.js';
import type { UserRecord } from '../../src/store/types.js';

/** What the app saw of the last request. */
export interface Seen {
  headers: IncomingMessage['headers'];
  email: string | undefined;
  verified: boolean;
}

export interface App {
  url: string;
  server: Server;
  seen: Seen[];
  /** End every open /stream response with its second chunk. */
  releaseStreams(): void;
  /** Resolves once a /held request has reached the app. */
  heldArrived(): Promise<void>;
  /** Answer every /held request. */
  releaseHeld(): void;
  close(): Promise<void>;
}

/**
 * The app behind the proxy: verifies `Authorization: Bearer` (or `Tessera-Jwt-Assertion`) with the SDK in
 * three lines and shows the email. `/slow` never answers in time, `/stream` streams chunks, `/ws` echoes.
 */
export async function startApp(
  issuer: string,
  audience: string,
  clock: () => number = Date.now,
  jwksUri = `${issuer}/.well-known/jwks.json`,
): Promise<App> {
  const verifier: Verifier = createVerifier({
    issuer,
    audience,
    algorithms: ['ES256'],
    jwksUri,
    typ: 'at+jwt',
    clock,
  });
  const seen: Seen[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const header = req.headers['tessera-jwt-assertion'] ?? req.headers.authorization?.replace(/^Bearer /, '');
    let email: string | undefined;
    let verified = false;
    if (typeof header === 'string') {
      try {
        const { payload } = await verifier.verify(header);
        email = payload['email'] as string | undefined;
        verified = true;
      } catch {
        verified = false;
      }
    }
    seen.push({ headers: req.headers, email, verified });
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/slow') return; // never answers: the proxy's timeout answers 504
    if (path === '/held') {
      // Answered only when the test releases it (after the client has gone).
      held.push(res);
      for (const wake of heldWaiters.splice(0)) wake();
      return;
    }
    if (path === '/stream') {
      // The second chunk only once the test has read the first through the proxy (no timing).
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      streams.push(res);
      return;
    }
    if (path === '/echo-body') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.concat(chunks));
      return;
    }
    if (path === '/set-cookie') {
      res.writeHead(200, {
        'set-cookie': ['tessera_proxy_session=planted; Path=/', 'app_pref=dark; Path=/'],
      });
      res.end('ok');
      return;
    }
    if (!verified) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('no token');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      connection: 'keep-alive, x-app-secret',
      'x-app-secret': 'hop',
    });
    res.end(`<!doctype html><title>App</title><h1>Hello ${email ?? 'someone'}</h1>`);
  };
  const streams: ServerResponse[] = [];
  const held: ServerResponse[] = [];
  const heldWaiters: (() => void)[] = [];
  const server = createServer((req, res) => void handle(req, res));
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket, req) => {
    const auth = req.headers.authorization ?? req.headers['tessera-jwt-assertion'] ?? '';
    void verifier.verify(String(auth).replace(/^Bearer /, '')).then(
      (r) => socket.send(`hello ${String(r.payload['email'])}`),
      () => socket.close(4001, 'no token'),
    );
    socket.on('message', (data) => socket.send(`echo ${String(data)}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    seen,
    heldArrived: () =>
      held.length > 0 ? Promise.resolve() : new Promise((resolve) => heldWaiters.push(resolve)),
    releaseHeld() {
      for (const r of held.splice(0)) r.end('late answer');
    },
    releaseStreams() {
      for (const r of streams.splice(0)) r.end('second\n');
    },
    async close() {
      if (!server.listening) return;
      for (const c of wss.clients) c.terminate();
      wss.close();
      verifier.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface World {
  h: Harness;
  app: App;
  proxy: ProxyHandle;
  client: CodeClient;
  /** Milliseconds added to the real time, for Tessera and the proxy alike. */
  advance(ms: number): void;
  clock: () => number;
  close(): Promise<void>;
}

/**
 * Tessera + app + proxy. `flags` are `tessera proxy` flag values (besides upstream, issuer, client id).
 *
 * @example const w = await startWorld({ 'allow-email-domain': ['example.com'] });
 */
export async function startWorld(
  flags: Record<string, string | string[] | boolean> = {},
  client: { accessTtl?: number; audience?: string } = {},
): Promise<World> {
  let offset = 0;
  const clock = () => Date.now() + offset;
  const h = await startOidcHarness({}, { clock });
  const audience = client.audience ?? 'app';
  const app = await startApp(h.url, audience, clock);
  const secret = 'proxy-secret-' + Math.random().toString(36).slice(2);
  const options = buildProxyOptions(
    {
      listen: '127.0.0.1:0',
      upstream: app.url,
      issuer: h.url,
      'client-id': 'gate',
      audience,
      'upstream-timeout': '2s',
      ...flags,
    },
    secret,
  );
  const proxy = await startProxy(options, { clock });
  const { hashClientSecret } = await import('../../src/oauth/crypto.js');
  const code = await addCodeClient(h, 'gate', {
    redirectUris: [`${proxy.url}/.tessera/callback`],
    postLogoutRedirectUris: [`${proxy.url}/.tessera/signed-out`],
    audience: [audience],
    allowedClaims: ['email', 'tenant_id'],
    secretHash: hashClientSecret(h.server.ctx.pepper, secret),
    accessTtl: client.accessTtl ?? 900,
  });
  return {
    h,
    app,
    proxy,
    client: code,
    clock,
    advance: (ms) => {
      offset += ms;
    },
    async close() {
      await proxy.close();
      await app.close();
      await h.close();
    },
  };
}

/** A browser: a cookie jar per origin (by name; enough for loopback tests), manual redirects. */
export class Browser {
  readonly cookies = new Map<string, Map<string, string>>();

  cookieHeader(url: string): string | undefined {
    const jar = this.cookies.get(new URL(url).origin);
    if (jar === undefined || jar.size === 0) return undefined;
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  store(url: string, res: Response): void {
    const origin = new URL(url).origin;
    const jar = this.cookies.get(origin) ?? new Map<string, string>();
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(origin, jar);
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has('accept')) headers.set('accept', 'text/html,application/xhtml+xml');
    const cookie = this.cookieHeader(url);
    if (cookie !== undefined && !headers.has('cookie')) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(url, res);
    return res;
  }

  /** Follow redirects (at most 10), returning the last response and every URL visited. */
  async follow(url: string, init: RequestInit = {}): Promise<{ res: Response; visited: string[] }> {
    const visited = [url];
    let res = await this.fetch(url, init);
    for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
      await res.arrayBuffer();
      const next = new URL(res.headers.get('location')!, visited.at(-1)).href;
      visited.push(next);
      res = await this.fetch(next);
    }
    return { res, visited };
  }
}

/**
 * A browser signed in at Tessera as a new user (its Tessera session cookie set), then through the proxy.
 *
 * @example const { browser, user } = await signedInBrowser(w);
 */
export async function signedInBrowser(
  w: World,
  user: Partial<UserRecord> = {},
  path = '/',
): Promise<{ browser: Browser; user: UserRecord; res: Response; visited: string[] }> {
  const created = await createUser(w.h, user);
  const browser = new Browser();
  const tessera = await signIn(w.h, created);
  const [name, value] = tessera.cookie.split('=') as [string, string];
  browser.cookies.set(new URL(w.h.url).origin, new Map([[name, value]]));
  const { res, visited } = await browser.follow(`${w.proxy.url}${path}`);
  return { browser, user: created, res, visited };
}
