/**
 * The DPoP side of the middleware answers (RFC 9449 §7.1) and how adapters read a request for DPoP. Kept
 * apart from shared.ts, which maps every failure; this file only knows DPoP's challenges.
 */
import type { TesseraErrorCode } from '../errors.js';
import type { DpopMode } from '../dpop-request.js';
import type { AuthFailure } from './shared.js';

// Descriptions come from the error code alone, never from the proof or the error message.
export const DPOP_DESCRIPTIONS: Partial<Record<TesseraErrorCode, string>> = {
  ERR_DPOP_PROOF_INVALID: 'the DPoP proof is malformed',
  ERR_DPOP_PROOF_TOO_LARGE: 'the DPoP proof is too large',
  ERR_DPOP_TYP_INVALID: 'the DPoP proof type is not dpop+jwt',
  ERR_DPOP_ALG_NOT_ALLOWED: 'the DPoP proof algorithm is not accepted',
  ERR_DPOP_JWK_INVALID: 'the DPoP proof key is not usable',
  ERR_DPOP_JWK_PRIVATE: 'the DPoP proof key contains private members',
  ERR_DPOP_SIGNATURE_INVALID: 'the DPoP proof signature is invalid',
  ERR_DPOP_JTI_INVALID: 'the DPoP proof jti is missing or invalid',
  ERR_DPOP_PROOF_REPLAYED: 'the DPoP proof was already used',
  ERR_DPOP_HTM_MISMATCH: 'the DPoP proof is for another method',
  ERR_DPOP_HTU_MISMATCH: 'the DPoP proof is for another URL',
  ERR_DPOP_IAT_INVALID: 'the DPoP proof iat is missing or invalid',
  ERR_DPOP_IAT_OUT_OF_WINDOW: 'the DPoP proof is too old or too new',
  ERR_DPOP_ATH_MISMATCH: 'the DPoP proof is for another access token',
  ERR_DPOP_USE_NONCE: 'a DPoP nonce is required',
  ERR_DPOP_PROOF_MISSING: 'the DPoP proof is missing',
  ERR_DPOP_BINDING_MISMATCH: 'the access token is not bound to the DPoP proof key',
  ERR_DPOP_BOUND_TOKEN_AS_BEARER: 'the access token is DPoP-bound and needs a DPoP proof',
  ERR_DPOP_REQUIRED: 'a DPoP-bound access token is required',
};

// Token failures that say "use DPoP": answered with a DPoP challenge even when the request used Bearer.
export const DPOP_TOKEN_FAILURES = new Set<TesseraErrorCode>([
  'ERR_DPOP_BINDING_MISMATCH',
  'ERR_DPOP_BOUND_TOKEN_AS_BEARER',
  'ERR_DPOP_REQUIRED',
]);

/** How a DPoP-enabled step answers: the accepted proof algorithms and the scheme the request used. */
export interface DpopChallenge {
  /** Space-separated proof algorithms for `algs` (RFC 9449 §7.1). */
  algs: string;
  scheme: 'Bearer' | 'DPoP';
}

/** An RFC 9449 §7.1 error answer: `WWW-Authenticate: DPoP error=…, algs=…`, and `DPoP-Nonce` when given. */
export function dpopError(
  realm: string | undefined,
  algs: string,
  error: string,
  description: string,
  nonce?: string,
): AuthFailure {
  const r = realm === undefined ? '' : `realm="${realm}", `;
  const headers: Record<string, string> = {
    'www-authenticate': `DPoP ${r}error="${error}", error_description="${description}", algs="${algs}"`,
    'cache-control': 'no-store',
  };
  if (nonce !== undefined) headers['dpop-nonce'] = nonce;
  return { status: 401, headers, body: { error, error_description: description } };
}

/**
 * The 401 for a request without credentials when DPoP is on: every scheme the client may use (RFC 9449 §7.1,
 * RFC 6750 §3), `Bearer …, DPoP algs=…` with `allowed`, `DPoP algs=…` alone with `required`.
 */
export function dpopMissing(
  realm: string | undefined,
  mode: DpopMode,
  algs: string,
  bearerChallenge: string,
): AuthFailure {
  const r = realm === undefined ? '' : `realm="${realm}", `;
  return {
    status: 401,
    headers: {
      'www-authenticate':
        mode === 'allowed' ? `${bearerChallenge}, DPoP algs="${algs}"` : `DPoP ${r}algs="${algs}"`,
      'cache-control': 'no-store',
    },
    body: undefined,
  };
}

/**
 * How an adapter reads what DPoP checks from its request object: method, URL (absolute or origin-form: the
 * path and query as received, before any mount point stripped it), a header, and whether the socket is TLS.
 */
export interface RequestReader<Req> {
  method(req: Req): string;
  url(req: Req): string;
  header(req: Req, name: string): string | readonly string[] | undefined;
  encrypted(req: Req): boolean;
}

/** The reader for node IncomingMessage-like requests (node:http, Express with `originalUrl`, Fastify's raw). */
export const nodeRequestReader: RequestReader<{
  method?: string;
  url?: string;
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
  socket?: unknown;
}> = {
  method: (req) => req.method ?? 'GET',
  // Express strips the mount path from `url` and keeps the request's own in `originalUrl`.
  url: (req) => req.originalUrl ?? req.url ?? '/',
  header: (req, name) => req.headers[name],
  encrypted: (req) => (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true,
};
