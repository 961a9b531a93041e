// Child process for the proxy tests: node-oidc-provider as "any OpenID provider" (authorization code with
// PKCE, RFC 9207 iss, JWT access tokens for one resource via resource indicators, an email claim in them).
// Its development login/consent pages stand in for the user. Prints `READY <issuer>` once listening.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const { port, clientId, clientSecret, redirectUri, postLogoutRedirectUri, resource } = JSON.parse(
  process.argv[2],
);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'idp-es256' };
const email = (accountId) => `${accountId}@oidc-provider.example`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogoutRedirectUri],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [jwk] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, email: email(id), email_verified: true }),
  }),
  extraTokenClaims: (_ctx, token) =>
    token.kind === 'AccessToken' ? { email: email(token.accountId), email_verified: true } : undefined,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api:read',
        audience: resource,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.on('server_error', (_ctx, err) =>
  process.stderr.write(`oidc-provider server_error: ${err.message}\n`),
);
const server = provider.listen(port, '127.0.0.1', () => process.stdout.write(`READY ${issuer}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
