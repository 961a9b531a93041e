import { randomBytes } from 'node:crypto';
import { InvalidOptions } from './errors.js';

/**
 * Resource-server nonces (RFC 9449 §9): `current()` is the nonce to hand out in `DPoP-Nonce`; `accepts(n)`
 * says whether a proof's `nonce` is still good. A proof without an accepted nonce is answered
 * `use_dpop_nonce` with `current()`.
 */
export interface DpopNonceSource {
  current(): string;
  accepts(nonce: string | undefined): boolean;
}

/** Options for createDpopNonces. */
export interface DpopNoncesOptions {
  /** Seconds a nonce is handed out before the next replaces it. Default 300; the previous one stays accepted. */
  rotationSeconds?: number;
  /** Milliseconds since the epoch. Default Date.now. */
  clock?: () => number;
}

/**
 * Random nonces rotating every `rotationSeconds`; the current and the previous one are accepted, so a client
 * that fetched a nonce just before a rotation is not refused. Per process: instances behind one load balancer
 * need a shared source (implement DpopNonceSource over your store).
 *
 * @example createVerifier({ …, dpop: 'required', dpopOptions: { nonce: createDpopNonces({ rotationSeconds: 120 }) } })
 */
export function createDpopNonces(options: DpopNoncesOptions = {}): DpopNonceSource {
  const rotation = (options.rotationSeconds ?? 300) * 1000;
  if (!Number.isFinite(rotation) || rotation < 1000)
    throw new InvalidOptions('"rotationSeconds" must be at least 1');
  const clock = options.clock ?? Date.now;
  const fresh = () => randomBytes(16).toString('base64url');
  let current = fresh();
  let previous: string | undefined;
  let rotatedAt = clock();
  function rotate(): void {
    const now = clock();
    if (now - rotatedAt < rotation) return;
    // After two periods without a request, the previous nonce is as stale as the current one.
    previous = now - rotatedAt < 2 * rotation ? current : undefined;
    current = fresh();
    rotatedAt = now;
  }
  return {
    current() {
      rotate();
      return current;
    },
    accepts(nonce) {
      rotate();
      return nonce !== undefined && (nonce === current || nonce === previous);
    },
  };
}
