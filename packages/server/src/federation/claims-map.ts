/**
 * `--claims-map`: which upstream ID-token claims fill which user fields when a user is provisioned. A JSON
 * object, upstream claim name → target, where a target is `name` (the display name), `email` (the claim
 * holding the address, e.g. `upn` or `preferred_username`) or `claims.<name>` (a custom claim, under the
 * same rules as `users create --claims`: never a registered or sensitive-looking name). Without a map,
 * `email` and `name` come from the claims of those names.
 */
import { isSensitiveClaimName } from '@tessera/jwt/lint';
import { RESERVED_USER_CLAIMS, type ClaimPrimitive, type UserClaims } from '../users/rules.js';
import { FederationError } from './errors.js';

export type ClaimsMap = Readonly<Record<string, string>>;

const UPSTREAM_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const CUSTOM_TARGET = /^claims\.([A-Za-z0-9_.:-]{1,64})$/;
/** Object keys that change an object's prototype when assigned (prototype pollution). */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_ENTRIES = 16;

const invalid = (message: string) => new FederationError('ERR_IDP_INVALID', `--claims-map: ${message}`);

/**
 * Parse and check a claims map (JSON text). Throws FederationError ERR_IDP_INVALID naming the entry.
 *
 * @example parseClaimsMap('{"upn":"email","department":"claims.department"}');
 */
export function parseClaimsMap(text: string | undefined): ClaimsMap {
  if (text === undefined || text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('must be a JSON object such as {"upn":"email","dept":"claims.department"}');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw invalid('must be a JSON object such as {"upn":"email","dept":"claims.department"}');
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length > MAX_ENTRIES) throw invalid(`at most ${MAX_ENTRIES} entries`);
  const map: Record<string, string> = {};
  const targets = new Set<string>();
  for (const [upstream, target] of entries) {
    const shown = upstream.slice(0, 64);
    if (!UPSTREAM_NAME.test(upstream) || PROTOTYPE_KEYS.has(upstream))
      throw invalid(`invalid upstream claim name "${shown}" (A-Z a-z 0-9 _ . : -, at most 64)`);
    if (typeof target !== 'string') throw invalid(`the target of "${shown}" must be a string`);
    const custom = CUSTOM_TARGET.exec(target)?.[1];
    if (target !== 'name' && target !== 'email' && custom === undefined)
      throw invalid(`the target of "${shown}" must be "name", "email" or "claims.<name>"`);
    if (custom !== undefined) {
      if (PROTOTYPE_KEYS.has(custom) || RESERVED_USER_CLAIMS.has(custom))
        throw invalid(`"${custom}" is a registered claim and cannot be a custom claim`);
      if (isSensitiveClaimName(custom))
        throw invalid(`"${custom}" looks sensitive and cannot go into a readable token`);
    }
    if (targets.has(target)) throw invalid(`two claims map to "${target}"`);
    targets.add(target);
    map[upstream] = target;
  }
  return map;
}

const isPrimitive = (value: unknown): value is ClaimPrimitive =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'boolean' ||
  (typeof value === 'number' && Number.isFinite(value));

/** What a provider's claims say about the user, through its map. */
export interface MappedClaims {
  email: string | undefined;
  name: string | undefined;
  custom: UserClaims;
}

/**
 * Read the user's email, name and custom claims from verified upstream claims. Values of the wrong type
 * are left out (an upstream sending an object where a string belongs gets nothing, not an error).
 *
 * @example applyClaimsMap({ upn: 'email' }, { sub: 's', upn: 'ada@corp.example' }).email; // 'ada@corp.example'
 */
export function applyClaimsMap(map: ClaimsMap, claims: Record<string, unknown>): MappedClaims {
  const source = (target: 'name' | 'email') =>
    Object.keys(map).find((upstream) => map[upstream] === target) ?? target;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const custom: UserClaims = {};
  for (const [upstream, target] of Object.entries(map)) {
    const name = CUSTOM_TARGET.exec(target)?.[1];
    if (name === undefined || !Object.hasOwn(claims, upstream)) continue;
    const value = claims[upstream];
    if (Array.isArray(value) ? value.every(isPrimitive) : isPrimitive(value))
      custom[name] = value as ClaimPrimitive | ClaimPrimitive[];
  }
  return {
    email: text(Object.hasOwn(claims, source('email')) ? claims[source('email')] : undefined),
    name: text(Object.hasOwn(claims, source('name')) ? claims[source('name')] : undefined),
    custom,
  };
}
