/**
 * The users' credentials: one of each kind per user (a JWT, a DPoP-bound JWT with its holder's key, an
 * opaque token, a session id), what the load generator is sent for each kind, and a probe that presents
 * one credential the way a client would (with a fresh proof for a bound token).
 */
import { randomBytes, type JsonWebKey } from 'node:crypto';
import { generateHolderKeys, proofSigner } from './dpop-keys.js';
import type { LoadCredential } from './load-generator.js';
import type { SimEnv } from './phase.js';
import type { CredentialKind, Outcome, SessionRecord, Strategy } from './strategies.js';

/** Credentials of every user, by kind; index i is user i. */
export interface Credentials {
  jwt: Array<{ token: string; jti: string; exp: number }>;
  /** DPoP-bound JWTs with their holder's key; empty when no strategy takes them. */
  dpop: Array<{ token: string; jti: string; exp: number; privateJwk: JsonWebKey }>;
  opaque: Array<{ token: string; jti: string; exp: number }>;
  session: Array<{ token: string; exp: number }>;
}

/** A random session id: 256 bits, base64url. */
export const newSessionId = () => randomBytes(32).toString('base64url');

/** Mint one credential of each kind per user (and store the sessions), with the given extra claims. */
export async function mintCredentials(
  env: SimEnv,
  claims: Record<string, unknown>,
  who: { users?: number; prefix?: string } = {},
) {
  const creds: Credentials = { jwt: [], dpop: [], opaque: [], session: [] };
  const sessions: Array<[string, SessionRecord]> = [];
  const extra = Object.keys(claims).length > 0 ? claims : undefined;
  const subs = Array.from(
    { length: who.users ?? env.settings.users },
    (_, i) => `${who.prefix ?? 'user-'}${i}`,
  );
  creds.jwt = await env.issuer.mint('jwt', subs, extra);
  if (env.strategies.some((s) => s.kind === 'dpop'))
    creds.dpop = await mintDpop(env, subs, extra, who.prefix ?? 'user-');
  creds.opaque = await env.issuer.mint('opaque', subs, extra);
  subs.forEach((sub, i) => {
    const exp = creds.opaque[i]!.exp;
    const id = newSessionId();
    creds.session.push({ token: id, exp });
    sessions.push([id, { sub, exp, claims }]);
  });
  await env.sessions.redis?.putMany(sessions);
  await env.sessions.sql?.putMany(sessions);
  return creds;
}

/**
 * DPoP-bound JWTs for `subs`, each bound to its user's key (`cnf.jkt`); the keys of a prefix are generated
 * once and reused, so a user minted again (key rotation) keeps its key as a real client would.
 */
export async function mintDpop(
  env: SimEnv,
  subs: string[],
  claims: Record<string, unknown> | undefined,
  prefix = 'user-',
): Promise<Credentials['dpop']> {
  let keys = env.holderKeys.get(prefix) ?? [];
  if (keys.length < subs.length) {
    keys = [...keys, ...generateHolderKeys(subs.length - keys.length)];
    env.holderKeys.set(prefix, keys);
  }
  const minted = await env.issuer.mint(
    'jwt',
    subs,
    claims,
    subs.map((_, i) => keys[i]!.jkt),
  );
  return minted.map((m, i) => ({ ...m, privateJwk: keys[i]!.privateJwk }));
}

/** What the load generator is sent for a kind: the tokens, with the holder's key for DPoP. */
export function credentialList(creds: Credentials, kind: CredentialKind): LoadCredential[] {
  if (kind === 'dpop') return creds.dpop.map((c) => ({ token: c.token, privateJwk: c.privateJwk }));
  return creds[kind].map((c) => c.token);
}

/**
 * Validate one credential outside the load, as a client would present it (the revocation scenario's
 * probes): through the strategy's route URL, with a fresh DPoP proof for a bound token, and with the work
 * after validation (jwt-exchange's downstream call) included in the verdict.
 */
export async function probe(
  env: SimEnv,
  strategy: Strategy,
  creds: Credentials,
  index: number,
): Promise<Outcome> {
  const url = `${env.api.url}/${strategy.name}`;
  let credential: string;
  let headers: Record<string, string>;
  if (strategy.kind === 'dpop') {
    const c = creds.dpop[index]!;
    credential = c.token;
    headers = { authorization: `DPoP ${c.token}`, dpop: proofSigner(c.privateJwk)('GET', url, c.token) };
  } else {
    credential = creds[strategy.kind][index]!.token;
    headers = { authorization: `Bearer ${credential}` };
  }
  const outcome = await strategy.validate({ credential, method: 'GET', url, headers });
  return outcome.ok && outcome.next ? outcome.next() : outcome;
}
