import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidOptions } from './errors.js';

/**
 * DPoP nonces (RFC 9449 §8 at an authorization server, §9 at a resource server): `current()` is the nonce to
 * hand out in `DPoP-Nonce`; `accepts(n)` says whether a proof's `nonce` is still good. A proof without an
 * accepted nonce is answered `use_dpop_nonce` with `current()`.
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
  /**
   * An HMAC key (at least 16 bytes): nonces become an HMAC of the time step, with nothing stored, and every
   * process with the same key hands out and accepts the same nonces (instances behind one load balancer).
   * Without it, nonces are random and per process.
   */
  secret?: Buffer;
}

/** 18 bytes of HMAC-SHA-256: 144 bits cannot be guessed, and base64url gives 24 characters, no padding. */
const HMAC_NONCE_BYTES = 18;
const HMAC_NONCE_LENGTH = 24;

/**
 * Nonces rotating every `rotationSeconds`; the current and the previous one are accepted, so a client that
 * fetched a nonce just before a rotation is not refused. A nonce stops working two periods after it was first
 * handed out (RFC 9449 §8: nonces limit how long a proof made in advance, e.g. by an attacker who briefly had
 * the key, stays usable).
 *
 * @example createVerifier({ …, dpop: 'required', dpopOptions: { nonce: createDpopNonces({ rotationSeconds: 120 }) } })
 */
export function createDpopNonces(options: DpopNoncesOptions = {}): DpopNonceSource {
  const rotation = (options.rotationSeconds ?? 300) * 1000;
  if (!Number.isFinite(rotation) || rotation < 1000)
    throw new InvalidOptions('"rotationSeconds" must be at least 1');
  const clock = options.clock ?? Date.now;
  if (options.secret !== undefined) {
    if (options.secret.length < 16) throw new InvalidOptions('"secret" must be at least 16 bytes');
    return hmacNonces(options.secret, rotation, clock);
  }
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

/** The stateless kind: the nonce of epoch step `floor(now / rotation)` is an HMAC of the step number. */
function hmacNonces(secret: Buffer, rotation: number, clock: () => number): DpopNonceSource {
  const forStep = (step: number): Buffer =>
    createHmac('sha256', secret).update(`dpop-nonce:${step}`).digest().subarray(0, HMAC_NONCE_BYTES);
  let cachedStep = Number.NaN;
  let cached: Buffer = Buffer.alloc(0);
  let cachedText = '';
  let previous: Buffer = Buffer.alloc(0);
  const refresh = (): void => {
    const step = Math.floor(clock() / rotation);
    if (step === cachedStep) return;
    previous = step === cachedStep + 1 ? cached : forStep(step - 1);
    cached = forStep(step);
    cachedText = cached.toString('base64url');
    cachedStep = step;
  };
  return {
    current() {
      refresh();
      return cachedText;
    },
    accepts(nonce) {
      if (nonce === undefined || nonce.length !== HMAC_NONCE_LENGTH) return false;
      const given = Buffer.from(nonce, 'base64url');
      if (given.length !== HMAC_NONCE_BYTES) return false;
      refresh();
      // Both compared every time, in constant time: the answer says nothing about which step matched.
      const isCurrent = timingSafeEqual(given, cached);
      const isPrevious = timingSafeEqual(given, previous);
      return isCurrent || isPrevious;
    },
  };
}
