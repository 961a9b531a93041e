/**
 * A small web application that signs its users in with Tessera through `oauth4webapi` (a relying-party
 * library nobody here wrote): authorization code + PKCE + state + nonce, RFC 9207 `iss` checked, ID token
 * claims validated, tokens kept per browser. The browser tests drive it in Chromium.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';

const insecure = { [oauth.allowInsecureRequests]: true } as const;

export interface RelyingPartyTokens {
  accessToken: string;
  idToken: string;
  refreshToken: string | undefined;
  claims: oauth.IDToken;
  scope: string | undefined;
}

export interface RelyingParty {
  url: string;
  /** The redirect URI to register: `${url}/callback`. */
  redirectUri: string;
  postLogoutRedirectUri: string;
  client: oauth.Client;
  /** Tokens of the last successful sign-in. */
  last: RelyingPartyTokens | undefined;
  /** The last error the callback saw (an OAuth error code or a library error message). */
  lastError: string | undefined;
  as(): oauth.AuthorizationServer;
  close(): Promise<void>;
}

interface Pending {
  state: string;
  nonce: string;
  verifier: string;
  /** For the nonce-mismatch test: the nonce to expect instead of the one sent. */
  expectNonce: string;
}

function page(res: ServerResponse, status: number, id: string, text: string): void {
  const escaped = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>RP</title><pre id="${id}">${escaped}</pre>`);
}

/**
 * Start the app on 127.0.0.1 port 0. `clientId`/`clientSecret` are filled in after registration (the
 * redirect URI needs the port first). `/login?prompt=…&scope=…&max_age=…&bad_nonce=1` starts a sign-in.
 *
 * @example
 * const rp = await startRelyingParty(issuer);
 */
export async function startRelyingParty(
  issuer: string,
): Promise<RelyingParty & { register(clientId: string, secret: string | undefined): Promise<void> }> {
  const pending = new Map<string, Pending>();
  let as: oauth.AuthorizationServer | undefined;
  let client: oauth.Client = { client_id: '' };
  let auth: oauth.ClientAuth = oauth.None();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', rp.url);
    const cookie = /rp=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (url.pathname === '/login') {
      const id = randomBytes(16).toString('base64url');
      const p: Pending = {
        state: oauth.generateRandomState(),
        nonce: oauth.generateRandomNonce(),
        verifier: oauth.generateRandomCodeVerifier(),
        expectNonce: '',
      };
      p.expectNonce = url.searchParams.has('bad_nonce') ? oauth.generateRandomNonce() : p.nonce;
      pending.set(id, p);
      const target = new URL(as!.authorization_endpoint!);
      target.searchParams.set('response_type', 'code');
      target.searchParams.set('client_id', client.client_id);
      target.searchParams.set('redirect_uri', rp.redirectUri);
      target.searchParams.set('scope', url.searchParams.get('scope') ?? 'openid profile email');
      target.searchParams.set('state', p.state);
      target.searchParams.set('nonce', p.nonce);
      target.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(p.verifier));
      target.searchParams.set('code_challenge_method', 'S256');
      for (const name of ['prompt', 'max_age', 'login_hint']) {
        const value = url.searchParams.get(name);
        if (value !== null) target.searchParams.set(name, value);
      }
      res.writeHead(302, { location: target.href, 'set-cookie': `rp=${id}; Path=/; HttpOnly; SameSite=Lax` });
      res.end();
      return;
    }
    if (url.pathname === '/callback') {
      const p = cookie === undefined ? undefined : pending.get(cookie);
      if (p === undefined) return page(res, 400, 'error', 'no pending sign-in');
      pending.delete(cookie!);
      try {
        const params = oauth.validateAuthResponse(as!, client, url, p.state);
        const response = await oauth.authorizationCodeGrantRequest(
          as!,
          client,
          auth,
          params,
          rp.redirectUri,
          p.verifier,
          insecure,
        );
        const result = await oauth.processAuthorizationCodeResponse(as!, client, response, {
          expectedNonce: p.expectNonce,
          requireIdToken: true,
        });
        const claims = oauth.getValidatedIdTokenClaims(result)!;
        rp.last = {
          accessToken: result.access_token,
          idToken: result.id_token!,
          refreshToken: result.refresh_token,
          claims,
          scope: result.scope,
        };
        rp.lastError = undefined;
        return page(res, 200, 'signed-in', `Hello ${String(claims.email ?? claims.sub)}`);
      } catch (err) {
        const e = err as { error?: string; code?: string; message?: string };
        rp.lastError = e.error ?? e.code ?? e.message ?? 'error';
        return page(res, 400, 'error', rp.lastError);
      }
    }
    if (url.pathname === '/logged-out')
      return page(res, 200, 'logged-out', url.searchParams.get('state') ?? '');
    return page(res, 404, 'error', 'not found');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => page(res, 500, 'error', err.message));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const rp = {
    url: base,
    redirectUri: `${base}/callback`,
    postLogoutRedirectUri: `${base}/logged-out`,
    get client() {
      return client;
    },
    last: undefined as RelyingPartyTokens | undefined,
    lastError: undefined as string | undefined,
    as: () => as!,
    async register(clientId: string, secret: string | undefined) {
      client = { client_id: clientId };
      auth = secret === undefined ? oauth.None() : oauth.ClientSecretBasic(secret);
      const issuerURL = new URL(issuer);
      as = await oauth.processDiscoveryResponse(
        issuerURL,
        await oauth.discoveryRequest(issuerURL, { algorithm: 'oidc', ...insecure }),
      );
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return rp;
}
