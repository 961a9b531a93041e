import type { FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import type { ClientRecord } from '../store/types.js';
import { invalidDpopProof } from '../server/errors.js';
import type { GrantRequest } from '../oauth/grants/types.js';
import { checkProof, readDpopHeader } from './proof.js';
import { dpopEndpoints } from './settings.js';

/**
 * The token endpoint's DPoP step (RFC 9449 §5): with a valid proof, the grant binds what it issues to the
 * proof's key (`GrantRequest.dpop`); without one, tokens are bearer tokens, unless the client is registered
 * `dpop_bound_access_tokens` (§5.2, `--dpop required`), which gets `invalid_dpop_proof`.
 *
 * @example
 * const grantRequest = await checkTokenRequestProof(ctx, request, client);
 * const body = await runGrant(ctx, grantType, client, form, grantRequest);
 */
export async function checkTokenRequestProof(
  ctx: ServerContext,
  request: FastifyRequest,
  client: ClientRecord,
): Promise<GrantRequest> {
  const proof = readDpopHeader(request);
  if (proof === undefined) {
    if (client.dpopBoundAccessTokens === true)
      throw invalidDpopProof('this client must send a DPoP proof (dpop_bound_access_tokens)');
    return {};
  }
  const { jkt } = await checkProof(ctx, proof, { method: 'POST', url: dpopEndpoints(ctx).token });
  return { dpop: { jkt } };
}
