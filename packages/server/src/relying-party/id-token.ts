import { createHash } from 'node:crypto';
import {
  createVerifier,
  encodeBase64url,
  normalizeTyp,
  TesseraError,
  type Alg,
  type Fetcher,
  type JWTPayload,
  type Verifier,
} from '@tessera/jwt';
import { ASSERTION_ALGORITHMS } from '../oauth/assertion.js';
import { RelyingPartyError } from './errors.js';
import type { ProviderMetadata } from './types.js';

/** Failures of the provider's key set itself (not of the token) mean the provider is unavailable. */
const UNAVAILABLE_CODES = new Set(['ERR_JWKS_FETCH_FAILED', 'ERR_JWKS_STALE', 'ERR_JWKS_INVALID']);

/** The hash behind `at_hash` for each algorithm (OIDC Core §3.1.3.6; Ed25519 uses SHA-512 by convention). */
const AT_HASH: Record<string, string> = { EdDSA: 'sha512' };

export interface IDTokenVerifierOptions {
  metadata: ProviderMetadata;
  clientId: string;
  fetcher: Fetcher;
  clock: () => number;
  clockTolerance: number;
}

/** What a single ID token must also match besides the provider-wide checks. */
export interface IDTokenExpectations {
  /** The nonce we sent; required on a sign-in, absent on refresh (OIDC Core §12.2). */
  nonce?: string;
  /** The access token issued with it, checked against `at_hash` when that claim is present. */
  accessToken?: string;
}

export interface IDTokenVerifier {
  verify(idToken: string, expect: IDTokenExpectations): Promise<JWTPayload>;
  close(): void;
}

const refused = (reason: string, cause?: unknown) =>
  new RelyingPartyError('ERR_UPSTREAM_ID_TOKEN_INVALID', `the identity provider's ID token ${reason}`, {
    cause,
  });

/**
 * Algorithms for the provider's ID tokens: those its metadata advertises (RS256 when it says nothing, OIDC
 * Discovery §3), and only asymmetric ones. `none` is never accepted and neither is HMAC: an HS256 ID token
 * would be keyed with our client secret, so anyone holding it could mint one (RFC 8725 §3.1, §2.1).
 */
function idTokenAlgorithms(metadata: ProviderMetadata): Alg[] {
  const advertised = metadata.id_token_signing_alg_values_supported ?? ['RS256'];
  const algorithms = ASSERTION_ALGORITHMS.filter((alg) => advertised.includes(alg));
  if (algorithms.length === 0)
    throw new RelyingPartyError(
      'ERR_UPSTREAM_METADATA_INVALID',
      'the provider advertises no asymmetric ID token signing algorithm',
    );
  return algorithms;
}

/**
 * The ID token checks of OIDC Core §3.1.3.7 through `@tessera/jwt`: a signature by a key of the provider's
 * JWKS (fetched with the SDK's remote key set: timeouts, size caps, cooldown for unknown kids) with an
 * advertised algorithm, `iss` exactly the provider's (mix-up), `aud` containing our client id, `azp` when
 * several audiences or present, `exp`/`iat`, then `nonce` (replay of another sign-in's ID token) and
 * `at_hash` when present. An access token of the same provider (`typ: at+jwt`) is never an ID token
 * (RFC 8725 §3.11).
 *
 * @example const claims = await createIDTokenVerifier(options).verify(idToken, { nonce });
 */
export function createIDTokenVerifier(options: IDTokenVerifierOptions): IDTokenVerifier {
  const algorithms = idTokenAlgorithms(options.metadata);
  const verifier: Verifier = createVerifier({
    issuer: options.metadata.issuer,
    audience: options.clientId,
    algorithms,
    jwksUri: options.metadata.jwks_uri,
    jwks: { fetcher: options.fetcher, clock: options.clock },
    clock: options.clock,
    clockTolerance: options.clockTolerance,
    requiredClaims: ['sub', 'iat'],
  });
  return {
    async verify(idToken, expect) {
      let payload: JWTPayload;
      let alg: string;
      try {
        const result = await verifier.verify(idToken);
        if (result.header.typ !== undefined && normalizeTyp(result.header.typ) === 'at+jwt')
          throw refused('is an access token');
        payload = result.payload;
        alg = result.header.alg;
      } catch (err) {
        if (err instanceof RelyingPartyError) throw err;
        const code = err instanceof TesseraError ? err.code : 'ERR_UNKNOWN';
        if (UNAVAILABLE_CODES.has(code))
          throw new RelyingPartyError(
            'ERR_UPSTREAM_UNAVAILABLE',
            `the provider's keys are unavailable (${code})`,
            {
              cause: err,
            },
          );
        throw refused(`was refused (${code})`, err);
      }
      const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if ((audiences.length > 1 || payload.azp !== undefined) && payload.azp !== options.clientId)
        throw refused('names another authorized party (azp)');
      if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 255)
        throw refused('has no usable subject');
      if (expect.nonce !== undefined && payload.nonce !== expect.nonce)
        throw refused('does not carry the nonce of this sign-in');
      if (payload.at_hash !== undefined && expect.accessToken !== undefined) {
        const hash = AT_HASH[alg] ?? `sha${alg.slice(2)}`;
        const digest = createHash(hash).update(expect.accessToken).digest();
        if (payload.at_hash !== encodeBase64url(digest.subarray(0, digest.length / 2)))
          throw refused('does not match its access token (at_hash)');
      }
      return payload;
    },
    close: () => verifier.close(),
  };
}
