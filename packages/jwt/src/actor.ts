import { ActorChainTooDeep, InvalidOptions, JWTClaimInvalid } from './errors.js';
import type { Actor, JWSHeader, JWTPayload } from './types.js';

/** Chains longer than this are refused unless `maxDepth` says otherwise (the server's default is 4). */
export const DEFAULT_MAX_ACTOR_DEPTH = 8;

/** Options for actorChain. */
export interface ActorChainOptions {
  /** Most actors accepted; a longer chain throws ActorChainTooDeep. Default 8. */
  maxDepth?: number;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validate `maxActorDepth`/`maxDepth` once, at construction. */
export function checkMaxActorDepth(value: unknown, name = 'maxActorDepth'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 64)
    throw new InvalidOptions(`"${name}" must be an integer 0..64`);
  return value;
}

/**
 * The delegation chain of a token (RFC 8693 §4.1), outermost first: `[current actor, the one it acted
 * for, …]`; `[]` when the token has no `act`. Each level must be a JSON object with a non-empty string
 * `sub` (and string `iss`/`client_id` when present): anything else is `ERR_JWT_CLAIM_INVALID` (claim
 * `act`), so a malformed chain is never read as a shorter one. More than `maxDepth` actors is
 * `ERR_JWT_ACTOR_CHAIN_TOO_DEEP`. Only the registered `act` claim is read: an `act` nested inside some
 * other claim means nothing. `may_act` (§4.4) is a permission, not part of the chain.
 *
 * @example
 * const chain = actorChain(payload); // [{ sub: 'payments-svc', client_id: 'payments-svc' }, { sub: 'orders-svc', … }]
 * const caller = chain[0]?.sub; // who is calling now; payload.sub is the user they act for
 */
export function actorChain(payload: JWTPayload, options: ActorChainOptions = {}): Actor[] {
  const maxDepth =
    options.maxDepth === undefined
      ? DEFAULT_MAX_ACTOR_DEPTH
      : checkMaxActorDepth(options.maxDepth, 'maxDepth');
  if (!isObject(payload)) throw new InvalidOptions('actorChain needs a payload object');
  const chain: Actor[] = [];
  // Own property only: an `act` inherited through a prototype is not a claim of the token.
  let level: unknown = Object.hasOwn(payload, 'act') ? payload.act : undefined;
  while (level !== undefined) {
    if (chain.length === maxDepth) throw new ActorChainTooDeep();
    if (!isObject(level)) throw new JWTClaimInvalid('act', 'must be an object');
    const { act: next, ...actor } = level;
    if (typeof actor.sub !== 'string' || actor.sub === '')
      throw new JWTClaimInvalid('act', 'needs a "sub" string at every level');
    for (const name of ['iss', 'client_id'] as const)
      if (actor[name] !== undefined && typeof actor[name] !== 'string')
        throw new JWTClaimInvalid('act', `"${name}" must be a string`);
    chain.push(actor as Actor);
    level = next;
  }
  return chain;
}

/**
 * A verifier `check` that refuses tokens whose chain is malformed or has more than `maxDepth` actors, then
 * runs the `check` already configured, if any (createVerifier's `maxActorDepth`).
 */
export function actorDepthCheck(
  maxDepth: number,
  then?: (payload: JWTPayload, header: JWSHeader) => void | Promise<void>,
): (payload: JWTPayload, header: JWSHeader) => void | Promise<void> {
  const depth = checkMaxActorDepth(maxDepth);
  return (payload, header) => {
    if (payload.act !== undefined) actorChain(payload, { maxDepth: depth });
    return then?.(payload, header);
  };
}
