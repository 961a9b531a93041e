import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createTokenCache,
  InvalidOptions,
  TokenRevoked,
  type KeySource,
  type VerifyResult,
} from '../../src/index.js';
import { slotOf } from '../../src/token-cache.js';
import { makeKey } from './helpers.js';

const key = makeKey().pair.publicKey;
const result = (sub: string): VerifyResult => ({ header: { alg: 'ES256' }, payload: { sub }, key });
const trusted = new Set([key]);
const source: KeySource = {
  resolve: () => key,
  isTrusted: (k) => trusted.has(k),
};

describe('createTokenCache', () => {
  it('validates maxEntries', () => {
    assert.throws(() => createTokenCache({ maxEntries: 0 }), InvalidOptions);
    assert.throws(() => createTokenCache({} as never), InvalidOptions);
  });

  it('stays bounded and keeps a token in use while a stream of new ones passes through', () => {
    const cache = createTokenCache({ maxEntries: 10 });
    const until = Date.now() + 60_000;
    cache.set('hot', result('hot'), until, source);
    for (let i = 0; i < 1000; i++) {
      cache.set(`t${i}`, result(`t${i}`), until, source);
      assert.ok(cache.size <= 10);
      assert.equal(cache.get('hot', Date.now())?.payload.sub, 'hot', `round ${i}`);
    }
    assert.equal(cache.get('t0', Date.now()), undefined, 'old tokens were evicted');
  });

  it('is keyed by the whole token; lifetime, key trust and revocation are checked on every hit', () => {
    let revoked = false;
    const cache = createTokenCache({ maxEntries: 10 }, () => {
      if (revoked) throw new TokenRevoked();
    });
    const now = Date.now();
    cache.set('a.b.c', result('x'), now + 1000, source);
    assert.equal(cache.get('a.b.', now), undefined);
    assert.equal(cache.get('a.b.cd', now), undefined);
    assert.ok(cache.get('a.b.c', now));
    assert.equal(cache.get('a.b.c', now + 1000), undefined, 'expired');
    cache.set('a.b.c', result('x'), now + 1000, source);
    trusted.delete(key);
    assert.equal(cache.get('a.b.c', now), undefined, 'key no longer trusted');
    assert.equal(cache.size, 0);
    trusted.add(key);
    cache.set('a.b.c', result('x'), now + 1000, source);
    revoked = true;
    assert.throws(() => cache.get('a.b.c', now), TokenRevoked);
    assert.equal(cache.size, 0);
    cache.set('k1', result('1'), now + 1000, source);
    cache.set('k2', result('2'), now + 1000, source);
    assert.equal(cache.evictKey(key), 2);
    const s = cache.stats();
    assert.equal(s.hits, 1);
    assert.ok(s.misses >= 4);
    assert.equal(s.cache_hit_ratio, s.hits / (s.hits + s.misses));
  });
});

describe('createTokenCache: slots', () => {
  const until = () => Date.now() + 60_000;

  it('a token with the same length and tail as a held one (so the same slot) is a miss, never its result', () => {
    const cache = createTokenCache({ maxEntries: 10 });
    const sig = 'S'.repeat(40);
    const held = `aaaa.bbbb.${sig}`;
    const forged = `xxxx.bbbb.${sig}`;
    assert.equal(slotOf(held), slotOf(forged));
    cache.set(held, result('held'), until(), source);
    assert.equal(cache.get(forged, Date.now()), undefined);
    assert.equal(cache.has(forged), false);
    assert.equal(cache.get(held, Date.now())?.payload.sub, 'held');
  });

  it('two held tokens in one slot: each answers only for itself, the later replacing the earlier', () => {
    // Birthday search for two distinct strings with the same 30-bit slot (about 2^15 tries).
    const seen = new Map<number, string>();
    let a = '';
    let b = '';
    for (let i = 0; b === ''; i++) {
      const t = `tok.${i.toString(36)}.${(i * 7919).toString(36)}`;
      const other = seen.get(slotOf(t));
      if (other !== undefined) [a, b] = [other, t];
      else seen.set(slotOf(t), t);
    }
    for (const max of [2, 10]) {
      const cache = createTokenCache({ maxEntries: max });
      cache.set(a, result('a'), until(), source);
      cache.set(b, result('b'), until(), source);
      const got = cache.get(a, Date.now());
      assert.ok(got === undefined || got.payload.sub === 'a', 'a never gets b');
      assert.equal(cache.get(b, Date.now())?.payload.sub, 'b');
      cache.set(a, result('a'), until(), source);
      assert.equal(cache.get(a, Date.now())?.payload.sub, 'a');
      const gotB = cache.get(b, Date.now());
      assert.ok(gotB === undefined || gotB.payload.sub === 'b', 'b never gets a');
      assert.ok(cache.size <= max);
    }
  });

  it('lookup counts hits but leaves misses to missed()', () => {
    const cache = createTokenCache({ maxEntries: 10 });
    cache.set('a.b.c', result('x'), until(), source);
    assert.equal(cache.lookup('a.b.d', Date.now()), undefined);
    assert.deepEqual([cache.stats().hits, cache.stats().misses], [0, 0]);
    cache.missed();
    assert.ok(cache.lookup('a.b.c', Date.now()));
    assert.deepEqual([cache.stats().hits, cache.stats().misses], [1, 1]);
    assert.equal(cache.get('a.b.d', Date.now()), undefined);
    assert.equal(cache.stats().misses, 2);
  });
});
