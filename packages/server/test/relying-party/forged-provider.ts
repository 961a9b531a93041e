/**
 * A test-only OpenID Provider whose every answer the test chooses: metadata, JWKS and a token endpoint that
 * returns an ID token signed (with `jose`, the reference implementation) by whatever key, algorithm and claims
 * the test sets. It plays the hostile or broken upstream for the attacks no real provider would commit; the
 * happy paths run against real providers (Tessera itself, oidc-provider).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';

type SigningKey = Awaited<ReturnType<typeof jose.generateKeyPair>>['privateKey'];

export interface ForgedProvider {
  issuer: string;
  /** The key in the published JWKS (ES256). */
  key: SigningKey;
  /** Edit before a request: the metadata document served. */
  metadata: Record<string, unknown>;
  /** The next token response's ID token (set by the test; a function gets the nonce of the last authorize). */
  idToken: (nonce: string | undefined) => Promise<string>;
  /** Extra fields or a status for the token response. */
  tokenResponse: { status: number; body?: Record<string, unknown> };
  /** The last token request's form. */
  lastTokenRequest?: URLSearchParams;
  /** Remember the nonce of an authorization URL built by the relying party (the forged provider has no UI). */
  authorized(url: URL): void;
  /** Sign claims the usual way (ES256 with `key`), overriding any defaults. */
  sign(
    claims: Record<string, unknown>,
    header?: Partial<jose.JWTHeaderParameters>,
    key?: SigningKey,
  ): Promise<string>;
  close(): Promise<void>;
}

/**
 * Start one on 127.0.0.1:0.
 *
 * @example const upstream = await startForgedProvider('rp-client'); upstream.idToken = async () => 'a.b.c';
 */
export async function startForgedProvider(clientId: string): Promise<ForgedProvider> {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  let nonce: string | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = new URL(req.url ?? '/', provider.issuer).pathname;
        res.setHeader('content-type', 'application/json');
        if (path === '/.well-known/openid-configuration') {
          res.end(JSON.stringify(provider.metadata));
          return;
        }
        if (path === '/jwks') {
          res.end(JSON.stringify({ keys: [jwk] }));
          return;
        }
        if (path === '/token') {
          provider.lastTokenRequest = new URLSearchParams(Buffer.concat(chunks).toString());
          const { status, body } = provider.tokenResponse;
          res.statusCode = status;
          const idToken = await provider.idToken(nonce);
          res.end(
            JSON.stringify({
              access_token: 'at-1',
              token_type: 'Bearer',
              expires_in: 300,
              id_token: idToken,
              ...body,
            }),
          );
          return;
        }
        res.statusCode = 404;
        res.end('{}');
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider: ForgedProvider = {
    issuer,
    key: privateKey,
    metadata: {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      end_session_endpoint: `${issuer}/logout`,
      id_token_signing_alg_values_supported: ['ES256'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    },
    idToken: (n) => provider.sign({ nonce: n }),
    tokenResponse: { status: 200 },
    authorized(url) {
      nonce = url.searchParams.get('nonce') ?? undefined;
    },
    async sign(claims, header = {}, key = privateKey) {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: issuer,
        aud: clientId,
        sub: 'upstream-user',
        iat: now,
        exp: now + 300,
        ...claims,
      };
      for (const [name, value] of Object.entries(payload))
        if (value === undefined) delete (payload as Record<string, unknown>)[name];
      return new jose.SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'k1', ...header }).sign(key);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return provider;
}
