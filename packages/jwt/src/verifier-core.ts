import { ALGORITHMS, isAlg } from './alg.js';
import { decodeCanonicalInto, scratchOf, viewOf, writeLatin1, type Scratch } from './base64url.js';
import { validateClaims, type ClaimRules } from './claims.js';
import { toSeconds } from './duration.js';
import {
  InvalidOptions,
  JOSEAlgNotAllowed,
  JWSInvalid,
  JWSSignatureVerificationFailed,
  JWTClaimInvalid,
  TokenTooLarge,
} from './errors.js';
import { MAX_HEADER_SEGMENT, MAX_JSON_DEPTH, normalizeTyp, parseProtectedHeader } from './header.js';
import { decodeUTF8Range, parseStrictJSONObject } from './json.js';
import { verifyPlan, verifyWithPlan, verifyWithPlanAsync, type VerifyPlan } from './jws-crypto.js';
import { createLocalKeySet, type KeyInput } from './key-set.js';
import type { AlgSpec } from './alg.js';
import type {
  Alg,
  Clock,
  JWSHeader,
  JWTPayload,
  KeyLookup,
  KeySource,
  TesseraKey,
  VerifyResult,
} from './types.js';

/** Default token size limit (A14): checked before anything else. */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;

/**
 * Options for the core verifier (createVerifier adds remote keys, caching, revocation and introspection). `algorithms`, `issuer` and `audience` are required: `null` switches the issuer
 * or audience check off on purpose; leaving one out is a construction error (RFC 8725 §3.1, §3.9; A22).
 */
export interface CoreVerifierOptions {
  /** Accepted algorithms. The token's header never widens this list. */
  algorithms: readonly Alg[];
  /** Accepted `iss` value(s), or null. */
  issuer: string | readonly string[] | null;
  /** Accepted `aud` value(s): the token's aud must contain one. Or null. */
  audience: string | readonly string[] | null;
  /** Trusted keys: a JWK Set, a list of keys, or a KeySource (such as a remote JWKS). */
  keys: KeyInput | KeySource;
  /** Allowed clock skew, seconds or "30s". Default 0. */
  clockTolerance?: number | string;
  /** Reject tokens whose `iat` is older than this (requires iat). */
  maxTokenAge?: number | string;
  /** Accept tokens without `exp`. Default false. */
  allowMissingExp?: boolean;
  /** Required `typ` header, e.g. `at+jwt` (compared per RFC 7515 §4.1.9). */
  typ?: string;
  /** Claims that must be present. */
  requiredClaims?: readonly string[];
  /** Required `sub`. */
  subject?: string;
  /** Custom check after everything else passed; throw (or reject) to refuse the token. */
  check?: (payload: JWTPayload, header: JWSHeader) => void | Promise<void>;
  /** Token length limit in characters. Default 8192. */
  maxTokenLength?: number;
  /** Milliseconds since the epoch. Default Date.now. */
  clock?: Clock;
  /**
   * Verify asymmetric signatures on node's thread pool (the callback form of crypto.verify), so several
   * verifications run in parallel across cores. Pays off under concurrent load; costs a little latency alone.
   */
  threadPool?: boolean;
}

/** A configured verifier. */
export interface CoreVerifier {
  /**
   * Verify a compact JWS JWT. Resolves to the protected header, the claims and the key that verified it;
   * rejects with a TesseraError whose `code` says why.
   *
   * @example const { payload } = await verifier.verify(token);
   */
  verify<P extends JWTPayload = JWTPayload>(token: string): Promise<VerifyResult<P>>;
  /** The key source in use. */
  readonly keySource: KeySource;
  /** Stop background work of the key source. */
  close(): void;
}

function isKeySource(k: unknown): k is KeySource {
  return typeof k === 'object' && k !== null && typeof (k as KeySource).resolve === 'function';
}

function toList(
  value: string | readonly string[] | null | undefined,
  name: string,
): readonly string[] | null {
  if (value === undefined)
    throw new InvalidOptions(`"${name}" is required (pass null to switch the check off)`);
  if (value === null) return null;
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((v) => typeof v === 'string' && v.length > 0)
  ) {
    throw new InvalidOptions(`"${name}" must be a non-empty string or list of strings, or null`);
  }
  return Object.freeze([...new Set(list)]);
}

// Headers repeat across tokens (same alg, kid, typ), so the parsed and checked header is kept by its exact
// segment text; the text fully determines the result, and failures are never stored.
const HEADER_CACHE_SIZE = 64;

/** A checked header and what was derived for the last key that served it (plans depend only on key + alg). */
interface HeaderEntry {
  readonly header: JWSHeader;
  /** The key lookup for this header, built once (frozen: a key source cannot change it for later tokens). */
  readonly lookup: KeyLookup;
  readonly spec: AlgSpec;
  key: TesseraKey | undefined;
  plan: VerifyPlan | undefined;
}

const PAYLOAD_JSON = { maxDepth: MAX_JSON_DEPTH };

// Scratch areas for the synchronous path: signature bytes, payload bytes, signing input. Shared by all
// verifiers; each verification fills and consumes them without yielding, and no view of them escapes.
let sigScratch: Scratch | undefined;
let payloadScratch: Scratch | undefined;
let dataScratch: Scratch | undefined;
// Tokens longer than this (possible only with a raised maxTokenLength) get fresh areas that are not kept.
const RETAINED_SCRATCH = 65536;

/**
 * Create the core verifier over a fixed key source. Options are validated and keys imported once, here; nothing is repeated per token that
 * could be done now. Keys are picked by `kid`; a token without `kid` is accepted only when exactly one
 * trusted key can serve its algorithm.
 *
 * @example
 * const verifier = createVerifier({
 *   algorithms: ['ES256'], issuer: 'https://auth.example.com', audience: 'orders-api', keys: jwks,
 * });
 * const { payload } = await verifier.verify(token);
 */
export function createCoreVerifier(options: CoreVerifierOptions): CoreVerifier {
  if (typeof options !== 'object' || options === null) throw new InvalidOptions('options are required');
  const { algorithms } = options;
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new InvalidOptions('"algorithms" is required: list the algorithms you accept');
  }
  for (const alg of algorithms) {
    if (!isAlg(alg)) throw new InvalidOptions(`unsupported algorithm in "algorithms"`);
  }
  const allowed: ReadonlySet<string> = new Set(algorithms);
  const rules: ClaimRules = {
    issuers: toList(options.issuer, 'issuer'),
    audiences: toList(options.audience, 'audience'),
    subject: options.subject,
    clockTolerance:
      options.clockTolerance === undefined ? 0 : toSeconds(options.clockTolerance, 'clockTolerance'),
    maxTokenAge:
      options.maxTokenAge === undefined ? undefined : toSeconds(options.maxTokenAge, 'maxTokenAge'),
    allowMissingExp: options.allowMissingExp === true,
    requiredClaims: [...(options.requiredClaims ?? [])],
  };
  const maxLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  if (!Number.isInteger(maxLength) || maxLength <= 0)
    throw new InvalidOptions('"maxTokenLength" must be a positive integer');
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new InvalidOptions('"clock" must be a function returning milliseconds since the epoch');
  }
  const clock = options.clock ?? Date.now;
  const expectedTyp = options.typ === undefined ? undefined : normalizeTyp(options.typ);
  const check = options.check;
  const threadPool = options.threadPool === true;
  if (options.keys === undefined || options.keys === null) throw new InvalidOptions('"keys" is required');
  let keySource: KeySource;
  if (isKeySource(options.keys)) keySource = options.keys;
  else {
    const local = createLocalKeySet(options.keys as KeyInput, { algorithms });
    if (local.keys.length === 0)
      throw new InvalidOptions('none of the given keys can serve the allowed algorithms');
    keySource = local;
  }

  const headerCache = new Map<string, HeaderEntry>();
  // The last header seen, compared against the token's first segment before any hashing. A slice (a view, not
  // a copy) and === compare in a few dozen ns; startsWith measured several times slower on this path.
  let lastSegment = '';
  let lastEntry: HeaderEntry | undefined;
  function header(token: string, d1: number): HeaderEntry {
    const segment = token.slice(0, d1);
    if (lastEntry !== undefined && segment === lastSegment) return lastEntry;
    // A14: the header size cap before hashing or decoding the segment.
    if (d1 > MAX_HEADER_SEGMENT) throw new JWSInvalid('protected header too large');
    let e = headerCache.get(segment);
    if (e === undefined) {
      const h = parseProtectedHeader(segment, allowed);
      if (expectedTyp !== undefined && (h.typ === undefined || normalizeTyp(h.typ) !== expectedTyp)) {
        throw new JWTClaimInvalid('typ', 'header does not match the expected type');
      }
      e = {
        header: h,
        lookup: Object.freeze({ kid: h.kid, alg: h.alg }),
        spec: ALGORITHMS[h.alg],
        key: undefined,
        plan: undefined,
      };
      if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.clear();
      headerCache.set(segment, e);
    }
    lastSegment = segment;
    lastEntry = e;
    return e;
  }

  function finish(
    token: string,
    d1: number,
    d2: number,
    e: HeaderEntry,
    key: TesseraKey,
  ): VerifyResult | Promise<VerifyResult> {
    const h = e.header;
    // RFC 8725 §3.1: the key must be bound to this algorithm (RS256→HS256 and curve mismatches die here, A02/A21).
    if (!key.algorithms.includes(h.alg))
      throw new JOSEAlgNotAllowed('the selected key may not be used with this algorithm');
    let plan = e.plan;
    if (plan === undefined || e.key !== key) {
      plan = verifyPlan(e.spec, key);
      e.key = key;
      e.plan = plan;
    }
    const n = token.length;
    // A07/A24/A14: exact signature length before decoding; empty, truncated, extended and DER signatures stop here.
    if (n - d2 - 1 !== plan.sigChars) throw new JWSInvalid('signature has the wrong length');
    // A15: strict base64url. The token is ASCII (checked first) and the header segment was checked strictly;
    // Node's decoder would also take '+', '/' and '=', so those are refused in payload and signature here.
    let bad = token.indexOf('+', d1);
    if (bad === -1) bad = token.indexOf('/', d1);
    if (bad === -1) bad = token.indexOf('=', d1);
    if (bad > d2) throw new JWSInvalid('signature is not canonical base64url');
    const big = n > RETAINED_SCRATCH;
    const sigs = big ? scratchOf(undefined, n) : (sigScratch = scratchOf(sigScratch, n));
    // Natively for every length: measured cheaper than a JavaScript decoder even for 43-character HMAC tags.
    const sigLength = decodeCanonicalInto(token, d2 + 1, n, sigs);
    if (sigLength !== plan.sigBytes) throw new JWSInvalid('signature is not canonical base64url');
    if (bad !== -1) throw new JWSInvalid('payload is not canonical base64url');
    const pays = big ? scratchOf(undefined, n) : (payloadScratch = scratchOf(payloadScratch, n));
    const payloadLength = decodeCanonicalInto(token, d1 + 1, d2, pays);
    if (payloadLength < 0) throw new JWSInvalid('payload is not canonical base64url');
    // A15: the signing input is the exact received ASCII, never a re-encoding.
    const datas = big ? scratchOf(undefined, n) : (dataScratch = scratchOf(dataScratch, n));
    writeLatin1(token, d2, datas);
    const data = viewOf(datas, d2);
    const sig = viewOf(sigs, plan.sigBytes);
    if (threadPool && plan.mac === undefined) {
      // The scratch areas are reused by the next verification: the thread pool gets copies.
      const payloadBytes = Buffer.from(pays.buf.subarray(0, payloadLength));
      return verifyWithPlanAsync(plan, Buffer.from(data), Buffer.from(sig)).then((ok) => {
        if (!ok) throw new JWSSignatureVerificationFailed();
        return afterSignature(decodeUTF8Range(payloadBytes, payloadLength, 'payload'), h, key);
      });
    }
    if (!verifyWithPlan(plan, data, sig)) throw new JWSSignatureVerificationFailed();
    // Only now, with the signature holding, is the payload parsed (ATTACKS checklist step 9).
    return afterSignature(decodeUTF8Range(pays.buf, payloadLength, 'payload'), h, key);
  }

  function afterSignature(text: string, h: JWSHeader, key: TesseraKey): VerifyResult | Promise<VerifyResult> {
    // A13: claims come back frozen, so nothing downstream can merge into or rewrite what was verified.
    const payload = Object.freeze(parseStrictJSONObject(text, PAYLOAD_JSON, 'payload')) as JWTPayload;
    const now = Math.floor(clock() / 1000);
    // A12: a broken clock (NaN, a string) would make every time comparison false and accept expired tokens.
    if (!Number.isFinite(now)) throw new InvalidOptions('the clock returned no usable time');
    validateClaims(payload, rules, now);
    const result: VerifyResult = { header: h, payload, key };
    if (check !== undefined) {
      const r = check(payload, h);
      if (r !== undefined && typeof (r as Promise<void>).then === 'function')
        return (r as Promise<void>).then(() => result);
    }
    return result;
  }

  function verifyToken(token: string): VerifyResult | Promise<VerifyResult> {
    if (typeof token !== 'string') throw new JWSInvalid('token must be a string');
    // A14: size first, before any split or decode.
    if (token.length > maxLength) throw new TokenTooLarge();
    // A14/A26: exactly three segments, found in one pass; JSON serialisation and JWE never get further.
    const d1 = token.indexOf('.');
    const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
    if (d1 <= 0 || d2 < 0 || token.indexOf('.', d2 + 1) !== -1)
      throw new JWSInvalid('a JWS has exactly three segments');
    // A15: base64url is ASCII. Node's base64 and latin1 decoders read only the low byte of each UTF-16 unit,
    // so 'Ł' (U+0141) would pass for 'A' and a different string would verify as the same token.
    if (Buffer.byteLength(token, 'utf8') !== token.length) throw new JWSInvalid('token is not ASCII');
    const e = header(token, d1);
    const found = keySource.resolve(e.lookup);
    if (found instanceof Promise) return found.then((key) => finish(token, d1, d2, e, key));
    return finish(token, d1, d2, e, found);
  }

  return {
    keySource,
    verify<P extends JWTPayload = JWTPayload>(token: string): Promise<VerifyResult<P>> {
      try {
        const r = verifyToken(token);
        return (r instanceof Promise ? r : Promise.resolve(r)) as Promise<VerifyResult<P>>;
      } catch (err) {
        return Promise.reject(err);
      }
    },
    close() {
      keySource.close?.();
    },
  };
}
