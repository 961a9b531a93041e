import { createHash } from 'node:crypto';
import type { ServerContext } from '../server/context.js';
import { unavailable } from '../server/errors.js';

/** UsedIdStore namespace of DPoP proof ids (when the server runs without Redis). */
const NAMESPACE = 'dpop_jti';

/**
 * Record a proof's `jti` as used, once (RFC 9449 §11.1: replay of a captured proof). The id is the SHA-256
 * of the key thumbprint and the jti: a fixed 43 characters whatever the client sent (bounded storage), and
 * one client cannot burn another key's jti. It is remembered for `ttlMs` (the span in which the proof's `iat`
 * is acceptable), then forgotten: in Redis (`SET NX PX`) when the server has it, so the check holds across
 * instances, otherwise in the store's used-id table (purged on schedule). A Redis that cannot answer fails
 * CLOSED: 503 rather than an unchecked proof.
 *
 * @example
 * if (!(await consumeProofId(ctx, jkt, jti, 120_000))) throw invalidDpopProof('DPoP proof already used');
 */
export async function consumeProofId(
  ctx: ServerContext,
  jkt: string,
  jti: string,
  ttlMs: number,
): Promise<boolean> {
  const id = createHash('sha256').update(jkt).update('\0').update(jti).digest('base64url');
  const now = ctx.clock();
  if (ctx.ephemeral.kind !== 'redis') return ctx.store.consumeOnce(NAMESPACE, id, now + ttlMs, now);
  try {
    return await ctx.ephemeral.consumeOnce(`${NAMESPACE}:${id}`, ttlMs);
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'single-use id store unavailable; refusing the DPoP proof');
    throw unavailable('single-use check unavailable; try again shortly');
  }
}
