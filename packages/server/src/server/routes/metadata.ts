import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import type { ServerConfig } from '../config.js';
import { JWKS_PATH } from './jwks.js';
import { answerWrongMethods } from './method-not-allowed.js';
import { ASSERTION_ALGORITHMS } from '../../oauth/assertion.js';
import { DPOP_ALGORITHMS } from '../../dpop/proof.js';

const CLIENT_AUTH = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
/** Public clients (`none`) authenticate with client_id alone at the token and revocation endpoints only. */
const CLIENT_AUTH_WITH_PUBLIC = [...CLIENT_AUTH, 'none'];

/** OIDC Core §5.4 scopes, always available to an authorization_code client. */
const SCOPES = ['openid', 'profile', 'email', 'offline_access'];

/** Every claim an ID token, access token or userinfo answer about a user may carry. */
const CLAIMS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'acr',
  'amr',
  'idp',
  'sid',
  'azp',
  'at_hash',
  'name',
  'email',
  'email_verified',
];

/**
 * RFC 8414 authorization server metadata, which is also the OpenID provider metadata (OIDC Discovery 1.0
 * §3). `issuer` must be identical to the tokens' `iss` (RFC 8414 §3.3), so both come from the same config
 * value.
 */
export function buildMetadata(config: ServerConfig): Record<string, unknown> {
  const base = config.issuer;
  return {
    issuer: base,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    userinfo_endpoint: `${base}/oauth/userinfo`,
    jwks_uri: `${base}${JWKS_PATH}`,
    end_session_endpoint: `${base}/oauth/logout`,
    pushed_authorization_request_endpoint: `${base}/oauth/par`,
    introspection_endpoint: `${base}/oauth/introspect`,
    revocation_endpoint: `${base}/oauth/revoke`,
    revocation_feed_endpoint: `${base}/oauth/revocations`,
    scopes_supported: SCOPES,
    claims_supported: CLAIMS,
    grant_types_supported: [
      'authorization_code',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    prompt_values_supported: ['none', 'login', 'consent'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [config.alg],
    authorization_response_iss_parameter_supported: true,
    require_pushed_authorization_requests: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    claims_parameter_supported: false,
    token_endpoint_auth_methods_supported: CLIENT_AUTH_WITH_PUBLIC,
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH,
    introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_WITH_PUBLIC,
    revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    access_token_signing_alg_values_supported: [config.alg],
    // RFC 9449 §5.1: the proof algorithms the token endpoint (and userinfo) accept.
    dpop_signing_alg_values_supported: DPOP_ALGORITHMS,
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
