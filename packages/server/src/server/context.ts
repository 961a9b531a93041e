import type { Logger } from 'pino';
import type { Alg, JWK, JWTPayload, KeySource } from '@tessera/jwt';
import type { Store } from '../store/types.js';
import type { EphemeralState } from '../store/ephemeral.js';
import type { ServerConfig } from './config.js';
import type { ServerMetrics } from './metrics.js';

/**
 * Signs with the current key of one algorithm. A KMS or HSM can implement this instead of local keys:
 * the server never needs the private key itself, only `sign`.
 */
export interface TokenSigner {
  readonly kid: string;
  readonly alg: Alg;
  /** Returns a compact JWS; `header` adds members such as `typ: 'at+jwt'`. */
  sign(payload: JWTPayload, header?: Record<string, unknown>): string;
  /**
   * The same JWS without blocking the event loop (a thread pool, or a KMS/HSM round trip); the token
   * endpoint prefers it when present.
   */
  signAsync?(payload: JWTPayload, header?: Record<string, unknown>): Promise<string>;
}

/** The published key set, pre-serialised for the JWKS endpoint. */
export interface PublishedJWKS {
  keys: JWK[];
  /** The exact response body. */
  body: string;
  /** Strong ETag of the body. */
  etag: string;
  /** Cache-Control max-age in seconds. */
  maxAge: number;
}

export interface KeyManager {
  /** The signer for the current key of `alg` (default: the configured signing algorithm). */
  signer(alg?: Alg): TokenSigner;
  /** Public keys in the JWKS (next, current, retired; never revoked). */
  published(): PublishedJWKS;
  /** Keys this server trusts for its own tokens (introspection, revocation of JWT access tokens). */
  keySource(): KeySource;
  /** Re-read keys from the store (CLI changes, other instances); also runs on a timer. */
  reload(): Promise<void>;
  /** Run the rotation schedule once (promote/publish/retire/remove as due). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/** Everything a request handler needs, built once at startup and passed to every route module. */
export interface ServerContext {
  config: ServerConfig;
  store: Store;
  ephemeral: EphemeralState;
  keys: KeyManager;
  /** Prometheus counters and histograms (`ctx.metrics.tokensIssued.inc({ grant, result })`). */
  metrics: ServerMetrics;
  log: Logger;
  /** HMAC key for client-secret hashes, derived from the KEK (so a stolen database alone cannot test guesses). */
  pepper: Buffer;
  /** Unique per process; names the holder of leases such as the rotation lease. */
  instanceId: string;
  /** Milliseconds since the epoch; injectable for tests. */
  clock: () => number;
  /** Append an audit event (also logged). Never pass tokens, secrets or key material. */
  audit(type: string, data: Record<string, unknown>): Promise<void>;
}
