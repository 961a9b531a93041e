import {
  checkBearerToken,
  extractBearerToken,
  hasBearerPrefix,
  MAX_AUTHORIZATION_LENGTH,
  startsWithLowerASCII,
} from '../bearer.js';
import { actorChain, checkMaxActorDepth } from '../actor.js';
import { dpopPathOf, hasDpopPrefix, isBound, type DpopPath } from '../dpop-request.js';
import {
  DPOP_DESCRIPTIONS,
  DPOP_TOKEN_FAILURES,
  dpopError,
  dpopMissing,
  type DpopChallenge,
  type RequestReader,
} from './dpop-answers.js';
import {
  DpopBoundTokenAsBearer,
  DpopProofInvalid,
  DpopProofMissing,
  DpopRequired,
  DpopUseNonce,
  InvalidOptions,
  TesseraError,
  type TesseraErrorCode,
} from '../errors.js';
import type { JWSHeader, JWTPayload, VerifyResult } from '../types.js';
import {
  scopeClaimOf,
  syncPathOf,
  type IntrospectedResult,
  type OpaqueTokenVerifier,
  type Verifier,
} from '../verifier.js';

/** What every adapter puts on its request slot (`req.auth`, `request.auth`, `c.get('auth')`). */
export interface AuthInfo<P extends JWTPayload = JWTPayload> {
  /** The verified claims (or the introspection answer for an opaque token). */
  claims: P;
  /**
   * Scopes from the `scope` claim (a space-delimited string, RFC 9068 §2.2.3), or from the claim the verifier
   * was configured with (`scopeClaim`: a space-delimited string or a list of strings). See scopesOf.
   */
  scopes: readonly string[];
  /** The protected header; absent for introspected tokens. */
  header?: JWSHeader;
  introspected: boolean;
}

/** Options shared by every adapter. */
export interface AuthOptions {
  /** A verifier from createVerifier. */
  verifier: Verifier | OpaqueTokenVerifier;
  /** `realm` for the WWW-Authenticate challenge (RFC 6750 §3). */
  realm?: string;
  /** Scopes every request must carry (403 insufficient_scope otherwise). Per-route scopes: requireScopes(…). */
  scopes?: readonly string[];
  /**
   * `false`: a request without bearer credentials (no Authorization header, another scheme, or nothing from
   * `getToken`) goes on unauthenticated, with no auth on the request slot. A token that is present is still
   * verified, and refused when invalid. Default `true`. Cannot be combined with `scopes`.
   */
  credentialsRequired?: boolean;
  /**
   * Refuse (401 invalid_token) tokens whose `act` delegation chain (RFC 8693 §4.1) is malformed or has more
   * actors than this, whatever the verifier allows (actorChain). Default: no limit here.
   */
  maxActorDepth?: number;
}

/**
 * The options of a framework adapter: AuthOptions plus the hooks that see the framework's request objects.
 *
 * @example
 * createExpressAuth({ verifier, getToken: (req) => req.cookies.access_token, onError: (f, req, res) => res.redirect('/login') });
 */
export interface AdapterAuthOptions<Req, Res> extends AuthOptions {
  /**
   * Where the token is, instead of the Authorization header (e.g. a cookie or another header). The token it
   * returns is checked (RFC 6750 §2.1 b64token) and verified exactly like a Bearer token; undefined, null or
   * '' means no credentials.
   */
  getToken?: (req: Req) => string | undefined | null;
  /**
   * Called with every failure the middleware would answer (400/401/403/500/503). It may send its own response;
   * if it has not when it returns (or its promise settles), the default RFC 6750 answer is sent.
   */
  onError?: (failure: AuthFailure, req: Req, res: Res) => unknown;
}

/** An HTTP answer an adapter sends as is. */
export interface AuthFailure {
  status: 400 | 401 | 403 | 500 | 503;
  headers: Record<string, string>;
  /** JSON body; undefined for the bare 401 of a request without credentials (RFC 6750 §3.1). */
  body: { error: string; error_description: string } | undefined;
}

export type AuthOutcome = { ok: true; auth: AuthInfo } | { ok: false; failure: AuthFailure };

/** A request without credentials let through because of `credentialsRequired: false`. */
export interface AnonymousOutcome {
  ok: true;
  auth: null;
}

/** What an authentication step can decide once `credentialsRequired: false` is possible. */
export type StepOutcome = AuthOutcome | AnonymousOutcome;

const ANONYMOUS: AnonymousOutcome = Object.freeze({ ok: true as const, auth: null });

export { nodeRequestReader } from './dpop-answers.js';
export type { DpopChallenge, RequestReader } from './dpop-answers.js';

// Descriptions come from the error code alone, never from the token or the error message (which could
// name a claim an attacker chose): a client learns what kind of failure, nothing more.
const DESCRIPTIONS: Partial<Record<TesseraErrorCode, string>> = {
  ERR_JWT_EXPIRED: 'the access token expired',
  ERR_JWT_NOT_YET_VALID: 'the access token is not valid yet',
  ERR_JWT_CLAIM_INVALID: 'the access token claims are not acceptable',
  ERR_JWT_ACTOR_CHAIN_TOO_DEEP: 'the access token delegation chain is too long',
  ERR_JWS_INVALID: 'the access token is malformed',
  ERR_TOKEN_TOO_LARGE: 'the access token is too large',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'the access token signature is invalid',
  ERR_JOSE_ALG_NOT_ALLOWED: 'the access token algorithm is not accepted',
  ERR_JOSE_NOT_SUPPORTED: 'the access token uses an unsupported feature',
  ERR_JWKS_NO_MATCHING_KEY: 'the access token signing key is unknown',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'the access token signing key is ambiguous',
  ERR_JWKS_COOLDOWN: 'the access token signing key is unknown',
  ERR_TOKEN_REVOKED: 'the access token was revoked',
  ERR_TOKEN_INACTIVE: 'the access token is not active',
};

// Failures of our own dependencies (issuer, feed, introspection endpoint) are not the client's fault.
const UNAVAILABLE = new Set<TesseraErrorCode>([
  'ERR_JWKS_FETCH_FAILED',
  'ERR_JWKS_STALE',
  'ERR_JWKS_INVALID',
  'ERR_INTROSPECTION_FAILED',
  'ERR_REVOCATION_STALE',
  'ERR_DPOP_REPLAY_CHECK_FAILED',
]);

// RFC 6749 §A.4 scope-token = 1*NQCHAR; realm likewise must not break out of its quoted-string.
const NQCHAR = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

function challenge(realm: string | undefined, params: string): string {
  const r = realm === undefined ? '' : `realm="${realm}"`;
  return `Bearer ${[r, params].filter((s) => s !== '').join(', ')}`;
}

/** Validate a list of scope tokens once, at construction. */
export function checkScopeList(scopes: readonly string[], name = 'scopes'): readonly string[] {
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && NQCHAR.test(s))) {
    throw new InvalidOptions(`"${name}" must be a list of scope tokens (RFC 6749 §3.3)`);
  }
  return Object.freeze([...scopes]);
}

/**
 * The scopes a token carries, from one claim only. `scope` (the default) must be a space-delimited string
 * (RFC 9068 §2.2.3, RFC 7662 §2.2); anything else there gives no scopes. No fallback to another claim: a
 * client that may add a custom `scp` claim to its tokens would otherwise grant itself any scope it names
 * (issue 12). A configured claim (the verifier's `scopeClaim`, e.g. `scp`) may be a space-delimited string
 * or a list of strings; a list holding anything but strings gives no scopes.
 *
 * @example
 * scopesOf({ scope: 'orders:read orders:write' }) // ['orders:read', 'orders:write']
 * scopesOf({ scp: ['admin'] }) // []
 * scopesOf({ scp: ['orders:read'] }, 'scp') // ['orders:read']
 */
export function scopesOf(claims: JWTPayload, claim = 'scope'): readonly string[] {
  if (!Object.hasOwn(claims, claim)) return [];
  const value = (claims as Record<string, unknown>)[claim];
  if (typeof value === 'string') return value.split(' ').filter((s) => s !== '');
  if (claim !== 'scope' && Array.isArray(value) && value.every((s) => typeof s === 'string'))
    return value.filter((s: string) => s !== '');
  return [];
}

/** The 403 answer when `auth` lacks one of `required` (401 when there is no auth), else undefined. */
export function checkScopes(
  auth: AuthInfo | null | undefined,
  required: readonly string[],
  realm?: string,
): AuthFailure | undefined {
  // No auth (null: let through by credentialsRequired: false) needs credentials first: a bare 401.
  if (auth === undefined || auth === null) return unauthorized(realm);
  if (required.every((s) => auth.scopes.includes(s))) return undefined;
  return bearerError(
    403,
    realm,
    'insufficient_scope',
    'the access token lacks a required scope',
    `, scope="${required.join(' ')}"`,
  );
}

function malformed(realm: string | undefined): AuthFailure {
  return bearerError(400, realm, 'invalid_request', 'the Authorization header is malformed');
}

/** An RFC 6750 §3 error answer: the same error and description in the challenge and in the JSON body. */
function bearerError(
  status: AuthFailure['status'],
  realm: string | undefined,
  error: string,
  description: string,
  extraParams = '',
): AuthFailure {
  return {
    status,
    headers: {
      'www-authenticate': challenge(
        realm,
        `error="${error}", error_description="${description}"${extraParams}`,
      ),
      'cache-control': 'no-store',
    },
    body: { error, error_description: description },
  };
}

function unauthorized(realm: string | undefined): AuthFailure {
  return {
    status: 401,
    headers: { 'www-authenticate': challenge(realm, ''), 'cache-control': 'no-store' },
    body: undefined,
  };
}

// Longest Retry-After passed on: a day; a larger value is an error somewhere, not advice worth following.
const MAX_RETRY_AFTER = 86400;

/** The error's `retryAfter` (whole seconds ≥ 0) when it carries a usable one, read structurally. */
function retryAfterOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const value = (err as { retryAfter?: unknown }).retryAfter;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
    ? Math.min(value, MAX_RETRY_AFTER)
    : undefined;
}

function unavailable(retryAfter: number): AuthFailure {
  return {
    status: 503,
    headers: { 'cache-control': 'no-store', 'retry-after': String(retryAfter) },
    body: {
      error: 'temporarily_unavailable',
      error_description: 'the access token cannot be checked right now',
    },
  };
}

/**
 * Map a verification error to its HTTP answer: 401 invalid_token (description from the error code),
 * 503 when a dependency (JWKS, feed, introspection) failed, 500 for anything unexpected. An error carrying
 * a numeric `retryAfter` (seconds; e.g. IntrospectionFailed when the introspection budget is spent or the
 * token service answered 429) is a 503 with that `Retry-After` (RFC 9110 §10.2.3): the client's token may be
 * fine, the check is what is rationed.
 *
 * @example const { status, headers, body } = failureFor(err, 'api');
 */
export function failureFor(err: unknown, realm?: string, dpop?: DpopChallenge): AuthFailure {
  const retryAfter = retryAfterOf(err);
  if (retryAfter !== undefined) return unavailable(retryAfter);
  if (!(err instanceof TesseraError)) {
    return {
      status: 500,
      headers: { 'cache-control': 'no-store' },
      body: { error: 'server_error', error_description: 'token verification failed unexpectedly' },
    };
  }
  if (UNAVAILABLE.has(err.code)) return unavailable(5);
  const description = DESCRIPTIONS[err.code] ?? DPOP_DESCRIPTIONS[err.code] ?? 'the access token is invalid';
  if (dpop !== undefined) {
    // RFC 9449 §7.1: proof failures are invalid_dpop_proof (use_dpop_nonce with a fresh DPoP-Nonce, §9).
    if (err instanceof DpopProofInvalid) {
      const nonce = err instanceof DpopUseNonce ? err.nonce : undefined;
      return dpopError(realm, dpop.algs, err.wireError, description, nonce);
    }
    if (dpop.scheme === 'DPoP' || DPOP_TOKEN_FAILURES.has(err.code))
      return dpopError(realm, dpop.algs, 'invalid_token', description);
  }
  return bearerError(401, realm, 'invalid_token', description);
}

/**
 * An authentication step: a plain outcome when it is known synchronously (a cache hit, a missing or malformed
 * header), else a promise. `O` includes AnonymousOutcome when credentials are optional.
 */
export type AuthStep<O extends StepOutcome = AuthOutcome> = (
  authorization: string | readonly string[] | undefined,
) => O | Promise<O>;

/**
 * The two entries of the shared step: the Authorization header (with the request, for DPoP), or a token from a
 * `getToken` hook.
 */
export interface AuthSteps<Req = unknown> {
  header: (
    authorization: string | readonly string[] | undefined,
    req?: Req,
  ) => StepOutcome | Promise<StepOutcome>;
  token: (token: unknown) => StepOutcome | Promise<StepOutcome>;
}

/** Whether a raw header name is "Authorization", case-insensitively (RFC 9110 §5.1), without allocating. */
function isAuthorizationName(name: string): boolean {
  if (name.length !== 13) return false;
  return name === 'authorization' || name === 'Authorization' || startsWithLowerASCII(name, 'authorization');
}

/**
 * The Authorization header of a node request, from its parsed value (`req.headers.authorization`, so a value
 * set by earlier middleware is honoured) and its raw header lines: every value the client sent when it sent
 * several. Node keeps the first Authorization line and drops the others silently, but a proxy in front may
 * have checked another one, and Authorization is not a list field (RFC 9110 §5.3), so several become a 400
 * (bearer.ts).
 */
export function authorizationOf(
  value: string | undefined,
  rawHeaders: readonly string[],
): string | readonly string[] | undefined {
  let first = -1;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!isAuthorizationName(rawHeaders[i]!)) continue;
    if (first < 0) {
      first = i;
      continue;
    }
    const all: string[] = [];
    for (let j = first; j < rawHeaders.length; j += 2)
      if (isAuthorizationName(rawHeaders[j]!)) all.push(rawHeaders[j + 1]!);
    return all;
  }
  return value;
}

// RFC 6750 §2.1 / RFC 9449 §7.1: one b64token after the scheme.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function firstHeader(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

/**
 * Validate adapter options once and return the authentication step every adapter shares: extract the bearer
 * token (bearer.ts), verify it, map failures to RFC 6750 answers. A verified-token cache hit is answered
 * synchronously (no promise or microtask), so adapters can continue the request in the same tick; anything
 * that needs I/O or crypto comes back as a promise that never rejects for verification errors.
 *
 * @example const step = createAuthStep({ verifier }); const r = step(req.headers.authorization);
 */
export function createAuthStep(options: AuthOptions & { credentialsRequired?: true }): AuthStep;
export function createAuthStep(options: AuthOptions): AuthStep<StepOutcome>;
export function createAuthStep(options: AuthOptions): AuthStep<StepOutcome> {
  return createAuthSteps(options).header;
}

/**
 * The shared step with both entries (see createAuthStep): `header` reads an Authorization header value,
 * `token` takes a token an adapter's `getToken` hook found and applies the same syntax rules
 * (checkBearerToken) and the same verification, cache included.
 *
 * @example const { header, token } = createAuthSteps({ verifier }); const r = token(cookies.access_token);
 */
export function createAuthSteps<Req = unknown>(
  options: AuthOptions,
  reader?: RequestReader<Req>,
): AuthSteps<Req> {
  if (typeof options !== 'object' || options === null || typeof options.verifier?.verify !== 'function') {
    throw new InvalidOptions('"verifier" is required (createVerifier)');
  }
  const { verifier, realm } = options;
  if (realm !== undefined && (typeof realm !== 'string' || !REALM.test(realm)))
    throw new InvalidOptions('"realm" must be a plain string without quotes');
  const required = options.scopes === undefined ? [] : checkScopeList(options.scopes);
  const { credentialsRequired = true } = options;
  const maxActorDepth =
    options.maxActorDepth === undefined ? undefined : checkMaxActorDepth(options.maxActorDepth);
  if (typeof credentialsRequired !== 'boolean')
    throw new InvalidOptions('"credentialsRequired" must be a boolean');
  // "Every request must carry these scopes" cannot hold for requests let through without a token.
  if (!credentialsRequired && required.length !== 0)
    throw new InvalidOptions(
      '"scopes" needs credentials: use requireScopes(…) on routes with credentialsRequired: false',
    );
  for (const hook of ['getToken', 'onError'] as const) {
    const fn = (options as { [k in typeof hook]?: unknown })[hook];
    if (fn !== undefined && typeof fn !== 'function')
      throw new InvalidOptions(`"${hook}" must be a function`);
  }
  // A cache hit returns the same result object, so its answer is built once and shared (frozen).
  const built = new WeakMap<object, { ok: true; auth: AuthInfo }>();
  const sync = syncPathOf(verifier);
  const dpop: DpopPath | undefined = dpopPathOf(verifier);
  const dpopMode = dpop?.mode;
  const bearerContext: DpopChallenge | undefined =
    dpopMode === undefined ? undefined : { algs: dpop!.algs, scheme: 'Bearer' };
  const dpopContext: DpopChallenge | undefined =
    dpopMode === undefined ? undefined : { algs: dpop!.algs, scheme: 'DPoP' };
  function refused(err: unknown): AuthOutcome {
    return { ok: false, failure: failureFor(err, realm, bearerContext) };
  }
  function refusedDPoP(err: unknown): AuthOutcome {
    return { ok: false, failure: failureFor(err, realm, dpopContext) };
  }
  // RFC 9449 §7.1 / RFC 6750 §3: a request without credentials learns every scheme it may use.
  const missing: AuthFailure =
    dpopMode === undefined
      ? unauthorized(realm)
      : dpopMissing(realm, dpopMode, dpop!.algs, challenge(realm, '').trimEnd());
  function absent(): StepOutcome {
    return credentialsRequired ? { ok: false, failure: missing } : ANONYMOUS;
  }
  /** A token that came as Bearer (header or getToken): never a bound one, never under `dpop: 'required'`. */
  function acceptedBearer(result: VerifyResult | IntrospectedResult): AuthOutcome {
    // RFC 9449 §7.2: without its proof a bound token is a copied token.
    if (isBound(result.payload)) return refused(new DpopBoundTokenAsBearer());
    return accepted(result);
  }
  function settleDPoP(r: unknown): AuthOutcome | Promise<AuthOutcome> {
    if (isThenable(r)) return Promise.resolve(r as PromiseLike<VerifyResult>).then(accepted, refusedDPoP);
    return accepted(r as VerifyResult);
  }
  /** `Authorization: DPoP <token>` with its proof (dpop-request.ts); sync on a cache hit with a sync replay store. */
  function dpopStep(authorization: string, req: Req | undefined): StepOutcome | Promise<StepOutcome> {
    const token = authorization.slice(5);
    if (authorization.length > MAX_AUTHORIZATION_LENGTH || !B64TOKEN.test(token))
      return { ok: false, failure: malformed(realm) };
    let r: unknown;
    try {
      if (reader === undefined || req === undefined) throw new DpopProofMissing();
      let proof = reader.header(req, 'dpop');
      // RFC 9449 §4.3 (1): exactly one DPoP header.
      if (proof !== undefined && typeof proof !== 'string') {
        if (proof.length !== 1) throw new DpopProofMissing('several DPoP headers');
        proof = proof[0];
      }
      const url = dpop!.requestUrl(
        reader.url(req),
        (name) => firstHeader(reader.header(req, name)),
        reader.encrypted(req),
      );
      r = dpop!.verifyDPoP(token, proof as string | undefined, reader.method(req), url);
    } catch (err) {
      return refusedDPoP(err);
    }
    return settleDPoP(r);
  }

  function accepted(result: VerifyResult | IntrospectedResult): AuthOutcome {
    let outcome = built.get(result);
    if (outcome === undefined) {
      if (maxActorDepth !== undefined && result.payload.act !== undefined) {
        try {
          actorChain(result.payload, { maxDepth: maxActorDepth });
        } catch (err) {
          return refused(err);
        }
      }
      const claims = result.payload;
      const introspected = result.key === undefined;
      // An introspection answer names its scopes in `scope` (RFC 7662 §2.2) whatever the JWTs use.
      const claim = introspected ? 'scope' : scopeClaimOf(verifier, claims.iss);
      const auth: AuthInfo = Object.freeze({
        claims,
        scopes: Object.freeze(scopesOf(claims, claim)),
        ...(result.header !== undefined && { header: result.header }),
        introspected,
      });
      outcome = Object.freeze({ ok: true as const, auth });
      built.set(result, outcome);
    }
    if (required.length !== 0) {
      const denied = checkScopes(outcome.auth, required, realm);
      if (denied) return { ok: false, failure: denied };
    }
    return outcome;
  }

  function settle(r: unknown): AuthOutcome | Promise<AuthOutcome> {
    if (isThenable(r)) return Promise.resolve(r as PromiseLike<VerifyResult>).then(acceptedBearer, refused);
    return acceptedBearer(r as VerifyResult);
  }

  function header(
    authorization: string | readonly string[] | undefined,
    req?: Req,
  ): StepOutcome | Promise<StepOutcome> {
    if (dpopMode !== undefined && typeof authorization === 'string') {
      if (hasDpopPrefix(authorization)) return dpopStep(authorization, req);
      if (dpopMode === 'required' && hasBearerPrefix(authorization)) return refused(new DpopRequired());
    }
    // Fast path: "Bearer <token>" whose token the verified-token cache holds. One slice and one cache
    // lookup; the held token is a strict compact JWS, so it is a b64token and RFC 6750 §2.1 holds without
    // the character scan. Every other case takes the full extraction below.
    let looked = false;
    if (
      sync !== undefined &&
      typeof authorization === 'string' &&
      authorization.length <= MAX_AUTHORIZATION_LENGTH &&
      hasBearerPrefix(authorization)
    ) {
      let hit: VerifyResult | undefined;
      try {
        hit = sync.cached(authorization.slice(7));
      } catch (err) {
        return refused(err);
      }
      if (hit !== undefined) return acceptedBearer(hit);
      looked = true;
    }
    const bearer = extractBearerToken(authorization);
    if (bearer.status === 'missing') return absent();
    if (bearer.status === 'malformed') return { ok: false, failure: malformed(realm) };
    let r: unknown;
    try {
      r = looked ? sync!.uncached(bearer.token) : verifier.verify(bearer.token);
    } catch (err) {
      return refused(err);
    }
    return settle(r);
  }

  function token(candidate: unknown): StepOutcome | Promise<StepOutcome> {
    const bearer = checkBearerToken(candidate);
    if (bearer.status === 'missing') return absent();
    if (bearer.status === 'malformed')
      return {
        ok: false,
        failure: bearerError(400, realm, 'invalid_request', 'the access token is malformed'),
      };
    if (dpopMode === 'required') return refused(new DpopRequired());
    let r: unknown;
    try {
      if (sync === undefined) r = verifier.verify(bearer.token);
      else {
        const hit = sync.cached(bearer.token);
        if (hit !== undefined) return acceptedBearer(hit);
        r = sync.uncached(bearer.token);
      }
    } catch (err) {
      return refused(err);
    }
    return settle(r);
  }

  return { header, token };
}

/**
 * Validate adapter options once and return the request-independent authentication step every adapter
 * shares, as a function that always returns a promise (see createAuthStep for the synchronous-when-possible
 * form). With `credentialsRequired: false`, a request without credentials resolves to `{ ok: true, auth: null }`.
 *
 * @example const authenticate = createAuthenticator({ verifier }); const r = await authenticate(req.headers.authorization);
 */
export function createAuthenticator(
  options: AuthOptions & { credentialsRequired?: true },
): (authorization: string | readonly string[] | undefined) => Promise<AuthOutcome>;
export function createAuthenticator(
  options: AuthOptions,
): (authorization: string | readonly string[] | undefined) => Promise<StepOutcome>;
export function createAuthenticator(
  options: AuthOptions,
): (authorization: string | readonly string[] | undefined) => Promise<StepOutcome> {
  const step = createAuthSteps(options).header;
  return async function authenticate(authorization) {
    return step(authorization);
  };
}

/**
 * Answer a failure through an adapter's `onError` hook: the hook runs first; unless it sent a response
 * (`sent()` after it returns, or after its promise settles), `fallback` sends the default answer. A hook that
 * throws or rejects propagates (the adapter treats it as an unexpected error).
 */
export function answerThroughHook(
  hook: () => unknown,
  sent: () => boolean,
  fallback: () => unknown,
): void | Promise<void> {
  const r = hook();
  if (isThenable(r))
    return Promise.resolve(r).then(() => {
      if (!sent()) fallback();
    });
  if (!sent()) fallback();
  return undefined;
}

/** The JSON text of a failure body ('' when there is none). */
export function bodyText(failure: AuthFailure): string {
  return failure.body === undefined ? '' : JSON.stringify(failure.body);
}
