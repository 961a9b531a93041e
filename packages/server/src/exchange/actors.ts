import { ActorChainTooDeep, actorChain, TesseraError } from '@tessera/jwt';
import type { ActorClaim } from '../oauth/access-token.js';
import { invalidGrant } from '../server/errors.js';
import type { ClientRecord } from '../store/types.js';
import type { SubjectToken } from './subject.js';

/** Chains longer than this are malformed whatever the configuration (JSON nesting is bounded anyway). */
const HARD_DEPTH_LIMIT = 16;

/** An actor as the new token names it: identity members only, nothing else an earlier token carried. */
function identity(actor: { sub: string; client_id?: unknown; iss?: unknown }, iss: string | undefined) {
  const entry: ActorClaim = { sub: actor.sub };
  if (typeof actor.client_id === 'string') entry.client_id = actor.client_id;
  if (typeof actor.iss === 'string') entry.iss = actor.iss;
  else if (iss !== undefined) entry.iss = iss;
  return entry;
}

/**
 * RFC 8693 §4.4 `may_act`: when the subject token says who may act for its subject, the exchanging client
 * must be that party (`sub`, and `client_id`/`iss` when given), else `invalid_grant`. A malformed `may_act`
 * allows nobody.
 */
export function checkMayAct(subject: SubjectToken, client: ClientRecord, ownIssuer: string): void {
  if (!Object.hasOwn(subject.claims, 'may_act')) return;
  const mayAct = subject.claims.may_act;
  const allowed =
    typeof mayAct === 'object' &&
    mayAct !== null &&
    !Array.isArray(mayAct) &&
    (mayAct as Record<string, unknown>).sub === client.id &&
    [undefined, client.id].includes((mayAct as Record<string, unknown>).client_id as string) &&
    [undefined, ownIssuer].includes((mayAct as Record<string, unknown>).iss as string);
  if (!allowed) throw invalidGrant('the subject token\'s "may_act" does not name this client');
}

/**
 * The `act` claim of the exchanged token (RFC 8693 §4.1): the exchanging client outermost
 * (`{ sub: client.id, client_id: client.id }`), then the subject token's own chain, as verified, inside it.
 * Only the verified token's registered `act` claim is read (custom claims can never be named `act`: see
 * claims-policy.ts), each level keeps its identity members only, and a foreign issuer's actors are marked
 * with its `iss` so they can never read as our clients. A malformed chain, or one that would exceed
 * `maxDepth` actors, is `invalid_grant`: the subject token cannot be exchanged further.
 *
 * @example
 * const { act } = buildActorClaim(subject, client, 4); // { sub: 'payments-svc', client_id: 'payments-svc', act: { sub: 'orders-svc', … } }
 */
export function buildActorClaim(
  subject: SubjectToken,
  client: ClientRecord,
  maxDepth: number,
): { act: ActorClaim; chain: string[] } {
  let earlier;
  try {
    earlier = actorChain(
      { act: subject.claims.act as ActorClaim | undefined },
      { maxDepth: HARD_DEPTH_LIMIT },
    );
  } catch (err) {
    if (err instanceof ActorChainTooDeep)
      throw invalidGrant(`the delegation chain would exceed ${maxDepth} actors`);
    if (err instanceof TesseraError) throw invalidGrant('the subject token\'s "act" claim is malformed');
    throw err;
  }
  if (earlier.length + 1 > maxDepth)
    throw invalidGrant(`the delegation chain would exceed ${maxDepth} actors`);
  const foreignIssuer = subject.kind === 'foreign' ? subject.issuer : undefined;
  let inner: ActorClaim | undefined;
  for (let i = earlier.length - 1; i >= 0; i--) {
    const entry = identity(earlier[i]!, foreignIssuer);
    if (inner !== undefined) entry.act = inner;
    inner = entry;
  }
  const act: ActorClaim = { sub: client.id, client_id: client.id, ...(inner && { act: inner }) };
  return { act, chain: [client.id, ...earlier.map((a) => a.sub)] };
}
