/**
 * DPoP proofs (RFC 9449): the server-side check of one proof JWT (§4.3); the client side is in
 * dpop-proof-create.ts. The `jti` replay check is not here: callers own their replay store (the SDK's
 * verifyRequest, the token endpoint).
 */
import * as crypto from 'node:crypto';
import { createHash, type JsonWebKey } from 'node:crypto';
import { ALGORITHMS, isAlg } from './alg.js';
import { decodeCanonicalBase64url } from './base64url.js';
import {
  DpopAlgNotAllowed,
  DpopAthMismatch,
  DpopHtmMismatch,
  DpopHtuMismatch,
  DpopIatInvalid,
  DpopIatOutOfWindow,
  DpopJtiInvalid,
  DpopJwkInvalid,
  DpopJwkPrivate,
  DpopProofInvalid,
  DpopProofTooLarge,
  DpopSignatureInvalid,
  DpopTypInvalid,
  DpopUseNonce,
  InvalidOptions,
} from './errors.js';
import { decodeUTF8, parseStrictJSONObject } from './json.js';
import { verifyPlan, verifyWithPlan, type VerifyPlan } from './jws-crypto.js';
import { calculateJWKThumbprint, importJWK } from './keys.js';
import type { Alg, JWK, TesseraKey } from './types.js';

/** The proof algorithms this library verifies and signs, preferred first (ES256 is what clients mostly send). */
export const DPOP_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'EdDSA', 'PS256', 'RS256']);

/** A proof is a header with one public key and five short claims; 8 KiB is far beyond any honest one (A14). */
export const MAX_DPOP_PROOF_LENGTH = 8192;
/** Longest `jti` accepted: RFC 9449 §4.2 asks for ≥ 96 bits of randomness; 256 characters is generous. */
export const MAX_DPOP_JTI_LENGTH = 256;
/** Default `iat` window, seconds either way (RFC 9449 §11.1 leaves it to the server; the issue says 60). */
export const DEFAULT_DPOP_MAX_AGE_SECONDS = 60;

/** What a proof must match. */
export interface DpopProofCheck {
  /** The request's HTTP method, compared case-sensitively with `htm` (RFC 9110 §9.1: methods are case-sensitive). */
  method: string;
  /** The request URL as the server sees it (absolute); compared with `htu` after normalizeHtu. */
  url: string;
  /** Accepted proof algorithms. Only asymmetric ones are ever accepted: `HS*` and `none` here are an options error. */
  algorithms: readonly string[];
  /**
   * The access token presented with the proof: `ath` must equal base64url(SHA-256(accessToken)). When absent
   * (the token endpoint), `ath` is ignored: a proof for a token request carries none (RFC 9449 §4.2), and one
   * that does binds nothing the server relies on.
   */
  accessToken?: string;
  /**
   * Server nonce (RFC 9449 §8, §9): a string the proof's `nonce` must equal, or a predicate that accepts or
   * refuses the proof's `nonce` (called with undefined when the proof has none). A refusal is DpopUseNonce.
   */
  nonce?: string | ((nonce: string | undefined) => boolean);
  /** `iat` window in seconds, either way. Default 60. */
  maxAgeSeconds?: number;
  /** Milliseconds since the epoch. Default Date.now(). */
  now?: number;
}

/** A verified proof. */
export interface VerifiedDpopProof {
  /** RFC 7638 thumbprint of the proof key: what `cnf.jkt` of a bound token must equal (RFC 9449 §6.1). */
  jkt: string;
  jti: string;
  iat: number;
  htm: string;
  /** The proof's `htu` as sent (it matched the request URL after normalisation). */
  htu: string;
  nonce?: string;
  alg: string;
  /** The proof's public key as sent in its header. */
  jwk: JsonWebKey;
}

/** A checked proof header: the same segment text always yields the same result, so it is cached by that text. */
interface ProofHeader {
  /** As sent (`Ed25519` stays `Ed25519`). */
  readonly alg: string;
  /** The JWS algorithm that verifies it. */
  readonly jwsAlg: Alg;
  readonly jwk: JWK;
  readonly jkt: string;
  readonly plan: VerifyPlan;
}

// A client sends the same header (typ, alg, jwk) with every proof, so the parsed header, the imported key and
// its thumbprint are kept by the exact segment text. Only headers that passed every check are stored; the
// allow-list is checked on every call, since it belongs to the caller. Bounded: the oldest entry goes first.
const HEADER_CACHE_SIZE = 512;
const headerCache = new Map<string, ProofHeader>();

// RFC 7517 §6.2.2, §6.3.2, §6.4: members only a private or secret key has. RFC 9449 §4.3: the `jwk` header
// must be a public key; a client that sends its private key has lost it.
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'r', 't'];
// A proof header holds a flat jwk object; anything deeper is hostile (A14).
const MAX_PROOF_JSON_DEPTH = 4;

const validatedAlgorithmLists = new WeakSet<readonly string[]>();

// RFC 9864 §2.2: `Ed25519` is the fully specified name of EdDSA over Ed25519, and clients now send it (oauth4webapi
// does). For DPoP both names are one algorithm: either in the allow-list admits a proof under either.
const ALIASES: Readonly<Record<string, Alg>> = { Ed25519: 'EdDSA' };
const jwsAlgOf = (alg: string): string => ALIASES[alg] ?? alg;

function allowed(algorithms: readonly string[], alg: string, jwsAlg: Alg): boolean {
  if (algorithms.includes(alg)) return true;
  if (jwsAlg !== 'EdDSA') return false;
  return algorithms.includes('EdDSA') || algorithms.includes('Ed25519');
}

/**
 * Option check once per list object (callers pass the same array every time); any symmetric or unknown alg is
 * a configuration mistake, never silently dropped (RFC 9449 §4.3: "not a symmetric algorithm, not none").
 */
export function checkDpopAlgorithms(algorithms: readonly string[]): void {
  if (validatedAlgorithmLists.has(algorithms)) return;
  if (!Array.isArray(algorithms) || algorithms.length === 0)
    throw new InvalidOptions('DPoP "algorithms" must be a non-empty list');
  for (const alg of algorithms) {
    const jwsAlg = jwsAlgOf(alg);
    if (!isAlg(jwsAlg) || ALGORITHMS[jwsAlg].kty === 'oct')
      throw new InvalidOptions('DPoP "algorithms" may only name asymmetric JWS algorithms');
  }
  validatedAlgorithmLists.add(algorithms);
}

/**
 * Verify one DPoP proof against a request (RFC 9449 §4.3, in its order): size, three segments, header (`typ`
 * exactly `dpop+jwt`, an allowed asymmetric `alg`, a public `jwk` fitting it), the signature under that key,
 * then `jti`, `htm`, `htu`, `iat`, `ath` and the nonce. Throws a DpopProofInvalid subclass (`err.wireError`
 * is the OAuth error to answer with); the `jti` replay check is the caller's.
 *
 * @example
 * const proof = verifyDpopProof(req.headers.dpop, { method: 'GET', url: 'https://api.example.com/orders',
 *   algorithms: DPOP_ALGORITHMS, accessToken });
 * if (proof.jkt !== payload.cnf?.jkt) throw …;
 */
export function verifyDpopProof(proof: string, check: DpopProofCheck): VerifiedDpopProof {
  checkDpopAlgorithms(check.algorithms);
  if (typeof proof !== 'string') throw new DpopProofInvalid();
  if (proof.length > MAX_DPOP_PROOF_LENGTH) throw new DpopProofTooLarge();
  const dot1 = proof.indexOf('.');
  const dot2 = dot1 === -1 ? -1 : proof.indexOf('.', dot1 + 1);
  if (dot2 === -1 || proof.indexOf('.', dot2 + 1) !== -1)
    throw new DpopProofInvalid('DPoP proof is not a compact JWS');

  const headerSegment = proof.slice(0, dot1);
  const header = headerCache.get(headerSegment) ?? parseHeader(headerSegment);
  // RFC 9449 §4.3 (5): the algorithm is one the server accepts, checked per call (the cache is shared).
  if (!allowed(check.algorithms, header.alg, header.jwsAlg)) throw new DpopAlgNotAllowed();

  // The payload is decoded before the signature is checked: the signing input must be canonical ASCII, or a
  // lookalike character could sign as its low byte (A15). Its JSON is read only after the signature held.
  const payloadBytes = decodeSegment(proof.slice(dot1 + 1, dot2), 'DPoP proof payload');
  // RFC 9449 §4.3 (7): the signature verifies with the public key in the header.
  const sig = decodeCanonicalBase64url(proof.slice(dot2 + 1));
  if (sig === undefined || sig.length !== header.plan.sigBytes) throw new DpopSignatureInvalid();
  if (!verifyWithPlan(header.plan, Buffer.from(proof.slice(0, dot2), 'latin1'), sig))
    throw new DpopSignatureInvalid();

  const payload = parseJSON(payloadBytes, 'DPoP proof payload');
  const { jti, htm, htu, iat, ath, nonce } = payload;
  // (9) a unique identifier the caller records for replay detection, bounded so replay stores stay small.
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_DPOP_JTI_LENGTH)
    throw new DpopJtiInvalid();
  // (10) htm: the method of this request, so a proof for GET cannot authorise a DELETE.
  if (typeof htm !== 'string' || htm !== check.method) throw new DpopHtmMismatch();
  // (11) htu: this request's URL, without query and fragment, compared after RFC 3986 §6.2.2/§6.2.3 normalisation.
  if (typeof htu !== 'string' || !htuMatches(htu, check.url)) throw new DpopHtuMismatch();
  // (12) iat within the window either way: an old proof may have been captured, a future one pre-made (§11.1).
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new DpopIatInvalid();
  const maxAge = check.maxAgeSeconds ?? DEFAULT_DPOP_MAX_AGE_SECONDS;
  if (typeof maxAge !== 'number' || !(maxAge >= 0))
    throw new InvalidOptions('DPoP "maxAgeSeconds" must be a number ≥ 0');
  const nowSeconds = (check.now ?? Date.now()) / 1000;
  // Written to fail closed: a NaN clock accepts nothing.
  if (!(Math.abs(nowSeconds - iat) <= maxAge)) throw new DpopIatOutOfWindow();
  // (13) ath: the proof was made for this access token, so it cannot accompany a different (stolen) one (§7).
  if (check.accessToken !== undefined) {
    if (typeof ath !== 'string' || ath !== accessTokenHash(check.accessToken)) throw new DpopAthMismatch();
  }
  if (nonce !== undefined && typeof nonce !== 'string')
    throw new DpopProofInvalid('DPoP proof "nonce" is not a string');
  // (8) the server nonce comes last: a proof failing anything else is invalid_dpop_proof, not use_dpop_nonce.
  const expected = check.nonce;
  if (expected !== undefined) {
    const accepted = typeof expected === 'string' ? nonce === expected : expected(nonce);
    if (accepted !== true) throw new DpopUseNonce();
  }
  return {
    jkt: header.jkt,
    jti,
    iat,
    htm,
    htu,
    ...(nonce !== undefined && { nonce }),
    alg: header.alg,
    jwk: header.jwk as JsonWebKey,
  };
}

function decodeSegment(segment: string, what: string): Buffer {
  const bytes = decodeCanonicalBase64url(segment);
  if (bytes === undefined || bytes.length === 0)
    throw new DpopProofInvalid(`${what} is not canonical base64url`);
  return bytes;
}

function parseSegment(segment: string, what: string): Record<string, unknown> {
  return parseJSON(decodeSegment(segment, what), what);
}

function parseJSON(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    return parseStrictJSONObject(decodeUTF8(bytes, what), { maxDepth: MAX_PROOF_JSON_DEPTH }, what);
  } catch (err) {
    // The JSON rules (duplicates, prototype keys, depth) are the core's; the error family is DPoP's.
    throw new DpopProofInvalid(`${what} is not a strict JSON object`, { cause: err });
  }
}

function parseHeader(segment: string): ProofHeader {
  const header = parseSegment(segment, 'DPoP proof header');
  // RFC 9449 §4.3 (4): explicit typing keeps an access token or ID token from passing as a proof (RFC 8725 §3.11).
  if (header.typ !== 'dpop+jwt') throw new DpopTypInvalid();
  const alg = header.alg;
  // (5) asymmetric only: an HMAC proof would need a secret the server shares, and `none` proves nothing.
  if (typeof alg !== 'string') throw new DpopAlgNotAllowed();
  const jwsAlg = jwsAlgOf(alg);
  if (!isAlg(jwsAlg) || ALGORITHMS[jwsAlg].kty === 'oct') throw new DpopAlgNotAllowed();
  // RFC 7515 §4.1.11: no extension is implemented, so any `crit` must fail; b64 is not allowed in a JWT (RFC 7797 §7).
  if (Object.hasOwn(header, 'crit') || Object.hasOwn(header, 'b64'))
    throw new DpopProofInvalid('DPoP proof header uses an unsupported extension');
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new DpopJwkInvalid();
  // (6) a public key only.
  for (const member of PRIVATE_MEMBERS) if (Object.hasOwn(jwk, member)) throw new DpopJwkPrivate();
  let key: TesseraKey;
  let jkt: string;
  try {
    // importJWK enforces kty/crv against alg (ES256 only on P-256, A21), RSA ≥ 2048 bits, points on the curve.
    key = importJWK(jwk as JWK, { alg: jwsAlg });
    jkt = calculateJWKThumbprint(jwk as JWK);
  } catch (err) {
    throw new DpopJwkInvalid(undefined, { cause: err });
  }
  const entry: ProofHeader = Object.freeze({
    alg,
    jwsAlg,
    jwk: Object.freeze(jwk) as JWK,
    jkt,
    plan: verifyPlan(ALGORITHMS[jwsAlg], key),
  });
  if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.delete(headerCache.keys().next().value!);
  headerCache.set(segment, entry);
  return entry;
}

/** base64url(SHA-256(ASCII(token))): the `ath` claim (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  // The one-shot crypto.hash (Node ≥ 20.12) skips building a Hash object: about a microsecond per request.
  if (oneShotHash !== undefined) return oneShotHash('sha256', accessToken, 'base64url');
  return createHash('sha256').update(accessToken, 'utf8').digest('base64url');
}

const oneShotHash = (crypto as { hash?: (alg: string, data: string, encoding: 'base64url') => string }).hash;

// The same two strings normalise alike, so equal text needs no URL parsing (the common case: the client
// used the URL it requested). Otherwise both are normalised; a malformed htu never matches.
function htuMatches(htu: string, url: string): boolean {
  if (htu === stripQueryAndFragment(url) && (url.startsWith('https://') || url.startsWith('http://')))
    return true;
  let normalized: string;
  try {
    normalized = normalizeHtu(htu);
  } catch {
    return false;
  }
  return normalized === normalizeHtu(url);
}

/** The URL up to its query or fragment: what a proof's `htu` names (RFC 9449 §4.2). */
export function stripQueryAndFragment(url: string): string {
  const q = url.indexOf('?');
  const h = url.indexOf('#');
  const end = q === -1 ? h : h === -1 ? q : Math.min(q, h);
  return end === -1 ? url : url.slice(0, end);
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * The form of a URL that DPoP compares (RFC 9449 §4.3 (11), RFC 3986 §6.2.2 and §6.2.3): scheme and host in
 * lower case, the default port dropped, dot segments removed, percent-encodings of unreserved characters
 * decoded and the others in upper case, an empty path as "/", no query and no fragment. Only absolute
 * http(s) URLs; anything else throws InvalidOptions.
 *
 * @example normalizeHtu('HTTPS://API.Example.com:443/a/../b%7e?x=1') // 'https://api.example.com/b~'
 */
export function normalizeHtu(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new InvalidOptions('not an absolute URL', { cause: err });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new InvalidOptions('DPoP URLs must be http or https');
  // The WHATWG parser lower-cases scheme and host, drops the default port, resolves dot segments (also
  // percent-encoded ones) and gives an empty path as "/"; it leaves percent-encodings as written.
  const path = parsed.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
  const auth = parsed.username || parsed.password ? `${parsed.username}:${parsed.password}@` : '';
  return `${parsed.protocol}//${auth}${parsed.host}${path}`;
}
