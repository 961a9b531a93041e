import { checkEndpoint, InvalidOptions } from '@tessera/jwt';
import { RelyingPartyError } from './errors.js';
import { callProvider, fetcherOf, jsonObject } from './http.js';
import type { DiscoverOptions, ProviderMetadata } from './types.js';

const OPTIONAL_ENDPOINTS = ['userinfo_endpoint', 'end_session_endpoint'] as const;

const invalid = (message: string) => new RelyingPartyError('ERR_UPSTREAM_METADATA_INVALID', message);

/** Every endpoint must be https (http only on loopback, for development), without credentials or fragment. */
function endpoint(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalid(`the provider's metadata has no ${name}`);
  try {
    return checkEndpoint(value, name).href;
  } catch (err) {
    if (err instanceof InvalidOptions) throw invalid(`the provider's ${err.message}`);
    throw err;
  }
}

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw invalid(`the provider's ${name} is not a list of strings`);
  return value as string[];
}

/**
 * Check a metadata document against the issuer we asked: its `issuer` must be exactly ours (OIDC Discovery
 * §4.3: otherwise one provider could impersonate another), the endpoints usable, and PKCE S256 on offer when
 * the provider lists its methods (RFC 7636: no downgrade to `plain`).
 */
function parseProviderMetadata(doc: Record<string, unknown>, issuer: string): ProviderMetadata {
  if (doc.issuer !== issuer) throw invalid(`the provider's metadata names another issuer than ${issuer}`);
  const metadata: ProviderMetadata = {
    issuer,
    authorization_endpoint: endpoint(doc.authorization_endpoint, 'authorization_endpoint'),
    token_endpoint: endpoint(doc.token_endpoint, 'token_endpoint'),
    jwks_uri: endpoint(doc.jwks_uri, 'jwks_uri'),
  };
  for (const name of OPTIONAL_ENDPOINTS)
    if (doc[name] !== undefined) metadata[name] = endpoint(doc[name], name);
  const algs = stringList(doc.id_token_signing_alg_values_supported, 'id_token_signing_alg_values_supported');
  if (algs !== undefined) metadata.id_token_signing_alg_values_supported = algs;
  const methods = stringList(doc.code_challenge_methods_supported, 'code_challenge_methods_supported');
  if (methods !== undefined) {
    if (!methods.includes('S256')) throw invalid("the provider does not support PKCE's S256 method");
    metadata.code_challenge_methods_supported = methods;
  }
  if (doc.authorization_response_iss_parameter_supported === true)
    metadata.authorization_response_iss_parameter_supported = true;
  return metadata;
}

/**
 * Read an OpenID Provider's metadata from `{issuer}/.well-known/openid-configuration` (OIDC Discovery §4.1:
 * a trailing slash of the issuer is not doubled) and check it.
 *
 * @example const metadata = await discoverProvider('https://login.example.com');
 */
export async function discoverProvider(
  issuer: string,
  options: DiscoverOptions = {},
): Promise<ProviderMetadata> {
  let base: URL;
  try {
    base = checkEndpoint(issuer, 'issuer');
  } catch (err) {
    if (err instanceof InvalidOptions) throw invalid(err.message);
    throw err;
  }
  if (base.search !== '') throw invalid('"issuer" must not have a query');
  const url = new URL(`${base.href.replace(/\/$/, '')}/.well-known/openid-configuration`);
  const res = await callProvider(fetcherOf(options.fetcher), url, {
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
  if (res.status !== 200)
    throw new RelyingPartyError(
      'ERR_UPSTREAM_UNAVAILABLE',
      `the provider's metadata answered HTTP ${res.status}`,
    );
  const doc = jsonObject(res);
  if (doc === undefined) throw invalid("the provider's metadata is not a JSON object");
  return parseProviderMetadata(doc, issuer);
}
