import type { FastifyRequest } from 'fastify';
import {
  DPOP_ALGORITHMS,
  DpopProofInvalid,
  MAX_DPOP_PROOF_LENGTH,
  verifyDpopProof,
  type VerifiedDpopProof,
} from '@tessera/jwt';
import type { ServerContext } from '../server/context.js';
import { invalidDpopProof, useDpopNonce } from '../server/errors.js';
import { oauthSettings } from '../oauth/settings.js';
import { consumeProofId } from './replay.js';
import { dpopSettings } from './settings.js';

/** The request a proof must match (RFC 9449 §4.3): method, URL and, at a resource, the access token. */
export interface ProofTarget {
  method: string;
  /** The endpoint URL from the configured issuer (never the Host header: an attacker controls it). */
  url: string;
  /** At a resource: the access token the proof's `ath` must hash (RFC 9449 §4.3 step 11). */
  accessToken?: string;
}

/**
 * The request's DPoP proof: undefined without a `DPoP` header, the header value when there is exactly one.
 * RFC 9449 §4.3 step 1: more than one is refused. Node joins repeated headers with ", " (and fastify.inject
 * may hand an array); a compact JWS never holds a comma, so either shape means several.
 */
export function readDpopHeader(request: FastifyRequest): string | undefined {
  const value = request.headers['dpop'];
  if (value === undefined) return undefined;
  if (Array.isArray(value) || value.includes(','))
    throw invalidDpopProof('exactly one DPoP header is allowed');
  if (value === '') throw invalidDpopProof('the DPoP header is empty');
  if (value.length > MAX_DPOP_PROOF_LENGTH) throw invalidDpopProof('the DPoP proof is too large');
  return value;
}

/**
 * Verify a DPoP proof for `target` and record its `jti`: the signature under its embedded public key, `typ`,
 * an asymmetric `alg` we list (never HMAC or `none`), no private key members, `htm`/`htu` (normalised,
 * RFC 3986), `iat` within `--dpop-proof-window` either way, `ath` at a resource (all by the SDK's
 * `verifyDpopProof`), then the server nonce when `--dpop-nonce` is on (RFC 9449 §8) and the jti once
 * (§11.1). Returns the key's RFC 7638 thumbprint. Failures are `invalid_dpop_proof`, or `use_dpop_nonce`
 * with the nonce to use.
 *
 * @example
 * const { jkt } = await checkProof(ctx, proof, { method: 'POST', url: tokenEndpoint });
 */
export async function checkProof(
  ctx: ServerContext,
  proof: string,
  target: ProofTarget,
): Promise<{ jkt: string }> {
  const { windowSeconds, nonces } = dpopSettings(ctx);
  let verified: VerifiedDpopProof;
  let hadNonce = false;
  const acceptNonce = (nonce: string | undefined): boolean => {
    hadNonce = nonce !== undefined;
    return nonce !== undefined && nonces !== undefined && nonces.accepts(nonce);
  };
  try {
    verified = verifyDpopProof(proof, {
      method: target.method,
      url: target.url,
      algorithms: DPOP_ALGORITHMS,
      maxAgeSeconds: windowSeconds,
      now: ctx.clock(),
      ...(target.accessToken !== undefined && { accessToken: target.accessToken }),
      // Checked last by the SDK: a proof wrong in any other way is invalid_dpop_proof, not use_dpop_nonce.
      ...(nonces !== undefined && { nonce: acceptNonce }),
    });
  } catch (err) {
    // The SDK's messages never echo the proof or a key; anything else is ours and stays a 500.
    if (!(err instanceof DpopProofInvalid)) throw err;
    if (err.wireError === 'use_dpop_nonce' && nonces !== undefined)
      throw useDpopNonce(
        nonces.current(),
        hadNonce ? 'the DPoP nonce is stale' : 'the DPoP proof must carry a server nonce',
      );
    throw invalidDpopProof(err.message);
  }
  // Remembered for the whole span in which its iat is acceptable (window either way, plus clock tolerance).
  // After the nonce: a proof refused for its nonce burns nothing (the client retries with a new proof).
  const ttlMs = (2 * windowSeconds + oauthSettings(ctx).clockTolerance) * 1000;
  if (!(await consumeProofId(ctx, verified.jkt, verified.jti, ttlMs)))
    throw invalidDpopProof('the DPoP proof was already used');
  return { jkt: verified.jkt };
}

export { DPOP_ALGORITHMS };
