// The exchanged-token cache of jwt-exchange on a fixed clock: reuse until the refresh margin, one exchange
// per key at a time, failures never cached, bounded size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExchangedTokenCache } from '../../src/simulate/exchanged-tokens.js';
import type { ExchangedToken } from '../../src/simulate/exchange-client.js';

const AUD = 'https://downstream.test';

function setup(options: { lifetime?: number; margin?: number; maxEntries?: number } = {}) {
  let now = 1_700_000_000_000;
  const calls: Array<{ subjectToken: string; audience: string }> = [];
  let fail = false;
  let n = 0;
  const cache = createExchangedTokenCache({
    refreshMargin: options.margin ?? 30,
    maxEntries: options.maxEntries ?? 100,
    clock: () => now,
    async exchange(subjectToken, audience): Promise<ExchangedToken> {
      calls.push({ subjectToken, audience });
      await new Promise((r) => setImmediate(r));
      if (fail) throw new Error('issuer down');
      return { token: `exchanged-${++n}`, exp: Math.floor(now / 1000) + (options.lifetime ?? 900) };
    },
  });
  return {
    cache,
    calls,
    advance: (ms: number) => (now += ms),
    failNext: (f: boolean) => (fail = f),
  };
}

test('an exchanged token is reused per user and audience until refreshMargin before it expires', async () => {
  const { cache, calls, advance } = setup();
  assert.equal(cache.lookup('alice', AUD), undefined);
  assert.equal(await cache.obtain('alice', AUD, 'alice-token'), 'exchanged-1');
  assert.deepEqual(calls, [{ subjectToken: 'alice-token', audience: AUD }]);
  assert.equal(cache.lookup('alice', AUD), 'exchanged-1');
  // Another user, or the same user for another audience, is another key.
  assert.equal(cache.lookup('bob', AUD), undefined);
  assert.equal(cache.lookup('alice', 'https://other.test'), undefined);
  advance((900 - 30) * 1000 - 1);
  assert.equal(cache.lookup('alice', AUD), 'exchanged-1', 'still fresh 1 ms before the margin');
  advance(1);
  assert.equal(cache.lookup('alice', AUD), undefined, 'not used within 30 s of its expiry');
  assert.equal(await cache.obtain('alice', AUD, 'alice-token'), 'exchanged-2');
  assert.equal(calls.length, 2);
});

test('a short-lived exchanged token is kept for half its lifetime, not dropped at once by the margin', async () => {
  const { cache, advance } = setup({ lifetime: 40, margin: 30 });
  await cache.obtain('alice', AUD, 't');
  advance(19_999);
  assert.equal(cache.lookup('alice', AUD), 'exchanged-1');
  advance(1);
  assert.equal(cache.lookup('alice', AUD), undefined);
});

test('concurrent misses for one key share one exchange; a failure is not cached', async () => {
  const { cache, calls, failNext } = setup();
  const [a, b] = await Promise.all([cache.obtain('alice', AUD, 't'), cache.obtain('alice', AUD, 't')]);
  assert.equal(a, b);
  assert.equal(calls.length, 1);
  failNext(true);
  await assert.rejects(cache.obtain('bob', AUD, 'b'), /issuer down/);
  assert.equal(cache.lookup('bob', AUD), undefined);
  failNext(false);
  assert.equal(await cache.obtain('bob', AUD, 'b'), 'exchanged-2');
  assert.equal(calls.length, 3);
});

test('the cache is bounded: past maxEntries the oldest entry goes', async () => {
  const { cache } = setup({ maxEntries: 2 });
  await cache.obtain('a', AUD, 'a');
  await cache.obtain('b', AUD, 'b');
  await cache.obtain('c', AUD, 'c');
  assert.equal(cache.size, 2);
  assert.equal(cache.lookup('a', AUD), undefined);
  assert.ok(cache.lookup('b', AUD) !== undefined && cache.lookup('c', AUD) !== undefined);
});
