/**
 * oidc-provider (panva) as an upstream: in process on 127.0.0.1:0, its development login (any login, which
 * becomes the `sub`) and consent pages, one client for Tessera's callback, ID tokens with the profile and
 * email claims (`conformIdTokenClaims: false`) signed with its own development keys.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export const PANVA_SECRET = 'a-long-random-client-secret-for-the-test-0123456789';

/**
 * Start one for our callback URI.
 *
 * @example const panva = await startPanva(`${ours.url}/signin/idp/panva/callback`);
 */
export async function startPanva(callback: string): Promise<{ issuer: string; close(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'tessera',
        client_secret: PANVA_SECRET,
        redirect_uris: [callback],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        email: `${id}@hopper.example`,
        email_verified: !id.startsWith('unverified'),
        name: 'Grace Hopper',
        department: 'navy',
      }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'department'] },
    conformIdTokenClaims: false,
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    features: { devInteractions: { enabled: true } },
  });
  server.on('request', provider.callback());
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
