/**
 * The simulation's issuer: a real Tessera server (startServer) on loopback with a temporary data dir and
 * SQLite, three registered clients, and the operations the scenarios need: mint tokens, rotate keys,
 * revoke through RFC 7009, and stop (the outage).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAuthorization } from '@tessera/jwt';
import { loadConfig } from '../server/config.js';
import { startServer, type ServerHandle } from '../server/start.js';
import { createClient } from '../oauth/clients.js';
import { issueAccessToken } from '../oauth/access-token.js';
import { rotateKeys } from '../keys/key-manager.js';
import type { ClientRecord } from '../store/types.js';

/** The audience of every simulated token: the resource API. */
export const SIM_AUDIENCE = 'https://sim-api.tessera.test';

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
  record: ClientRecord;
}

/** One minted access token. */
export interface MintedToken {
  token: string;
  jti: string;
  /** Seconds since the epoch. */
  exp: number;
}

export interface SimIssuer {
  url: string;
  jwksUri: string;
  introspectionEndpoint: string;
  revocationEndpoint: string;
  feedUrl: string;
  /** The resource server's credentials (introspection and the revocation feed). */
  api: SimClient;
  /** Owner of the JWT access tokens. */
  jwtClient: SimClient;
  /** Owner of the opaque access tokens. */
  opaqueClient: SimClient;
  handle: ServerHandle;
  /** Issue one access token for `sub` through the issuer's own issuing code (the one behind /oauth/token). */
  mint(format: 'jwt' | 'opaque', sub: string, claims?: Record<string, unknown>): Promise<MintedToken>;
  /** rotateKeys on the issuer's store, then make the issuer sign with the promoted key at once. */
  rotate(): Promise<string>;
  /** POST /oauth/revoke as the token's owner. */
  revoke(format: 'jwt' | 'opaque', token: string): Promise<void>;
  /** Whether the issuer is still serving. */
  readonly running: boolean;
  /** Stop the server (the outage); idempotent. */
  stop(): Promise<void>;
  /** Stop and remove the data dir; idempotent. */
  close(): Promise<void>;
}

/**
 * Start the issuer. Rate limits are off (the simulation is its own only client) and the claims limits are
 * raised to 16 KiB so the bloat scenario can mint 4 KiB tokens.
 *
 * @example
 * const issuer = await startSimIssuer({ jwksMaxAge: 300, reloadInterval: 2 });
 * const { token } = await issuer.mint('jwt', 'user-1');
 * await issuer.close();
 */
export async function startSimIssuer(options: SimIssuerOptions): Promise<SimIssuer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-sim-'));
  let handle: ServerHandle | undefined;
  try {
    const config = loadConfig({
      values: {
        port: '0',
        host: '127.0.0.1',
        'data-dir': dataDir,
        'log-level': 'silent',
        'rate-limit-client': '0',
        'rate-limit-ip': '0',
        'jwks-max-age': `${options.jwksMaxAge}s`,
        'reload-interval': `${options.reloadInterval}s`,
        'claims-warn-bytes': '16384',
        'claims-max-bytes': '16384',
        'access-ttl': '15m',
      },
      // Not the user's environment: a TESSERA_STORE or TESSERA_KEK must not steer the simulation.
      env: {},
    });
    handle = await startServer(config);
    const h = handle;
    const register = async (id: string, tokenFormat: 'jwt' | 'opaque', audience: string[]) => {
      const { client, secret } = await createClient(
        h.ctx.store,
        { id, grants: ['client_credentials'], audience, scope: ['read'], tokenFormat },
        config,
        h.ctx.pepper,
      );
      return { id, secret: secret!, record: client };
    };
    const api = await register('sim-api', 'jwt', [SIM_AUDIENCE]);
    const jwtClient = await register('sim-app-jwt', 'jwt', [SIM_AUDIENCE]);
    const opaqueClient = await register('sim-app-opaque', 'opaque', [SIM_AUDIENCE]);
    let running = true;
    let stopping: Promise<void> | undefined;
    let closing: Promise<void> | undefined;
    const url = h.url;
    const stop = () =>
      (stopping ??= (async () => {
        running = false;
        await h.close();
      })());
    return {
      url,
      jwksUri: `${url}/.well-known/jwks.json`,
      introspectionEndpoint: `${url}/oauth/introspect`,
      revocationEndpoint: `${url}/oauth/revoke`,
      feedUrl: `${url}/oauth/revocations`,
      api,
      jwtClient,
      opaqueClient,
      handle: h,
      get running() {
        return running;
      },
      async mint(format, sub, claims) {
        const client = format === 'jwt' ? jwtClient.record : opaqueClient.record;
        const issued = await issueAccessToken(h.ctx, {
          client,
          sub,
          scope: ['read'],
          ...(claims && { claims }),
        });
        return {
          token: issued.token,
          jti: issued.jti,
          exp: Math.floor(h.ctx.clock() / 1000) + issued.expiresIn,
        };
      },
      async rotate() {
        const result = await rotateKeys(h.ctx.store, h.kek, h.ctx.config, {
          now: Date.now(),
          holder: h.ctx.instanceId,
        });
        await h.keys.reload();
        return result.promoted;
      },
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
            rmSync(dataDir, { recursive: true, force: true });
          }
        })()),
    };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
