import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EphemeralState } from '../../src/store/ephemeral.js';
import { createMemoryEphemeral } from '../../src/store/memory-ephemeral.js';
import { openRedisEphemeral } from '../../src/store/redis-ephemeral.js';
import { StoreUnavailableError } from '../../src/store/types.js';
import { randomPrefix, redisUrl } from '../helpers/services.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const url = await redisUrl();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `advance` moves time: a fake clock for memory, real waiting for Redis. */
type Opened = { state: EphemeralState; advance(ms: number): Promise<void> };

function runEphemeralContract(name: string, open: () => Promise<Opened>): void {
  const withState = (fn: (o: Opened) => Promise<void>) => async () => {
    const opened = await open();
    try {
      await fn(opened);
    } finally {
      await opened.state.close();
    }
  };

  describe(`ephemeral contract: ${name}`, () => {
    it(
      'hit counts a fixed window: allowed up to the limit, then refused until the window ends',
      withState(async ({ state, advance }) => {
        const first = await state.hit('ip:1', 2, 300);
        assert.deepEqual({ ...first, resetMs: 0 }, { allowed: true, remaining: 1, resetMs: 0 });
        assert.ok(first.resetMs > 0 && first.resetMs <= 300);
        assert.equal((await state.hit('ip:1', 2, 300)).allowed, true);
        const third = await state.hit('ip:1', 2, 300);
        assert.equal(third.allowed, false);
        assert.equal(third.remaining, 0);
        assert.equal((await state.hit('ip:2', 2, 300)).allowed, true, 'keys are independent');
        await advance(150);
        const later = await state.hit('ip:1', 2, 300);
        assert.equal(later.allowed, false);
        assert.ok(later.resetMs <= 150, 'hits do not extend a fixed window');
        await advance(200);
        assert.deepEqual((await state.hit('ip:1', 2, 300)).remaining, 1, 'a new window starts');
      }),
    );

    it(
      'of 20 concurrent hits with limit 5 exactly 5 are allowed',
      withState(async ({ state }) => {
        const results = await Promise.all(Array.from({ length: 20 }, () => state.hit('burst', 5, 10_000)));
        assert.equal(results.filter((r) => r.allowed).length, 5);
      }),
    );

    it(
      'consumeOnce is true once while remembered, then again after the ttl',
      withState(async ({ state, advance }) => {
        assert.equal(await state.consumeOnce('jti:a', 200), true);
        assert.equal(await state.consumeOnce('jti:a', 200), false);
        assert.equal(await state.consumeOnce('jti:b', 200), true);
        await advance(300);
        assert.equal(await state.consumeOnce('jti:a', 200), true);
      }),
    );

    it(
      'peek reads a window without counting; reset forgets it (sign-in throttling)',
      withState(async ({ state, advance }) => {
        assert.deepEqual(await state.peek('fail:a'), { count: 0, resetMs: 0 });
        await state.hit('fail:a', 100, 300);
        await state.hit('fail:a', 100, 300);
        const seen = await state.peek('fail:a');
        assert.equal(seen.count, 2);
        assert.ok(seen.resetMs > 0 && seen.resetMs <= 300);
        assert.equal((await state.peek('fail:a')).count, 2, 'peeking does not count');
        assert.equal((await state.hit('fail:a', 100, 300)).remaining, 97);
        await state.reset('fail:a');
        assert.deepEqual(await state.peek('fail:a'), { count: 0, resetMs: 0 });
        assert.equal((await state.hit('fail:a', 100, 300)).remaining, 99, 'a new window after reset');
        await state.reset('never-hit');
        await advance(350);
        assert.deepEqual(
          await state.peek('fail:a'),
          { count: 0, resetMs: 0 },
          'an ended window reads as none',
        );
      }),
    );

    it(
      'of 20 concurrent consumeOnce calls exactly one is true',
      withState(async ({ state }) => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => state.consumeOnce('jti:race', 10_000)),
        );
        assert.equal(results.filter(Boolean).length, 1);
      }),
    );
  });
}

runEphemeralContract('memory', async () => {
  let now = 1_767_225_600_000;
  const state = createMemoryEphemeral({ clock: () => now });
  return {
    state,
    advance: async (ms) => {
      now += ms;
    },
  };
});

if (url === undefined) {
  it('ephemeral: redis', { skip: 'Redis not reachable (see the message above)' }, () => {});
} else {
  runEphemeralContract('redis', async () => ({
    state: await openRedisEphemeral({ url, prefix: randomPrefix() }),
    advance: sleep,
  }));

  describe('ephemeral: redis specifics', () => {
    it('prefixes keep deployments apart', async () => {
      const a = await openRedisEphemeral({ url, prefix: randomPrefix() });
      const b = await openRedisEphemeral({ url, prefix: randomPrefix() });
      try {
        assert.equal(await a.consumeOnce('x', 10_000), true);
        assert.equal(await b.consumeOnce('x', 10_000), true);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('an unreachable Redis is StoreUnavailableError at open', async () => {
      const dead = new URL(url);
      dead.port = '1';
      await assert.rejects(openRedisEphemeral({ url: dead.toString() }), StoreUnavailableError);
    });

    it('when Redis goes away, hit and consumeOnce reject promptly (they never hang or pretend)', async () => {
      const target = new URL(url);
      const proxy = await startTcpProxy(target.hostname, Number(target.port) || 6379);
      const port = proxy.port;
      const state = await openRedisEphemeral({ url: `redis://127.0.0.1:${port}`, prefix: randomPrefix() });
      try {
        assert.equal((await state.hit('k', 5, 1000)).allowed, true);
        await proxy.down();
        await sleep(50);
        const started = Date.now();
        await assert.rejects(state.hit('k', 5, 1000), StoreUnavailableError);
        await assert.rejects(state.consumeOnce('jti:x', 1000), StoreUnavailableError);
        assert.ok(Date.now() - started < 2500, 'failures must be prompt');
        // And when Redis is back, the client reconnects by itself.
        await proxy.up();
        let back = false;
        for (let i = 0; i < 50 && !back; i++) {
          back = await state.consumeOnce(`jti:after-${i}`, 1000).catch(() => false);
          if (!back) await sleep(100);
        }
        assert.ok(back, 'recovered after Redis came back');
      } finally {
        await state.close();
        await proxy.close();
      }
    });
  });
}
