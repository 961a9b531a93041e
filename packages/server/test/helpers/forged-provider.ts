/**
 * A test-only OpenID Provider whose every answer the test chooses: metadata (editable), a JWKS, a
 * browser-facing `/authorize` that answers at once (no login page) with a code, the state and an `iss` the
 * test may change, and a token endpoint returning whatever ID token the test builds, signed with `jose` (the
 * reference implementation) by a key the test chooses. It plays the hostile or broken upstream for the
 * attacks no real provider would commit, against the relying party alone and end to end through Tessera's
 * federation callback; the happy paths run against real providers (Tessera itself, oidc-provider).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';

type SigningKey = Awaited<ReturnType<typeof jose.generateKeyPair>>['privateKey'];

export interface ForgedProvider {
  issuer: string;
  /** The metadata document served; edit it before a discovery. */
  metadata: Record<string, unknown>;
  /** The `iss` put in the authorization response (RFC 9207); undefined leaves it out. Default: the issuer. */
  responseIss: string | undefined;
  /** Builds the ID token of the next token response from the nonce of the code's authorization request. */
  idToken: (nonce: string) => Promise<string>;
  /** The token response's status and fields added to (or overriding) the usual ones. */
  tokenResponse: { status: number; body?: Record<string, unknown> };
  /** The form of the last token request. */
  lastTokenRequest?: URLSearchParams;
  /** For a relying party driven without a browser: remember the nonce of an authorization URL it built. */
  authorized(url: URL): void;
  /**
   * Sign claims (defaults: iss, aud = the client id, sub, a verified email, iat, exp; an undefined value
   * removes one) as ES256 with `key` (default: the published one) and extra header fields.
   */
  sign(
    claims: Record<string, unknown>,
    options?: { key?: SigningKey; header?: Record<string, unknown> },
  ): Promise<string>;
  close(): Promise<void>;
}

/**
 * Start one on 127.0.0.1:0 for `clientId`.
 *
 * @example const evil = await startForgedProvider('tessera'); evil.idToken = (n) => evil.sign({ nonce: n, aud: 'other' });
 */
export async function startForgedProvider(clientId: string): Promise<ForgedProvider> {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const nonces = new Map<string, string>(); // code → nonce of its authorization request
  let lastNonce = '';
  let issued = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', provider.issuer);
        const json = (body: unknown, status = 200) => {
          res.statusCode = status;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(body));
        };
        if (url.pathname === '/.well-known/openid-configuration') return json(provider.metadata);
        if (url.pathname === '/jwks') return json({ keys: [jwk] });
        if (url.pathname === '/authorize') {
          const code = `code-${++issued}`;
          nonces.set(code, url.searchParams.get('nonce') ?? '');
          const back = new URL(url.searchParams.get('redirect_uri')!);
          back.searchParams.set('code', code);
          back.searchParams.set('state', url.searchParams.get('state') ?? '');
          if (provider.responseIss !== undefined) back.searchParams.set('iss', provider.responseIss);
          res.statusCode = 302;
          res.setHeader('location', back.href);
          return res.end();
        }
        if (url.pathname === '/token') {
          // The code is not checked: the attacks are about what the relying party accepts, not this server.
          const form = new URLSearchParams(Buffer.concat(chunks).toString());
          provider.lastTokenRequest = form;
          const nonce = nonces.get(form.get('code') ?? '') ?? lastNonce;
          const { status, body } = provider.tokenResponse;
          return json(
            {
              access_token: 'upstream-at',
              token_type: 'Bearer',
              expires_in: 300,
              id_token: await provider.idToken(nonce),
              ...body,
            },
            status,
          );
        }
        return json({}, 404);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider: ForgedProvider = {
    issuer,
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
    responseIss: issuer,
    idToken: (nonce) => provider.sign({ nonce }),
    tokenResponse: { status: 200 },
    authorized(url) {
      lastNonce = url.searchParams.get('nonce') ?? '';
    },
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer,
        aud: clientId,
        sub: 'upstream-sub-1',
        email: 'mallory@corp.example',
        email_verified: true,
        iat: now,
        exp: now + 300,
        ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      return new jose.SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', ...options.header })
        .sign(options.key ?? privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return provider;
}
