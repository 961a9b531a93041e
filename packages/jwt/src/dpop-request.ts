/**
 * Request-level DPoP for a resource service (RFC 9449 §7): which scheme carried the token, the proof against
 * the request as the client addressed it, the binding (`cnf.jkt`), `ath`, and the `jti` seen once. Shared by
 * `verifier.verifyRequest` and every middleware adapter.
 */
import { createHash } from 'node:crypto';
import { B64TOKEN, hasBearerPrefix, MAX_AUTHORIZATION_LENGTH, startsWithLowerASCII } from './bearer.js';
import {
  checkDpopAlgorithms,
  DPOP_ALGORITHMS,
  DEFAULT_DPOP_MAX_AGE_SECONDS,
  verifyDpopProof,
} from './dpop-proof.js';
import type { VerifiedDpopProof } from './dpop-proof.js';
import type { DpopNonceSource } from './dpop-nonce.js';
import { createMemoryDpopReplayStore, type DpopReplayStore } from './dpop-replay.js';
import {
  AuthorizationInvalid,
  AuthorizationMissing,
  DpopBindingMismatch,
  DpopBoundTokenAsBearer,
  DpopHtuMismatch,
  DpopProofMissing,
  DpopProofReplayed,
  DpopRequired,
  DpopUseNonce,
  InvalidOptions,
} from './errors.js';
import type { JWTPayload, VerifyResult } from './types.js';

/** `allowed`: Bearer and DPoP tokens; `required`: DPoP only. Unset: Bearer only (bound tokens still refused). */
export type DpopMode = 'allowed' | 'required';

/** Options for DPoP at a resource service (createVerifier's `dpopOptions`). */
export interface DpopOptions {
  /** Accepted proof algorithms, asymmetric only. Default DPOP_ALGORITHMS (ES256, EdDSA, PS256, RS256). */
  algorithms?: readonly string[];
  /** Proof `iat` window in seconds, either way. Default 60. */
  maxAgeSeconds?: number;
  /** Where proof `jti`s are recorded. Default createMemoryDpopReplayStore() (one process). */
  replayStore?: DpopReplayStore;
  /** Resource-server nonces (RFC 9449 §9), e.g. createDpopNonces(). Default none. */
  nonce?: DpopNonceSource;
  /**
   * The public origin clients address, e.g. `https://api.example.com`: `htu` is compared with this origin and
   * the request's path. The strictest choice behind a proxy or load balancer.
   */
  origin?: string;
  /**
   * Believe `X-Forwarded-Proto` and `X-Forwarded-Host` (their first value) for the scheme and host. Only when
   * every request comes through a proxy that sets them; otherwise a client picks the URL it is checked against.
   */
  trustForwarded?: boolean;
}

/** Request headers: node's `req.headers`, or a WHATWG `Headers`. */
export type RequestHeaders =
  Record<string, string | readonly string[] | undefined> | { get(name: string): string | null };

/** A request as verifyRequest sees it. */
export interface VerifyRequestInput {
  method: string;
  /** Absolute (`https://api.example.com/orders?x=1`) or origin-form (`/orders?x=1`, resolved with Host). */
  url: string;
  headers: RequestHeaders;
  /** The connection is TLS: the scheme of an origin-form `url`. Default false. */
  encrypted?: boolean;
}

/** What verifyRequest resolves to: the token's verification result, how it came, and the proof. */
export interface VerifyRequestResult<R = VerifyResult> {
  result: R;
  scheme: 'Bearer' | 'DPoP';
  /** The token as presented. */
  token: string;
  /** The verified proof, for the DPoP scheme. */
  dpop?: VerifiedDpopProof;
}

/** What the request checks need from a verifier: the token path, cache first when there is one. */
export interface TokenPath<R extends { payload: JWTPayload }> {
  /** A cache hit, synchronously, or undefined. */
  cached?(token: string): R | undefined;
  verify(token: string): Promise<R>;
}

/** Where verifyDPoP leaves the verified proof for a caller that wants it. */
export interface ProofSink {
  proof?: VerifiedDpopProof;
}

/** The DPoP request checks of one verifier (not public API; adapters reach it through dpopPathOf). */
export interface DpopPath<R extends { payload: JWTPayload } = { payload: JWTPayload }> {
  readonly mode: DpopMode | undefined;
  /** `algs` of the challenge: the accepted proof algorithms, space-separated. */
  readonly algs: string;
  /** The URL the client addressed, per `origin` / `trustForwarded` (throws DpopHtuMismatch without a host). */
  requestUrl(url: string, header: (name: string) => string | undefined, encrypted: boolean): string;
  /** A verified token that came as Bearer: refused when bound (throws). */
  checkBearer(result: R): R;
  /** Verify a DPoP-scheme token and its proof: the result, synchronously when nothing needs I/O. */
  verifyDPoP(
    token: string,
    proof: string | undefined,
    method: string,
    url: string,
    sink?: ProofSink,
  ): R | Promise<R>;
}

const dpopPaths = new WeakMap<object, DpopPath>();

/** The DPoP checks of a createVerifier verifier (undefined for any other object). */
export function dpopPathOf(verifier: object): DpopPath | undefined {
  return dpopPaths.get(verifier);
}

/** Whether a token is DPoP-bound: `cnf.jkt` present (RFC 9449 §6.1). */
export function isBound(payload: JWTPayload): boolean {
  return boundKey(payload) !== undefined;
}

/** The token's `cnf.jkt` as it is, or undefined. */
function boundKey(payload: JWTPayload): unknown {
  const cnf = payload.cnf;
  return typeof cnf === 'object' && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
}

function isThenable<T>(v: unknown): v is Promise<T> {
  return typeof v === 'object' && v !== null && typeof (v as Promise<T>).then === 'function';
}

function firstValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const comma = value.indexOf(',');
  const v = (comma === -1 ? value : value.slice(0, comma)).trim();
  return v === '' ? undefined : v;
}

// A scheme or host from a header becomes part of a URL: anything but a plain token or authority is refused.
const SCHEME = /^https?$/i;
const AUTHORITY = /^[A-Za-z0-9.\-:[\]_~%]+$/;

/**
 * Build the request checks for `mode` and `options`, validated once. `path` is the verifier's token path.
 */
export function createDpopPath<R extends { payload: JWTPayload }>(
  mode: DpopMode | undefined,
  options: DpopOptions | undefined,
  path: TokenPath<R>,
  clock: () => number,
): DpopPath<R> {
  if (mode !== undefined && mode !== 'allowed' && mode !== 'required')
    throw new InvalidOptions('"dpop" must be "allowed" or "required"');
  if (options !== undefined && mode === undefined)
    throw new InvalidOptions('"dpopOptions" needs "dpop": "allowed" or "required"');
  const o = options ?? {};
  const algorithms = Object.freeze([...(o.algorithms ?? DPOP_ALGORITHMS)]);
  const maxAge = o.maxAgeSeconds ?? DEFAULT_DPOP_MAX_AGE_SECONDS;
  if (typeof maxAge !== 'number' || !(maxAge > 0) || maxAge > 3600)
    throw new InvalidOptions('"dpopOptions.maxAgeSeconds" must be between 0 and 3600');
  // The default store runs on the verifier's clock, so its expiry agrees with the iat window.
  const store = o.replayStore ?? (mode === undefined ? undefined : createMemoryDpopReplayStore({ clock }));
  if (store !== undefined && typeof store.claim !== 'function')
    throw new InvalidOptions('"dpopOptions.replayStore" must have claim(key, expiresAt)');
  const nonces = o.nonce;
  if (nonces !== undefined && (typeof nonces.current !== 'function' || typeof nonces.accepts !== 'function'))
    throw new InvalidOptions('"dpopOptions.nonce" must have current() and accepts(nonce)');
  const nonceCheck = nonces === undefined ? undefined : (n: string | undefined) => nonces.accepts(n);
  let origin: string | undefined;
  if (o.origin !== undefined) {
    const u = URL.canParse(o.origin) ? new URL(o.origin) : undefined;
    if (
      u === undefined ||
      (u.protocol !== 'https:' && u.protocol !== 'http:') ||
      u.pathname !== '/' ||
      u.search
    )
      throw new InvalidOptions('"dpopOptions.origin" must be an origin such as https://api.example.com');
    origin = u.origin;
  }
  const trustForwarded = o.trustForwarded === true;
  // Validates the list (asymmetric only) now rather than on the first request.
  checkDpopAlgorithms(algorithms);

  function finish(
    token: string,
    proof: string,
    method: string,
    url: string,
    result: R,
    sink: ProofSink | undefined,
  ): R | Promise<R> {
    const jkt = boundKey(result.payload);
    // RFC 9449 §7.1: the DPoP scheme is for bound tokens only; a bearer token sent as DPoP binds nothing.
    if (typeof jkt !== 'string') throw new DpopBindingMismatch();
    let verified: VerifiedDpopProof;
    try {
      verified = verifyDpopProof(proof, {
        method,
        url,
        algorithms,
        accessToken: token,
        maxAgeSeconds: maxAge,
        now: clock(),
        nonce: nonceCheck,
      });
    } catch (err) {
      // RFC 9449 §9: the answer names the nonce to use.
      if (err instanceof DpopUseNonce && nonces !== undefined)
        throw new DpopUseNonce(undefined, { nonce: nonces.current() });
      throw err;
    }
    // RFC 9449 §7.1 / §6.1: the proof key is the key the token was issued to, so a stolen token is useless
    // with the thief's own key.
    if (verified.jkt !== jkt) throw new DpopBindingMismatch();
    if (sink !== undefined) sink.proof = verified;
    // RFC 9449 §11.1: one use per proof, remembered while its iat could still pass (plus a second of rounding).
    const jti =
      verified.jti.length <= 64
        ? verified.jti
        : createHash('sha256').update(verified.jti).digest('base64url');
    const claimed = store!.claim(`${jkt}:${jti}`, Math.ceil((verified.iat + maxAge) * 1000) + 1000);
    if (isThenable<boolean>(claimed))
      return claimed.then((fresh) => {
        if (fresh !== true) throw new DpopProofReplayed();
        return result;
      });
    if (claimed !== true) throw new DpopProofReplayed();
    return result;
  }

  const dpopPath: DpopPath<R> = {
    mode,
    algs: algorithms.join(' '),
    requestUrl(url, header, encrypted) {
      let rest = url;
      let scheme: string | undefined;
      let host: string | undefined;
      if (!url.startsWith('/')) {
        // An absolute URL with nothing to rewrite is compared as it is (verifyDpopProof normalises both sides).
        if (origin === undefined && !trustForwarded) return url;
        const u = URL.canParse(url) ? new URL(url) : undefined;
        if (u === undefined) throw new DpopHtuMismatch('the request URL is not absolute');
        rest = u.pathname + u.search;
        scheme = u.protocol.slice(0, -1);
        host = u.host;
      }
      if (origin !== undefined) return origin + rest;
      if (trustForwarded) {
        const p = firstValue(header('x-forwarded-proto'));
        const h = firstValue(header('x-forwarded-host'));
        if (p !== undefined && SCHEME.test(p)) scheme = p.toLowerCase();
        if (h !== undefined && AUTHORITY.test(h)) host = h;
      }
      scheme ??= encrypted ? 'https' : 'http';
      host ??= firstValue(header('host'));
      if (host === undefined || !AUTHORITY.test(host))
        throw new DpopHtuMismatch('the request has no usable Host');
      return `${scheme}://${host}${rest}`;
    },
    checkBearer(result) {
      // RFC 9449 §7.2: a bound token without its proof is what a thief holds; never accept it as Bearer.
      if (boundKey(result.payload) !== undefined) throw new DpopBoundTokenAsBearer();
      if (mode === 'required') throw new DpopRequired();
      return result;
    },
    verifyDPoP(token, proof, method, url, sink) {
      if (typeof proof !== 'string' || proof === '') throw new DpopProofMissing();
      const hit = path.cached?.(token);
      if (hit !== undefined) return finish(token, proof, method, url, hit, sink);
      return path.verify(token).then((r) => finish(token, proof, method, url, r, sink));
    },
  };
  return dpopPath;
}

/** Register the DPoP checks of a verifier (createVerifier). */
export function registerDpopPath(verifier: object, path: DpopPath): void {
  dpopPaths.set(verifier, path);
}

function headerOf(headers: RequestHeaders, name: string): string | readonly string[] | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function')
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  return (headers as Record<string, string | readonly string[] | undefined>)[name];
}

function single(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  // Several lines of a header that is not a list (Authorization, DPoP: RFC 9449 §4.3 (1)) are ambiguous.
  return value.length === 1 ? value[0] : value.length === 0 ? undefined : '\0several';
}

/** Whether `value` starts with the `DPoP` scheme and one space (schemes are case-insensitive, RFC 9110 §11.1). */
export function hasDpopPrefix(value: string): boolean {
  return value.length >= 5 && value.charCodeAt(4) === 0x20 && startsWithLowerASCII(value, 'dpop');
}

/**
 * verifier.verifyRequest: read `Authorization` (`Bearer` or `DPoP`), verify the token (cache first), then for
 * DPoP the proof in the `DPoP` header against the method and URL. Rejects with a TesseraError.
 */
export function verifyRequestWith<R extends { payload: JWTPayload }>(
  dpop: DpopPath<R>,
  path: TokenPath<R>,
  request: VerifyRequestInput,
): Promise<VerifyRequestResult<R>> {
  try {
    if (typeof request !== 'object' || request === null || typeof request.headers !== 'object')
      throw new InvalidOptions('verifyRequest needs { method, url, headers }');
    const get = (name: string) => single(headerOf(request.headers, name));
    const authorization = get('authorization');
    if (authorization === undefined || authorization === '') throw new AuthorizationMissing();
    if (authorization === '\0several' || authorization.length > MAX_AUTHORIZATION_LENGTH)
      throw new AuthorizationInvalid();
    if (hasBearerPrefix(authorization)) {
      const token = authorization.slice(7);
      if (!B64TOKEN.test(token)) throw new AuthorizationInvalid();
      // Refused before any verification work, as the middleware does.
      if (dpop.mode === 'required') throw new DpopRequired();
      const hit = path.cached?.(token);
      const done = (r: R) => ({ result: dpop.checkBearer(r), scheme: 'Bearer' as const, token });
      return hit !== undefined ? Promise.resolve(done(hit)) : path.verify(token).then(done);
    }
    if (dpop.mode === undefined || !hasDpopPrefix(authorization)) throw new AuthorizationMissing();
    const token = authorization.slice(5);
    if (!B64TOKEN.test(token)) throw new AuthorizationInvalid();
    const proof = get('dpop');
    if (proof === '\0several') throw new DpopProofMissing('several DPoP headers');
    const url = dpop.requestUrl(request.url, get, request.encrypted === true);
    const sink: ProofSink = {};
    const r = dpop.verifyDPoP(token, proof, request.method, url, sink);
    const done = (result: R): VerifyRequestResult<R> => ({
      result,
      scheme: 'DPoP',
      token,
      ...(sink.proof !== undefined && { dpop: sink.proof }),
    });
    return isThenable<R>(r) ? r.then(done) : Promise.resolve(done(r));
  } catch (err) {
    return Promise.reject(err);
  }
}
