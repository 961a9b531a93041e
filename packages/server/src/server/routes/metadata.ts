import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import type { ServerConfig } from '../config.js';
import { JWKS_PATH } from './jwks.js';
import { answerWrongMethods } from './method-not-allowed.js';
import { ASSERTION_ALGORITHMS } from '../../oauth/assertion.js';

const CLIENT_AUTH = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

/**
 * RFC 8414 authorization server metadata. `issuer` must be identical to the tokens' `iss` (RFC 8414 §3.3),
 * so both come from the same config value.
 */
export function buildMetadata(config: ServerConfig): Record<string, unknown> {
  const base = config.issuer;
  return {
    issuer: base,
    jwks_uri: `${base}${JWKS_PATH}`,
    token_endpoint: `${base}/oauth/token`,
    introspection_endpoint: `${base}/oauth/introspect`,
    revocation_endpoint: `${base}/oauth/revoke`,
    revocation_feed_endpoint: `${base}/oauth/revocations`,
    grant_types_supported: [
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      'refresh_token',
    ],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: CLIENT_AUTH,
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH,
    introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH,
    revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    access_token_signing_alg_values_supported: [config.alg],
  };
}

/**
 * `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration` (same document, for
 * clients that only know OIDC discovery).
 *
 * @example
 * await app.register(metadataRoutes, { ctx });
 */
export const metadataRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    app.get(path, async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300').header('access-control-allow-origin', '*');
      // Built per request from ctx.config: startServer fixes the issuer after binding port 0.
      return buildMetadata(ctx.config);
    });
    answerWrongMethods(app, path, ['GET']);
  }
};
