import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyRecord } from '../../src/store/types.js';
import {
  isPrePublished,
  latestTokenExpiry,
  planTick,
  removeAfterFor,
  signingKeyFor,
  type LifecyclePolicy,
} from '../../src/keys/lifecycle.js';

const S = 1000;
const policy: LifecyclePolicy = {
  alg: 'ES256',
  rotationIntervalMs: 100 * S,
  jwksMaxAgeMs: 10 * S,
  maxAccessTtlMs: 60 * S,
  clockToleranceMs: 5 * S,
  propagationMs: 2 * S,
};

function key(kid: string, state: KeyRecord['state'], fields: Partial<KeyRecord> = {}): KeyRecord {
  return {
    kid,
    alg: 'ES256',
    state,
    publicJwk: '{}',
    encryptedPrivateKey: '{}',
    createdAt: 0,
    publishedAt: 0,
    activatedAt: state === 'current' ? 0 : null,
    retiredAt: null,
    removeAfter: null,
    revokedAt: null,
    ...fields,
  };
}

test('an empty store gets one current and one next key', () => {
  assert.deepEqual(planTick([], 0, policy), [
    { kind: 'create', state: 'current', alg: 'ES256' },
    { kind: 'create', state: 'next', alg: 'ES256' },
  ]);
});

test('nothing happens before the rotation interval', () => {
  const keys = [key('c', 'current'), key('n', 'next')];
  assert.deepEqual(planTick(keys, 99 * S, policy), []);
});

test('rotation promotes the next key only once it was published for max-age + propagation', () => {
  const keys = [key('c', 'current'), key('n', 'next', { publishedAt: 95 * S })];
  // Due at 100 s, but n was published at 95 s: wait until 95 + 10 + 2 = 107 s.
  assert.deepEqual(planTick(keys, 106 * S, policy), []);
  assert.deepEqual(planTick(keys, 107 * S, policy), [
    { kind: 'promote', kid: 'n', retire: ['c'] },
    { kind: 'create', state: 'next', alg: 'ES256' },
  ]);
});

test('the oldest next key is the successor', () => {
  const keys = [
    key('c', 'current'),
    key('n2', 'next', { publishedAt: 50 * S }),
    key('n1', 'next', { publishedAt: 10 * S }),
  ];
  assert.deepEqual(planTick(keys, 200 * S, policy), [{ kind: 'promote', kid: 'n1', retire: ['c'] }]);
});

test('retired and revoked keys are deleted after removeAfter, not before', () => {
  const keys = [
    key('c', 'current'),
    key('n', 'next'),
    key('r', 'retired', { retiredAt: 0, removeAfter: 77 * S }),
    key('x', 'revoked', { revokedAt: 0, removeAfter: 40 * S }),
  ];
  assert.deepEqual(planTick(keys, 39 * S, policy), []);
  assert.deepEqual(planTick(keys, 40 * S, policy), [{ kind: 'delete', kid: 'x' }]);
  assert.deepEqual(planTick(keys, 77 * S, policy), [
    { kind: 'delete', kid: 'r' },
    { kind: 'delete', kid: 'x' },
  ]);
});

test("a removeAfter shorter than this policy's bound (written by a CLI with other options) is extended", () => {
  const keys = [
    key('c', 'current'),
    key('n', 'next'),
    key('r', 'retired', { retiredAt: 0, removeAfter: 10 * S }),
  ];
  // 60 s lifetime + 2 s propagation + 5 s tolerance + 10 s max-age = 77 s.
  assert.deepEqual(planTick(keys, 76 * S, policy), []);
  assert.deepEqual(planTick(keys, 77 * S, policy), [{ kind: 'delete', kid: 'r' }]);
});

test('with no current key the next key signs at once (first start or after revocation)', () => {
  const keys = [key('n', 'next', { publishedAt: 99 * S }), key('x', 'revoked')];
  assert.deepEqual(planTick(keys, 100 * S, policy), [
    { kind: 'promote', kid: 'n', retire: [] },
    { kind: 'create', state: 'next', alg: 'ES256' },
  ]);
});

test('an algorithm change keeps the old key signing until the new one is pre-published', () => {
  const keys = [key('rsa', 'current', { alg: 'RS256' })];
  assert.deepEqual(planTick(keys, 1 * S, policy), [{ kind: 'create', state: 'next', alg: 'ES256' }]);
  const withNext = [...keys, key('ec', 'next', { publishedAt: 1 * S })];
  assert.deepEqual(planTick(withNext, 12 * S, policy), []);
  assert.deepEqual(planTick(withNext, 13 * S, policy), [
    { kind: 'promote', kid: 'ec', retire: ['rsa'] },
    { kind: 'create', state: 'next', alg: 'ES256' },
  ]);
});

test('removeAfter covers token lifetime, propagation, clock tolerance and JWKS max-age', () => {
  assert.equal(removeAfterFor(1000 * S, policy), (1000 + 60 + 2 + 5 + 10) * S);
});

test('latestTokenExpiry: never-activated keys signed nothing; others until last signature + lifetime', () => {
  assert.equal(latestTokenExpiry(key('n', 'next'), 5 * S, policy), null);
  assert.equal(latestTokenExpiry(key('c', 'current'), 5 * S, policy), (5 + 60 + 2 + 5) * S);
  assert.equal(
    latestTokenExpiry(key('r', 'retired', { activatedAt: 0, retiredAt: 3 * S }), 9 * S, policy),
    (3 + 67) * S,
  );
});

test('isPrePublished and signingKeyFor', () => {
  assert.equal(isPrePublished(key('n', 'next', { publishedAt: 0 }), 11 * S, policy), false);
  assert.equal(isPrePublished(key('n', 'next', { publishedAt: 0 }), 12 * S, policy), true);
  const keys = [
    key('a', 'current', { activatedAt: 1 }),
    key('b', 'current', { activatedAt: 2 }),
    key('c', 'next'),
  ];
  assert.equal(signingKeyFor(keys, 'ES256')?.kid, 'b');
  assert.equal(signingKeyFor(keys, 'RS256'), undefined);
});
