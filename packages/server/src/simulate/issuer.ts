/**
 * The simulation's issuer: a real Tessera server (startServer) on loopback with a temporary data dir and
 * SQLite, running in its own worker thread (issuer-worker.ts), with three registered clients, and the
 * operations the scenarios need: mint tokens, rotate keys, revoke through RFC 7009, and stop (the outage).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { basicAuthorization } from '@tessera/jwt';

/** The audience of every simulated token: the resource API. */
export const SIM_AUDIENCE = 'https://sim-api.tessera.test';
/** The audience of the downstream service that jwt-exchange calls with exchanged tokens. */
export const SIM_DOWNSTREAM_AUDIENCE = 'https://sim-downstream.tessera.test';

export interface SimIssuerOptions {
  /** JWKS Cache-Control max-age, seconds (short in the rotation scenario). */
  jwksMaxAge: number;
  /** Seconds between the issuer's store re-reads. */
  reloadInterval: number;
}

/** A registered client and its secret. */
export interface SimClient {
  id: string;
  secret: string;
}

/** One minted access token. */
export interface MintedToken {
  token: string;
  jti: string;
  /** Seconds since the epoch. */
  exp: number;
}

/** What the worker is started with. */
export interface IssuerWorkerData extends SimIssuerOptions {
  dataDir: string;
  audience: string;
  /** The audience sim-api may exchange users' tokens for (jwt-exchange's downstream service). */
  downstreamAudience: string;
}

/** What the worker answers to `start`. */
export interface IssuerStarted {
  url: string;
  accessTtl: number;
  api: SimClient;
  jwtClient: SimClient;
  opaqueClient: SimClient;
}

/** An operation of the worker. */
export type IssuerOp =
  | { op: 'start' }
  | {
      op: 'mint';
      format: 'jwt' | 'opaque';
      subs: string[];
      claims?: Record<string, unknown>;
      /** Per sub, the thumbprint of its DPoP key: the token is bound to it (`cnf.jkt`). */
      jkts?: string[];
    }
  | { op: 'rotate' }
  | { op: 'stop' };

/** A request to the worker. */
export type IssuerRequest = { id: number } & IssuerOp;

type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface SimIssuer {
  url: string;
  jwksUri: string;
  introspectionEndpoint: string;
  revocationEndpoint: string;
  tokenEndpoint: string;
  feedUrl: string;
  /** Access-token lifetime, seconds. */
  accessTtl: number;
  /** The resource server's credentials (introspection and the revocation feed). */
  api: SimClient;
  /** Owner of the JWT access tokens. */
  jwtClient: SimClient;
  /** Owner of the opaque access tokens. */
  opaqueClient: SimClient;
  /**
   * Issue access tokens for `subs` through the issuer's own issuing code (the one behind /oauth/token);
   * with `jkts`, token i is DPoP-bound to the key whose thumbprint is jkts[i] (RFC 9449 §6.1).
   */
  mint(
    format: 'jwt' | 'opaque',
    subs: string[],
    claims?: Record<string, unknown>,
    jkts?: string[],
  ): Promise<MintedToken[]>;
  /** rotateKeys on the issuer's store, then the issuer signs with the promoted key at once. */
  rotate(): Promise<string>;
  /** POST /oauth/revoke as the token's owner. */
  revoke(format: 'jwt' | 'opaque', token: string): Promise<void>;
  /** Whether the issuer is still serving. */
  readonly running: boolean;
  /** Stop the server (the outage); idempotent. */
  stop(): Promise<void>;
  /** Stop, end the worker and remove the data dir; idempotent. */
  close(): Promise<void>;
}

/**
 * Start the issuer. Rate limits are off (the simulation is its own only client) and the claims limits are
 * raised to 16 KiB so the bloat scenario can mint 4 KiB tokens. Tokens are minted in-process with the
 * issuer's issueAccessToken so each user gets its own `sub` (client_credentials would give the client's).
 *
 * @example
 * const issuer = await startSimIssuer({ jwksMaxAge: 300, reloadInterval: 2 });
 * const [{ token }] = await issuer.mint('jwt', ['user-1']);
 * await issuer.close();
 */
export async function startSimIssuer(options: SimIssuerOptions): Promise<SimIssuer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-sim-'));
  const data: IssuerWorkerData = {
    ...options,
    dataDir,
    audience: SIM_AUDIENCE,
    downstreamAudience: SIM_DOWNSTREAM_AUDIENCE,
  };
  const worker = new Worker(new URL('./issuer-worker.js', import.meta.url), { workerData: data });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error('the issuer worker exited'));
      pending.clear();
      resolve();
    }),
  );
  worker.on('error', () => {});
  worker.on('message', (a: Answer) => {
    const p = pending.get(a.id);
    pending.delete(a.id);
    if (a.ok) p?.resolve(a.result);
    else p?.reject(new Error(a.error));
  });
  const call = <T>(req: IssuerOp): Promise<T> => {
    if (exited) return Promise.reject(new Error('the issuer worker exited'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id });
    });
  };
  let started: IssuerStarted;
  try {
    started = await call<IssuerStarted>({ op: 'start' });
  } catch (err) {
    await worker.terminate();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { url, api, jwtClient, opaqueClient } = started;
  let running = true;
  let stopping: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      running = false;
      await call({ op: 'stop' }).catch(() => undefined);
    })());
  return {
    url,
    jwksUri: `${url}/.well-known/jwks.json`,
    introspectionEndpoint: `${url}/oauth/introspect`,
    revocationEndpoint: `${url}/oauth/revoke`,
    tokenEndpoint: `${url}/oauth/token`,
    feedUrl: `${url}/oauth/revocations`,
    accessTtl: started.accessTtl,
    api,
    jwtClient,
    opaqueClient,
    get running() {
      return running;
    },
    mint: (format, subs, claims, jkts) =>
      call<MintedToken[]>({ op: 'mint', format, subs, ...(claims && { claims }), ...(jkts && { jkts }) }),
    rotate: () => call<string>({ op: 'rotate' }),
    async revoke(format, token) {
      const owner = format === 'jwt' ? jwtClient : opaqueClient;
      const res = await fetch(`${url}/oauth/revoke`, {
        method: 'POST',
        headers: {
          authorization: basicAuthorization(owner.id, owner.secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`/oauth/revoke answered ${res.status}`);
    },
    stop,
    close: () =>
      (closing ??= (async () => {
        try {
          await stop();
        } finally {
          await worker.terminate();
          await exitedPromise;
          rmSync(dataDir, { recursive: true, force: true });
        }
      })()),
  };
}
