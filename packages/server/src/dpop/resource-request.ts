import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { OAuthError } from '../server/errors.js';
import { checkProof, DPOP_ALGORITHMS, readDpopHeader } from './proof.js';

/** RFC 6750 §2.1 b64token, the same grammar for the DPoP scheme (RFC 9449 §7.1). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_AUTHORIZATION_LENGTH = 16384;

/** RFC 9110 §5.6.4 quoted-string: the SDK's messages may quote a claim name; no `"` or `\` may end it early. */
const quotable = (text: string): string => text.replace(/["\\]/g, "'");

/**
 * A failure at a protected endpoint of ours (userinfo) for a DPoP presentation: 401 with an RFC 9449 §7.1
 * `DPoP` challenge naming the accepted algorithms; `use_dpop_nonce` also carries the nonce (§9).
 */
export class DpopChallengeError extends OAuthError {
  override readonly name = 'DpopChallengeError';
  constructor(error: OAuthError['error'], description: string, headers: Record<string, string> = {}) {
    super(401, error, description, {
      'www-authenticate': `DPoP realm="tessera", algs="${DPOP_ALGORITHMS.join(' ')}", error="${error}", error_description="${quotable(description)}"`,
      ...headers,
    });
  }
}

/**
 * `Authorization: DPoP <token>` (RFC 9449 §7.1): the token, or undefined for any other scheme. Malformed
 * DPoP credentials are refused.
 */
export function extractDpopToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length < 5) return undefined;
  if (authorization.slice(0, 5).toLowerCase() !== 'dpop ') return undefined;
  const token = authorization.slice(5);
  if (authorization.length > MAX_AUTHORIZATION_LENGTH || !B64TOKEN.test(token))
    throw new DpopChallengeError('invalid_request', 'malformed DPoP credentials');
  return token;
}

/** How the client presented the access token. */
export type Presentation = 'Bearer' | 'DPoP' | 'body';

/**
 * RFC 9449 §7: a bound access token (`cnf.jkt`) is accepted only as `Authorization: DPoP` with a proof for
 * this request (`htm`, `htu`, `ath` = the token's hash) made by the bound key, its jti unused. A bound token
 * sent as Bearer is refused (a stolen token is useless without the key, §7.2); an unbound one sent as DPoP
 * is refused too (the client believes it holds a bound token; the server must not pretend).
 *
 * @example
 * await checkResourcePresentation(ctx, request, { token, presentation: 'DPoP', boundJkt, url });
 */
export async function checkResourcePresentation(
  ctx: ServerContext,
  request: FastifyRequest,
  given: { token: string; presentation: Presentation; boundJkt: string | undefined; url: string },
): Promise<void> {
  if (given.boundJkt === undefined) {
    if (given.presentation === 'DPoP')
      throw new DpopChallengeError('invalid_token', 'the access token is not DPoP-bound');
    return;
  }
  if (given.presentation !== 'DPoP')
    throw new DpopChallengeError(
      'invalid_token',
      'the access token is DPoP-bound: present it with the DPoP scheme and a proof',
    );
  let jkt: string;
  try {
    const proof = readDpopHeader(request);
    if (proof === undefined) throw new DpopChallengeError('invalid_dpop_proof', 'a DPoP proof is required');
    ({ jkt } = await checkProof(ctx, proof, {
      method: request.method,
      url: given.url,
      accessToken: given.token,
    }));
  } catch (err) {
    // The token endpoint's 400s become the resource's 401 challenges (RFC 9449 §7.1, §9).
    if (err instanceof OAuthError && !(err instanceof DpopChallengeError)) {
      if (err.error === 'invalid_dpop_proof') throw new DpopChallengeError(err.error, err.message);
      if (err.error === 'use_dpop_nonce') throw new DpopChallengeError(err.error, err.message, err.headers);
    }
    throw err;
  }
  if (jkt !== given.boundJkt)
    throw new DpopChallengeError(
      'invalid_dpop_proof',
      'the DPoP proof was not made with the key the access token is bound to',
    );
}
