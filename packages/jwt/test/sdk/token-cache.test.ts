import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createTokenCache,
  InvalidOptions,
  TokenRevoked,
  type KeySource,
  type VerifyResult,
} from '../../src/index.js';
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
