/**
 * A world for token exchange tests: a real server on 127.0.0.1 port 0 (clock adjustable), a login backend
 * issuing user tokens through jwt-bearer (JWT and opaque), three services that exchange along a chain
 * (orders-svc → payments-svc → ledger-svc → audit-svc), an intruder service, and a foreign issuer whose JWKS a
 * local HTTP server publishes, trusted by partner-svc. Requests go over the network with fetch.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import { JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT } from '../../src/oauth/grants/index.js';
import {
  basic,
  makeClientKey,
  signAssertion,
  startHarness,
  type ClientKey,
  type Harness,
} from '../oauth/harness.js';

export const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export { TOKEN_EXCHANGE_GRANT };

type PrivateKey = Awaited<ReturnType<typeof jose.generateKeyPair>>['privateKey'];

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export interface World {
  h: Harness;
  /** Milliseconds added to the real time (the server's clock). */
  offset: { ms: number };
  secrets: Record<string, string>;
  loginKey: ClientKey;
  /** A user token for `sub` (aud orders-api unless `audience`), from the JWT or the opaque login backend. */
  userToken(options?: {
    sub?: string;
    scope?: string;
    opaque?: boolean;
    audience?: string;
    claims?: Record<string, unknown>;
  }): Promise<string>;
  /** POST a token exchange as `clientId`; `form` adds to or overrides the defaults. */
  exchange(clientId: string, subjectToken: string, form?: Record<string, string>): Promise<Answer>;
  /** POST any form to the token endpoint as `clientId`. */
  token(clientId: string, form: Record<string, string>): Promise<Answer>;
  foreign: {
    issuer: string;
    jwksUri: string;
    /** Sign a JWT as the foreign issuer; `claims` override the defaults (aud partner-svc, sub ext-user-1). */
    sign(claims?: Record<string, unknown>, options?: { key?: PrivateKey; typ?: string }): Promise<string>;
    /** A key the foreign issuer does not publish. */
    strangerKey: PrivateKey;
  };
  close(): Promise<void>;
}

async function post(url: string, auth: string, form: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Start the world; `values` are extra `tessera serve` flags. */
export async function startWorld(values: Record<string, string> = {}): Promise<World> {
  const offset = { ms: 0 };
  // The foreign issuer: an ES256 key published by a loopback JWKS server.
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const stranger = await jose.generateKeyPair('ES256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'foreign-1', alg: 'ES256', use: 'sig' };
  const jwksServer: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const port = (jwksServer.address() as AddressInfo).port;
  const foreignIssuer = `http://127.0.0.1:${port}/idp`;
  const jwksUri = `http://127.0.0.1:${port}/idp/jwks.json`;

  const closeJWKS = () => {
    jwksServer.closeAllConnections();
    return new Promise<void>((resolve) => jwksServer.close(() => resolve()));
  };
  let h: Harness;
  try {
    h = await startHarness(values, { clock: () => Date.now() + offset.ms });
  } catch (err) {
    await closeJWKS();
    throw err;
  }
  const loginKey = await makeClientKey();
  const secrets: Record<string, string> = {};
  const add = async (options: Parameters<Harness['addClient']>[0]) => {
    secrets[options.id] = (await h.addClient(options)).secret!;
  };
  const serviceScope = ['orders:read', 'payments:read', 'payments:write', 'ledger:read', 'audit:read'];
  await add({
    id: 'login',
    grants: [JWT_BEARER_GRANT],
    jwks: loginKey.jwks,
    audience: ['orders-api', 'inventory-api'],
    scope: ['orders:read', 'orders:write', 'payments:read', 'ledger:read', 'audit:read'],
    allowedClaims: ['tenant_id'],
  });
  await add({
    id: 'login-opaque',
    grants: [JWT_BEARER_GRANT],
    jwks: loginKey.jwks,
    tokenFormat: 'opaque',
    audience: ['orders-api'],
    scope: ['orders:read', 'payments:read'],
    allowedClaims: ['tenant_id'],
  });
  const service = (id: string, serves: string, calls: string) =>
    add({
      id,
      grants: [TOKEN_EXCHANGE_GRANT],
      scope: serviceScope,
      introspectAudiences: [serves],
      exchangeAudiences: [calls],
      allowedClaims: ['tenant_id'],
    });
  await service('orders-svc', 'orders-api', 'payments-api');
  await service('payments-svc', 'payments-api', 'ledger-api');
  await service('ledger-svc', 'ledger-api', 'audit-api');
  await service('audit-svc', 'audit-api', 'archive-api');
  // Another service with the same rights downstream, serving another API.
  await service('intruder-svc', 'inventory-api', 'payments-api');
  await add({
    id: 'partner-svc',
    grants: [TOKEN_EXCHANGE_GRANT],
    scope: ['payments:read'],
    exchangeAudiences: ['payments-api'],
    exchangeTrustIssuers: [{ issuer: foreignIssuer, jwksUri }],
    allowedClaims: ['tenant_id'],
  });

  const tokenUrl = `${h.url}/oauth/token`;
  const token = (clientId: string, form: Record<string, string>) =>
    post(tokenUrl, basic(clientId, secrets[clientId]!), form);

  return {
    h,
    offset,
    secrets,
    loginKey,
    async userToken(options = {}) {
      const client = options.opaque ? 'login-opaque' : 'login';
      const assertion = await signAssertion(loginKey, {
        iss: client,
        sub: options.sub ?? 'usr_alice',
        aud: tokenUrl,
        tenant_id: 't-1',
        ...options.claims,
      });
      const res = await token(client, {
        grant_type: JWT_BEARER_GRANT,
        assertion,
        scope: options.scope ?? 'orders:read payments:read',
        audience: options.audience ?? 'orders-api',
      });
      if (res.status !== 200) throw new Error(`user token: ${JSON.stringify(res.body)}`);
      return res.body.access_token as string;
    },
    exchange(clientId, subjectToken, form = {}) {
      return token(clientId, {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subjectToken,
        subject_token_type: ACCESS_TOKEN,
        ...form,
      });
    },
    token,
    foreign: {
      issuer: foreignIssuer,
      jwksUri,
      strangerKey: stranger.privateKey,
      async sign(claims = {}, options = {}) {
        const now = Math.floor((Date.now() + offset.ms) / 1000);
        return new jose.SignJWT({
          iss: foreignIssuer,
          sub: 'ext-user-1',
          aud: 'partner-svc',
          iat: now,
          exp: now + 300,
          jti: crypto.randomUUID(),
          scope: 'payments:read',
          tenant_id: 't-9',
          ...claims,
        })
          .setProtectedHeader({ alg: 'ES256', kid: 'foreign-1', typ: options.typ ?? 'at+jwt' })
          .sign(options.key ?? privateKey);
      },
    },
    async close() {
      await h.close();
      await closeJWKS();
    },
  };
}
