/**
 * A test-only OpenID Provider with a browser-facing `/authorize` that answers at once (no login page): it
 * sends the browser back to the callback with a code, the state and an `iss` the test may change, and its
 * token endpoint returns whatever ID token the test builds (signed with `jose` by a key the test chooses).
 * It plays the hostile upstream end to end through Tessera's callback; the happy paths use real providers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';

type Key = Awaited<ReturnType<typeof jose.generateKeyPair>>['privateKey'];

export interface ForgedUpstream {
  issuer: string;
  /** The `iss` put in the authorization response (RFC 9207); default the issuer. */
  responseIss: string | undefined;
  /** Builds the ID token of the next token response from the nonce the authorization request carried. */
  idToken: (nonce: string) => Promise<string>;
  /** Sign claims (defaults: iss, aud = client id, sub, email, iat, exp) with `key` (default: the published one). */
  sign(
    claims: Record<string, unknown>,
    options?: { key?: Key; header?: Record<string, unknown> },
  ): Promise<string>;
  close(): Promise<void>;
}

/**
 * Start one on 127.0.0.1:0 for `clientId`.
 *
 * @example const evil = await startForgedUpstream('tessera'); evil.idToken = (n) => evil.sign({ nonce: n, aud: 'other' });
 */
export async function startForgedUpstream(clientId: string): Promise<ForgedUpstream> {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const nonces = new Map<string, string>(); // code → nonce
  let issued = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', upstream.issuer);
        const json = (body: unknown) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(body));
        };
        if (url.pathname === '/.well-known/openid-configuration')
          return json({
            issuer: upstream.issuer,
            authorization_endpoint: `${upstream.issuer}/authorize`,
            token_endpoint: `${upstream.issuer}/token`,
            jwks_uri: `${upstream.issuer}/jwks`,
            id_token_signing_alg_values_supported: ['ES256'],
            code_challenge_methods_supported: ['S256'],
            authorization_response_iss_parameter_supported: true,
          });
        if (url.pathname === '/jwks') return json({ keys: [jwk] });
        if (url.pathname === '/authorize') {
          const code = `code-${++issued}`;
          nonces.set(code, url.searchParams.get('nonce') ?? '');
          const back = new URL(url.searchParams.get('redirect_uri')!);
          back.searchParams.set('code', code);
          back.searchParams.set('state', url.searchParams.get('state') ?? '');
          if (upstream.responseIss !== undefined) back.searchParams.set('iss', upstream.responseIss);
          res.statusCode = 302;
          res.setHeader('location', back.href);
          return res.end();
        }
        if (url.pathname === '/token') {
          // The code is never checked: the attacks are about what Tessera accepts, not this server.
          const code = [...nonces.keys()].at(-1)!;
          return json({
            access_token: 'upstream-at',
            token_type: 'Bearer',
            expires_in: 300,
            id_token: await upstream.idToken(nonces.get(code) ?? ''),
          });
        }
        res.statusCode = 404;
        res.end();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const upstream: ForgedUpstream = {
    issuer,
    responseIss: issuer,
    idToken: (nonce) => upstream.sign({ nonce }),
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
  return upstream;
}
