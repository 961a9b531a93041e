import { ALGORITHMS, isAlg } from './alg.js';
import { encodeBase64url, scratchOf, viewOf, type FastBuffer, type Scratch } from './base64url.js';
import { InvalidOptions, JOSEAlgNotAllowed } from './errors.js';
import { signPlan, signWithPlan, signWithPlanAsync } from './jws-crypto.js';
import type { Alg, Clock, JWTPayload, TesseraKey } from './types.js';

export interface SignerOptions {
  /** A private (or HMAC secret) key from importJWK/importPKCS8/generateKeyPair. */
  key: TesseraKey;
  alg: Alg;
  /** Key id for the header; defaults to the key's own kid. */
  kid?: string;
  /** Milliseconds since the epoch, for `iat`. Default Date.now. */
  clock?: Clock;
}

export interface SignOptions {
  /** Extra protected-header members, e.g. `{ typ: 'at+jwt' }`. `alg` and `kid` cannot be overridden. */
  header?: Record<string, unknown>;
}

export interface Signer {
  readonly alg: Alg;
  readonly kid: string | undefined;
  /**
   * Sign claims into a compact JWT, filling `iat` when absent.
   *
   * @example signer.sign({ sub: 'user-1', aud: 'orders-api', exp: now + 900 }, { header: { typ: 'at+jwt' } })
   */
  sign(payload: JWTPayload, options?: SignOptions): string;
  /**
   * The same token, with the private-key operation on node's thread pool (the callback form of
   * crypto.sign), so a server's event loop keeps serving while the signature is computed; it pays under
   * concurrent load, where signing is most of a token request's CPU. HMAC signs synchronously (microseconds).
   *
   * @example const token = await signer.signAsync(claims, { header: { typ: 'at+jwt' } });
   */
  signAsync(payload: JWTPayload, options?: SignOptions): Promise<string>;
}

// Header members a signer never emits: key sources (A03/A04), unencoded payloads (A17), critical extensions.
const FORBIDDEN_HEADER = new Set(['alg', 'kid', 'jwk', 'jku', 'x5u', 'x5c', 'b64', 'crit', 'zip', 'enc']);
const HEADER_CACHE_SIZE = 16;

// Scratch for the synchronous sign path: the claims' UTF-8 bytes, then the ASCII signing input. Shared by all
// signers; each sign fills and consumes it without yielding.
let jsonScratch: Scratch | undefined;
let inputScratch: Scratch | undefined;
// Claims longer than this get fresh areas that are not kept.
const RETAINED_SCRATCH = 16384;

/**
 * Create a signer for one key and algorithm. Refuses `none` and any algorithm the key is not bound to.
 *
 * @example const signer = createSigner({ key: privateKey, alg: 'ES256' });
 */
export function createSigner(options: SignerOptions): Signer {
  const { key, alg } = options;
  if (!isAlg(alg)) throw new JOSEAlgNotAllowed('unsupported or unsecured algorithm');
  if (!key || (key.type !== 'private' && key.type !== 'secret')) {
    throw new InvalidOptions('signing needs a private key or an HMAC secret');
  }
  if (!key.algorithms.includes(alg))
    throw new JOSEAlgNotAllowed('the key may not be used with this algorithm');
  const kid = options.kid ?? key.kid;
  const spec = ALGORITHMS[alg];
  const clock = options.clock ?? Date.now;
  const base: Record<string, unknown> = kid === undefined ? { alg } : { alg, kid };
  const plainHeader = encodeBase64url(JSON.stringify(base));
  const headerCache = new Map<string, string>();
  const plan = signPlan(spec, key);

  function encodeHeader(extra: Record<string, unknown> | undefined): string {
    if (extra === undefined) return plainHeader;
    const keyText = JSON.stringify(extra);
    let encoded = headerCache.get(keyText);
    if (encoded === undefined) {
      for (const name of Object.keys(extra)) {
        if (FORBIDDEN_HEADER.has(name)) throw new InvalidOptions(`header member "${name}" cannot be set`);
      }
      encoded = encodeBase64url(JSON.stringify({ ...base, ...extra }));
      if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.clear();
      headerCache.set(keyText, encoded);
    }
    return encoded;
  }

  function claimsText(payload: JWTPayload): string {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new InvalidOptions('payload must be a JSON object');
    }
    const claims = payload.iat === undefined ? { ...payload, iat: Math.floor(clock() / 1000) } : payload;
    return JSON.stringify(claims);
  }

  /** Write `header.body` (base64url of the claims' UTF-8) into scratch; returns the area and its length. */
  function signingInput(header: string, json: string): [Scratch, number, string] {
    // UTF-8 needs at most 3 bytes per UTF-16 unit; base64url 4 chars per 3 bytes.
    const big = json.length > RETAINED_SCRATCH;
    const js = big
      ? scratchOf(undefined, json.length * 3)
      : (jsonScratch = scratchOf(jsonScratch, json.length * 3));
    const body = js.buf.base64urlSlice(0, js.buf.utf8Write(json, 0));
    const inputLength = header.length + 1 + body.length;
    const is = big
      ? scratchOf(undefined, inputLength)
      : (inputScratch = scratchOf(inputScratch, inputLength));
    is.buf.latin1Write(header, 0, header.length);
    is.buf[header.length] = 0x2e; // '.'
    is.buf.latin1Write(body, header.length + 1, body.length);
    return [is, inputLength, body];
  }

  return {
    alg,
    kid,
    sign(payload: JWTPayload, signOptions?: SignOptions): string {
      const json = claimsText(payload);
      const header = encodeHeader(signOptions?.header);
      const [is, inputLength, body] = signingInput(header, json);
      const sig = signWithPlan(plan, viewOf(is, inputLength)) as FastBuffer;
      return `${header}.${body}.${sig.base64urlSlice(0, sig.length)}`;
    },
    signAsync(payload: JWTPayload, signOptions?: SignOptions): Promise<string> {
      if (plan.mac !== undefined) {
        try {
          return Promise.resolve(this.sign(payload, signOptions));
        } catch (err) {
          return Promise.reject(err);
        }
      }
      let header: string;
      let is: Scratch;
      let inputLength: number;
      let body: string;
      try {
        const json = claimsText(payload);
        header = encodeHeader(signOptions?.header);
        [is, inputLength, body] = signingInput(header, json);
      } catch (err) {
        return Promise.reject(err);
      }
      // The scratch area is reused by the next call: the thread pool gets its own copy.
      return signWithPlanAsync(plan, Buffer.from(viewOf(is, inputLength))).then(
        (sig) => `${header}.${body}.${(sig as FastBuffer).base64urlSlice(0, sig.length)}`,
      );
    },
  };
}
