import { actorChain, actorDepthCheck } from './actor.js';
import { isCanonicalBase64url } from './base64url.js';
import { toSeconds } from './duration.js';
import {
  InvalidOptions,
  JWSInvalid,
  JWTClaimInvalid,
  JWKSNoMatchingKey,
  TesseraError,
  TokenTooLarge,
} from './errors.js';
import { createHistogram, emit, observe, type EventsOptions, type VerifierStats } from './events.js';
import { MAX_JSON_DEPTH } from './header.js';
import {
  createIntrospectionClient,
  type IntrospectionClient,
  type IntrospectionClientOptions,
  type IntrospectionResponse,
} from './introspection.js';
import { decodeUTF8, parseStrictJSONObject } from './json.js';
import type { KeyInput } from './key-set.js';
import { createRemoteJWKSet, type RemoteJWKSet, type RemoteJWKSetOptions } from './remote-jwks.js';
import type { RevocationSource } from './revocation.js';
import {
  createDpopPath,
  registerDpopPath,
  verifyRequestWith,
  type DpopMode,
  type DpopOptions,
  type TokenPath,
  type VerifyRequestInput,
  type VerifyRequestResult,
} from './dpop-request.js';
import { createTokenCache, type TokenCacheOptions } from './token-cache.js';
import type { Alg, JWTPayload, KeySource, TesseraKey, VerifyResult } from './types.js';
import {
  createCoreVerifier,
  DEFAULT_MAX_TOKEN_LENGTH,
  type CoreVerifier,
  type CoreVerifierOptions,
} from './verifier-core.js';

/** One trusted issuer of a multi-issuer verifier; each has its own key source. */
export interface IssuerEntry {
  issuer: string;
  /** The issuer's JWKS URI (or give `keys`). */
  jwksUri?: string | URL;
  /** Local keys instead of a JWKS URI. */
  keys?: KeyInput | KeySource;
  /** Overrides the verifier's audience for this issuer. */
  audience?: string | readonly string[] | null;
  /** Overrides the verifier's algorithms for this issuer. */
  algorithms?: readonly Alg[];
  /** Overrides the verifier's `scopeClaim` for this issuer (e.g. `scp` for another vendor's tokens). */
  scopeClaim?: string;
}

/** Options for createVerifier: the core options plus remote keys, several issuers, caching, revocation, introspection, events. */
export interface VerifierOptions extends Omit<CoreVerifierOptions, 'keys' | 'issuer'> {
  /** Accepted `iss` value(s), null, or a list of issuers each with its own keys. */
  issuer: string | readonly string[] | null | readonly IssuerEntry[];
  /** Local keys or a KeySource. Give `keys` or `jwksUri` (or per-issuer entries). */
  keys?: KeyInput | KeySource;
  /** The issuer's JWKS URI; builds a remote key set. */
  jwksUri?: string | URL;
  /** Options for the remote key sets built from `jwksUri`s (algorithms come from the verifier). */
  jwks?: Omit<RemoteJWKSetOptions, 'algorithms' | 'onEvent'>;
  /** Verified-token cache, opt-in. */
  cache?: TokenCacheOptions;
  /** A deny-list source, e.g. createRevocationList(…). */
  revocations?: RevocationSource;
  /** RFC 7662 introspection for opaque tokens (anything that is not three base64url segments). */
  introspection?: IntrospectionClient | IntrospectionClientOptions;
  /** Events and timing. */
  events?: EventsOptions;
  /**
   * The claim the middleware reads scopes from. Default `scope` (RFC 9068 §2.2.3, space-delimited). Only
   * for tokens of another issuer that uses another name (a string or a list of strings, e.g. `scp`): a
   * fallback to a second claim would let a client allowed to carry that claim grant itself scopes.
   */
  scopeClaim?: string;
  /** Refuse tokens whose `act` chain (RFC 8693 §4.1) is malformed or has more actors than this (actorChain). */
  maxActorDepth?: number;
  /**
   * DPoP (RFC 9449) for verifyRequest and the middleware: `allowed` takes `Bearer` and `DPoP` tokens,
   * `required` only `DPoP`. Unset: `Bearer` only. A token bound with `cnf.jkt` is never accepted as `Bearer`.
   */
  dpop?: DpopMode;
  /** Proof algorithms, `iat` window, replay store, nonces, and how the request URL is seen behind a proxy. */
  dpopOptions?: DpopOptions;
}

/** What an introspected (opaque) token verifies to. */
export interface IntrospectedResult<P extends JWTPayload = JWTPayload> {
  header: undefined;
  payload: IntrospectionResponse & P;
  key: undefined;
  introspected: true;
}

/** A configured verifier. `stats` exists when any SDK extra (cache, revocation, events…) is configured. */
export interface Verifier extends CoreVerifier {
  stats?(): VerifierStats;
  /**
   * Verify the credentials of an HTTP request: `Authorization: Bearer <token>`, or (with `dpop`)
   * `Authorization: DPoP <token>` plus its `DPoP` proof, checked against the method and URL, the token's
   * `cnf.jkt`, `ath`, the `iat` window and the replay store. The verified-token cache serves the token; the
   * proof is verified on every request. Rejects with a TesseraError (ERR_DPOP_* for DPoP failures).
   *
   * @example const { result, scheme } = await verifier.verifyRequest({ method: req.method, url: req.url, headers: req.headers });
   */
  verifyRequest(request: VerifyRequestInput): Promise<VerifyRequestResult>;
}

/** A verifier that also accepts opaque tokens through introspection. */
export interface OpaqueTokenVerifier extends Omit<Verifier, 'verify' | 'verifyRequest'> {
  verify<P extends JWTPayload = JWTPayload>(token: string): Promise<VerifyResult<P> | IntrospectedResult<P>>;
  /** Verifier.verifyRequest; an opaque token resolves to its introspection result. */
  verifyRequest(request: VerifyRequestInput): Promise<VerifyRequestResult<VerifyResult | IntrospectedResult>>;
}

/** What the middleware adapters get from a createVerifier verifier (not public API). */
export interface SyncPath {
  /**
   * The verified-token cache's answer for exactly this token, synchronously: the result on a hit (recorded
   * in stats and events like a `verify`), undefined on a miss (nothing recorded: go on with `uncached`). A
   * refused hit (revoked, broken clock) throws, recorded. A held token passed the strict compact-JWS parse
   * (base64url segments and dots), so a hit is also a b64token.
   */
  cached(token: string): VerifyResult | undefined;
  /** verify after `cached` missed: full verification, no second cache lookup. */
  uncached(token: string): Promise<VerifyResult | IntrospectedResult>;
}

const syncPaths = new WeakMap<object, SyncPath>();

/** Per verifier: the scope claim name, by issuer when the issuer list set one (see VerifierOptions.scopeClaim). */
interface ScopeClaims {
  fallback: string;
  byIssuer: ReadonlyMap<string, string> | undefined;
}
const scopeClaims = new WeakMap<object, ScopeClaims>();

/**
 * The claim a verifier's tokens carry their scopes in, for a token of issuer `iss`: `scope` unless the
 * verifier was configured otherwise (not public API; the middleware adapters use it).
 */
export function scopeClaimOf(verifier: object, iss: unknown): string {
  const claims = scopeClaims.get(verifier);
  if (claims === undefined) return 'scope';
  if (claims.byIssuer !== undefined && typeof iss === 'string')
    return claims.byIssuer.get(iss) ?? claims.fallback;
  return claims.fallback;
}

// A claim name is a non-empty JSON member name; registered timing and identity claims can never be scopes.
const NOT_SCOPE_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'client_id']);
function checkScopeClaim(name: unknown, where: string): string {
  if (typeof name !== 'string' || name === '' || name.length > 64 || NOT_SCOPE_CLAIMS.has(name))
    throw new InvalidOptions(`"${where}" must be a claim name such as "scope" or "scp"`);
  return name;
}

/** The SyncPath of a createVerifier verifier with a token cache, or undefined for any other verifier. */
export function syncPathOf(verifier: object): SyncPath | undefined {
  return syncPaths.get(verifier);
}

// Three base64url segments: anything else goes to introspection when it is configured.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function isIssuerList(issuer: VerifierOptions['issuer']): issuer is readonly IssuerEntry[] {
  return (
    Array.isArray(issuer) && issuer.length > 0 && issuer.some((e) => typeof e === 'object' && e !== null)
  );
}

function isIntrospectionClient(v: unknown): v is IntrospectionClient {
  return typeof (v as IntrospectionClient)?.introspect === 'function';
}

function listOf(value: string | readonly string[] | null | undefined): ReadonlySet<string> | null {
  if (value === undefined || value === null) return null;
  return new Set(typeof value === 'string' ? [value] : value);
}

/**
 * Create a verifier. `algorithms`, `issuer` and `audience` are required (`null` switches a check off on
 * purpose). Keys are local (`keys`), remote (`jwksUri`), or per issuer: with `issuer: [{ issuer, jwksUri }, …]`
 * the token's `iss`, read from the strictly parsed payload before any key is fetched, picks the entry, so an
 * unknown issuer costs no request and keys of issuer A never verify a token claiming issuer B. Without
 * cache, revocations, introspection, events or several issuers, this returns the core verifier itself.
 *
 * @example
 * const verifier = createVerifier({
 *   algorithms: ['ES256'], issuer: 'https://auth.example.com', audience: 'orders-api',
 *   jwksUri: 'https://auth.example.com/.well-known/jwks.json', cache: { maxEntries: 10_000 },
 * });
 * const { payload } = await verifier.verify(token);
 */
export function createVerifier(
  options: VerifierOptions & { introspection: IntrospectionClient | IntrospectionClientOptions },
): OpaqueTokenVerifier;
export function createVerifier(options: VerifierOptions): Verifier;
export function createVerifier(options: VerifierOptions): Verifier | OpaqueTokenVerifier {
  if (typeof options !== 'object' || options === null) throw new InvalidOptions('options are required');
  const {
    jwksUri,
    jwks,
    cache: cacheOptions,
    revocations,
    introspection,
    events,
    keys,
    scopeClaim,
    maxActorDepth,
    dpop,
    dpopOptions,
    ...core
  } = options;
  if (maxActorDepth !== undefined) core.check = actorDepthCheck(maxActorDepth, core.check);
  const scopes: ScopeClaims = {
    fallback: scopeClaim === undefined ? 'scope' : checkScopeClaim(scopeClaim, 'scopeClaim'),
    byIssuer: undefined,
  };
  const onEvent = events?.onEvent;
  if (jwksUri !== undefined && keys !== undefined)
    throw new InvalidOptions('give "keys" or "jwksUri", not both');
  if (revocations !== undefined && typeof revocations?.check !== 'function') {
    throw new InvalidOptions('"revocations" must be a revocation source (createRevocationList)');
  }
  const remote = (uri: string | URL, algorithms: readonly Alg[]): RemoteJWKSet =>
    createRemoteJWKSet(uri, {
      ...(core.clock && { clock: core.clock }),
      ...jwks,
      algorithms,
      ...(onEvent && { onEvent }),
    });

  const multi = isIssuerList(options.issuer);
  const remotes: RemoteJWKSet[] = [];
  let single: CoreVerifier | undefined;
  let byIssuer: Map<string, CoreVerifier> | undefined;
  if (multi) {
    if (jwksUri !== undefined || keys !== undefined)
      throw new InvalidOptions('with an issuer list, give keys per issuer');
    byIssuer = new Map();
    for (const entry of options.issuer as readonly IssuerEntry[]) {
      if (
        typeof entry !== 'object' ||
        entry === null ||
        typeof entry.issuer !== 'string' ||
        entry.issuer === ''
      ) {
        throw new InvalidOptions('each issuer entry needs an "issuer" string');
      }
      if (byIssuer.has(entry.issuer)) throw new InvalidOptions('issuer entries must be unique');
      if (entry.scopeClaim !== undefined) {
        const byIssuer = (scopes.byIssuer ??= new Map()) as Map<string, string>;
        byIssuer.set(entry.issuer, checkScopeClaim(entry.scopeClaim, 'scopeClaim'));
      }
      if ((entry.jwksUri === undefined) === (entry.keys === undefined))
        throw new InvalidOptions('each issuer entry needs "jwksUri" or "keys"');
      const algorithms = entry.algorithms ?? core.algorithms;
      let source: KeyInput | KeySource;
      if (entry.jwksUri !== undefined) {
        const r = remote(entry.jwksUri, algorithms);
        remotes.push(r);
        source = r;
      } else source = entry.keys!;
      byIssuer.set(
        entry.issuer,
        createCoreVerifier({
          ...core,
          algorithms,
          issuer: entry.issuer,
          audience: entry.audience !== undefined ? entry.audience : core.audience,
          keys: source,
        }),
      );
    }
  } else {
    let source: KeyInput | KeySource | undefined = keys;
    if (jwksUri !== undefined) {
      const r = remote(jwksUri, core.algorithms);
      remotes.push(r);
      source = r;
    }
    if (source === undefined) throw new InvalidOptions('"keys" or "jwksUri" is required');
    single = createCoreVerifier({
      ...core,
      issuer: options.issuer as CoreVerifierOptions['issuer'],
      keys: source,
    });
  }

  if (
    !multi &&
    cacheOptions === undefined &&
    revocations === undefined &&
    introspection === undefined &&
    events === undefined
  ) {
    if (scopeClaim !== undefined) scopeClaims.set(single!, scopes);
    return withRequests(single!, undefined);
  }
  const extended = createExtendedVerifier();
  if (scopeClaim !== undefined || scopes.byIssuer !== undefined) scopeClaims.set(extended, scopes);
  return withRequests(extended, syncPaths.get(extended));

  /** Add verifyRequest, sharing the token path (cache first) with the middleware's DPoP checks. */
  function withRequests(v: object, sync: SyncPath | undefined): Verifier {
    type R = VerifyResult | IntrospectedResult;
    const path: TokenPath<R> =
      sync !== undefined
        ? { cached: sync.cached, verify: sync.uncached }
        : { verify: (token) => (v as OpaqueTokenVerifier).verify(token) };
    const requests = createDpopPath<R>(dpop, dpopOptions, path, core.clock ?? Date.now);
    registerDpopPath(v, requests as never);
    return Object.assign(v, {
      verifyRequest: (request: VerifyRequestInput) => verifyRequestWith(requests, path, request),
    }) as Verifier;
  }

  function createExtendedVerifier():
    Omit<Verifier, 'verifyRequest'> | Omit<OpaqueTokenVerifier, 'verifyRequest'> {
    const clock = core.clock ?? Date.now;
    const maxLength = core.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
    const tolerance =
      core.clockTolerance === undefined ? 0 : toSeconds(core.clockTolerance, 'clockTolerance');
    const maxAge = core.maxTokenAge === undefined ? undefined : toSeconds(core.maxTokenAge, 'maxTokenAge');
    const revocationCheck = revocations
      ? (p: JWTPayload, h: VerifyResult['header'], k: TesseraKey) => revocations.check(p, h, k)
      : undefined;
    const cache = cacheOptions === undefined ? undefined : createTokenCache(cacheOptions, revocationCheck);
    const introspector =
      introspection === undefined
        ? undefined
        : isIntrospectionClient(introspection)
          ? introspection
          : createIntrospectionClient({
              ...introspection,
              ...(onEvent && { onEvent }),
              ...(core.clock && { clock: core.clock }),
            });
    const issuers = multi
      ? new Set(byIssuer!.keys())
      : listOf(options.issuer as string | readonly string[] | null);
    const audiences = listOf(core.audience);
    const timing = onEvent !== undefined;
    const histogram = createHistogram();
    const results: Record<string, number> = {};
    let verifications = 0;
    let ok = 0;

    const verifiers = multi ? [...byIssuer!.values()] : [single!];
    const keySource: KeySource = multi
      ? {
          resolve() {
            throw new JWKSNoMatchingKey('a multi-issuer verifier resolves keys per issuer');
          },
          isTrusted: (key) => verifiers.some((v) => v.keySource.isTrusted(key)),
          close: () => verifiers.forEach((v) => v.close()),
        }
      : single!.keySource;

    /** Pick the issuer's verifier from the strictly parsed payload, before any key is looked up or fetched. */
    function route(token: string): CoreVerifier {
      if (typeof token !== 'string') throw new JWSInvalid('token must be a string');
      if (token.length > maxLength) throw new TokenTooLarge();
      const d1 = token.indexOf('.');
      const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
      if (d1 <= 0 || d2 < 0 || token.indexOf('.', d2 + 1) !== -1)
        throw new JWSInvalid('a JWS has exactly three segments');
      const segment = token.slice(d1 + 1, d2);
      if (!isCanonicalBase64url(segment)) throw new JWSInvalid('payload is not canonical base64url');
      const payload = parseStrictJSONObject(
        decodeUTF8(Buffer.from(segment, 'base64url'), 'payload'),
        { maxDepth: MAX_JSON_DEPTH },
        'payload',
      );
      const iss = payload.iss;
      if (typeof iss !== 'string')
        throw new JWTClaimInvalid('iss', iss === undefined ? 'is missing' : 'must be a string');
      const v = byIssuer!.get(iss);
      // An unknown issuer is refused here: `iss` can never steer a fetch (SSRF) or pick another issuer's keys.
      if (v === undefined) throw new JWTClaimInvalid('iss', 'does not match an accepted issuer');
      return v;
    }

    function until(payload: JWTPayload): number {
      if (typeof payload.exp !== 'number') return -Infinity;
      // validateClaims rejects when floor(now/1000) >= exp + tolerance, i.e. when now >= ceil(exp + tolerance) s.
      let end = Math.ceil(payload.exp + tolerance) * 1000;
      if (maxAge !== undefined && typeof payload.iat === 'number')
        end = Math.min(end, Math.floor(payload.iat + maxAge + tolerance + 1) * 1000);
      return end;
    }

    function afterJWT(token: string, source: KeySource) {
      return (r: VerifyResult): VerifyResult => {
        revocationCheck?.(r.payload, r.header, r.key);
        if (cache !== undefined) {
          const end = until(r.payload);
          if (end > clock()) cache.set(token, r, end, source);
        }
        return r;
      };
    }

    function checkIntrospected(answer: IntrospectionResponse): IntrospectedResult {
      if (
        issuers !== null &&
        answer.iss !== undefined &&
        !(typeof answer.iss === 'string' && issuers.has(answer.iss))
      ) {
        throw new JWTClaimInvalid('iss', 'does not match an accepted issuer');
      }
      // Issue 12 #3: the audience check never depends on the server choosing to send `aud`; an answer
      // without it fails a configured audience (RFC 8725 §3.9, cross-service replay).
      if (audiences !== null) {
        if (answer.aud === undefined) throw new JWTClaimInvalid('aud', 'is missing');
        const list =
          typeof answer.aud === 'string' ? [answer.aud] : Array.isArray(answer.aud) ? answer.aud : [];
        if (!list.some((a) => audiences.has(a)))
          throw new JWTClaimInvalid('aud', 'does not contain an accepted audience');
      }
      if (maxActorDepth !== undefined && answer.act !== undefined)
        actorChain(answer, { maxDepth: maxActorDepth });
      return { header: undefined, payload: answer, key: undefined, introspected: true };
    }

    function slow(token: string): Promise<VerifyResult | IntrospectedResult> {
      try {
        if (
          introspector !== undefined &&
          typeof token === 'string' &&
          token.length <= maxLength &&
          !JWT_SHAPE.test(token)
        ) {
          return introspector.introspect(token).then(checkIntrospected);
        }
        const v = multi ? route(token) : single!;
        return v.verify(token).then(afterJWT(token, v.keySource));
      } catch (err) {
        return Promise.reject(err);
      }
    }

    function record(code: string | undefined, t0: number, cached: boolean, introspected: boolean): void {
      verifications++;
      if (code === undefined) ok++;
      else results[code] = (results[code] ?? 0) + 1;
      if (timing) {
        const ms = performance.now() - t0;
        observe(histogram, ms);
        emit(onEvent, {
          type: 'verify',
          ms,
          ...(code !== undefined && { code: code as TesseraError['code'] }),
          ...(cached && { cached }),
          ...(introspected && { introspected }),
        });
      }
    }

    const codeOf = (err: unknown) => (err instanceof TesseraError ? err.code : 'ERR_UNEXPECTED');

    const cacheable = (token: string) =>
      cache !== undefined && typeof token === 'string' && token.length <= maxLength;

    function cached(token: string): VerifyResult | undefined {
      if (!cacheable(token)) return undefined;
      const t0 = timing ? performance.now() : 0;
      let hit: VerifyResult | undefined;
      try {
        const now = clock();
        // A12: a broken clock must never make an expired entry look fresh.
        if (!Number.isFinite(now)) throw new InvalidOptions('the clock returned no usable time');
        hit = cache!.lookup(token, now);
      } catch (err) {
        record(codeOf(err), t0, true, false);
        throw err;
      }
      if (hit !== undefined) record(undefined, t0, true, false);
      return hit;
    }

    function uncached(token: string): Promise<VerifyResult | IntrospectedResult> {
      if (cacheable(token)) cache!.missed();
      const t0 = timing ? performance.now() : 0;
      return slow(token).then(
        (r) => {
          record(undefined, t0, false, r.key === undefined);
          return r;
        },
        (err: unknown) => {
          record(codeOf(err), t0, false, false);
          throw err;
        },
      );
    }

    function verify(token: string): Promise<VerifyResult | IntrospectedResult> {
      let hit: VerifyResult | undefined;
      try {
        hit = cached(token);
      } catch (err) {
        return Promise.reject(err);
      }
      return hit !== undefined ? Promise.resolve(hit) : uncached(token);
    }

    const verifier: Omit<Verifier, 'verifyRequest'> | Omit<OpaqueTokenVerifier, 'verifyRequest'> = {
      keySource,
      verify: verify as OpaqueTokenVerifier['verify'] & Verifier['verify'],
      stats(): VerifierStats {
        return {
          verifications,
          results: { ok, ...results },
          token_validation_ms: { ...histogram, counts: [...histogram.counts] },
          ...(cache && { cache: cache.stats() }),
          jwks: remotes.map((r) => r.stats()),
          ...(revocations?.stats && { revocation: revocations.stats() }),
          ...(introspector && { introspection: introspector.stats() }),
        };
      },
      close(): void {
        verifiers.forEach((v) => v.close());
        cache?.clear();
      },
    };
    if (cache !== undefined) syncPaths.set(verifier, { cached, uncached });
    return verifier;
  }
}
