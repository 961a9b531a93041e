import { createHmac, timingSafeEqual } from 'node:crypto';

export interface DpopNoncesOptions {
  /** HMAC key; instances that share it (one KEK) accept each other's nonces. */
  secret: Buffer;
  /** How long one nonce is handed out; it is accepted for one more step after that. */
  stepSeconds: number;
  /** Milliseconds since the epoch. */
  clock: () => number;
}

/** Server-provided DPoP nonces (RFC 9449 §8): stateless, rotating, the same on every instance. */
export interface DpopNonces {
  /** The nonce to hand out now (`DPoP-Nonce`). */
  current(): string;
  /**
   * True for the current nonce and the previous step's: a client that fetched a nonce just before a step
   * boundary is not refused for it (RFC 9449 §8.2 lets the server decide how long a nonce lives).
   */
  accepts(nonce: string): boolean;
}

/** 18 bytes of HMAC-SHA-256: 144 bits cannot be guessed, and base64url gives 24 characters, no padding. */
const NONCE_BYTES = 18;
const NONCE_LENGTH = 24;

/**
 * Nonces as an HMAC of the time step under a server secret: nothing to store or share between instances,
 * and a nonce stops working two steps after it was first handed out (RFC 9449 §8: nonces limit how long a
 * proof made in advance, e.g. by an attacker who briefly had the key, stays usable).
 *
 * @example
 * const nonces = createDpopNonces({ secret, stepSeconds: 60, clock: Date.now });
 * reply.header('dpop-nonce', nonces.current());
 */
export function createDpopNonces(options: DpopNoncesOptions): DpopNonces {
  const stepMs = Math.max(1, options.stepSeconds) * 1000;
  const forStep = (step: number): Buffer =>
    createHmac('sha256', options.secret).update(`dpop-nonce:${step}`).digest().subarray(0, NONCE_BYTES);
  let cachedStep = Number.NaN;
  let cached: Buffer = Buffer.alloc(0);
  let cachedText = '';
  let previous: Buffer = Buffer.alloc(0);

  const refresh = (): number => {
    const step = Math.floor(options.clock() / stepMs);
    if (step !== cachedStep) {
      previous = step === cachedStep + 1 ? cached : forStep(step - 1);
      cached = forStep(step);
      cachedText = cached.toString('base64url');
      cachedStep = step;
    }
    return step;
  };

  return {
    current() {
      refresh();
      return cachedText;
    },
    accepts(nonce) {
      if (nonce.length !== NONCE_LENGTH) return false;
      const given = Buffer.from(nonce, 'base64url');
      if (given.length !== NONCE_BYTES) return false;
      refresh();
      // Both compared every time, in constant time: the answer says nothing about which step matched.
      const isCurrent = timingSafeEqual(given, cached);
      const isPrevious = timingSafeEqual(given, previous);
      return isCurrent || isPrevious;
    },
  };
}
