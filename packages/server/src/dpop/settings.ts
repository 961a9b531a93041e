import { createHmac } from 'node:crypto';
import type { ServerContext } from '../server/context.js';
import { oauthSettings } from '../oauth/settings.js';
import { createDpopNonces, type DpopNonceSource } from '@tessera/jwt';

/** What the DPoP checks read, derived once per server context. */
export interface DpopSettings {
  /** `--dpop-proof-window`: seconds a proof's `iat` may lie from now, either way. */
  windowSeconds: number;
  /** Server nonces, when `--dpop-nonce` is on. */
  nonces: DpopNonceSource | undefined;
}

const cache = new WeakMap<ServerContext, DpopSettings>();

/**
 * The DPoP settings of a server context. The nonce key is derived from the pepper (itself from the KEK), so
 * instances sharing a KEK accept each other's nonces and no new secret needs managing.
 *
 * @example
 * const { windowSeconds, nonces } = dpopSettings(ctx);
 */
export function dpopSettings(ctx: ServerContext): DpopSettings {
  const found = cache.get(ctx);
  if (found !== undefined) return found;
  const windowSeconds = ctx.config.dpopProofWindow ?? 60;
  const settings: DpopSettings = {
    windowSeconds,
    nonces:
      ctx.config.dpopNonce === true
        ? createDpopNonces({
            secret: createHmac('sha256', ctx.pepper).update('tessera dpop nonce key').digest(),
            rotationSeconds: windowSeconds,
            clock: ctx.clock,
          })
        : undefined,
  };
  cache.set(ctx, settings);
  return settings;
}

/** The URLs proofs must name (`htu`, RFC 9449 §4.3): from the configured issuer, never from Host headers. */
export function dpopEndpoints(ctx: ServerContext): { token: string; userinfo: string; par: string } {
  const { issuer, tokenEndpoint } = oauthSettings(ctx);
  return { token: tokenEndpoint, userinfo: `${issuer}/oauth/userinfo`, par: `${issuer}/oauth/par` };
}
