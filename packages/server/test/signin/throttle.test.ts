// The throttle's numbers, and the lock holding across two instances that share Redis.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACCOUNT_FREE_FAILURES,
  MAX_DELAY_MS,
  delayAfter,
  describeWait,
  throttleKeys,
} from '../../src/sessions/throttle.js';
import { randomPrefix, redisUrl } from '../helpers/services.js';
import { Browser, startPages, type Pages } from './pages-harness.js';

test('delays: free failures cost nothing, then 1 s doubling, capped at 15 minutes', () => {
  assert.equal(delayAfter(ACCOUNT_FREE_FAILURES, ACCOUNT_FREE_FAILURES), 0);
  assert.equal(delayAfter(6, 5), 1000);
  assert.equal(delayAfter(7, 5), 2000);
  assert.equal(delayAfter(8, 5), 4000);
  assert.equal(delayAfter(15, 5), 512_000);
  assert.equal(delayAfter(16, 5), MAX_DELAY_MS);
  assert.equal(delayAfter(10_000, 5), MAX_DELAY_MS);
});

test('the wait is said in seconds under a minute, else in minutes, rounded up', () => {
  assert.equal(describeWait(1), '1 second');
  assert.equal(describeWait(1500), '2 seconds');
  assert.equal(describeWait(60_000), '1 minute');
  assert.equal(describeWait(61_000), '2 minutes');
  assert.equal(describeWait(MAX_DELAY_MS), '15 minutes');
});

test('account keys ignore case and surrounding space, and never hold the email', () => {
  const a = throttleKeys(' Ada@Example.com', '192.0.2.1');
  assert.equal(a.account, throttleKeys('ada@example.com', '198.51.100.7').account);
  assert.doesNotMatch(a.account, /ada|example/i);
  assert.equal(a.ip, 'signin:ip:192.0.2.1');
});

const url = await redisUrl();
const started: Pages[] = [];
after(async () => {
  for (const p of started) await p.close();
});

test(
  'with Redis, a lock earned on one instance holds on another',
  { skip: url === undefined && 'Redis not reachable' },
  async () => {
    const prefix = randomPrefix();
    const one = await startPages({ redis: url!, 'redis-prefix': prefix });
    started.push(one);
    const two = await startPages({ redis: url!, 'redis-prefix': prefix });
    started.push(two);
    assert.equal(one.ctx.ephemeral.kind, 'redis');
    const b1 = new Browser(one.app, '203.0.113.9');
    const csrf1 = (await b1.get('/signin')).csrf!;
    for (let i = 0; i <= ACCOUNT_FREE_FAILURES; i++)
      assert.equal(
        (await b1.post('/signin', { csrf: csrf1, username: 'shared@example.com', password: 'nope' })).status,
        401,
      );
    const b2 = new Browser(two.app, '203.0.113.10');
    const csrf2 = (await b2.get('/signin')).csrf!;
    const res = await b2.post('/signin', { csrf: csrf2, username: 'shared@example.com', password: 'nope' });
    assert.equal(res.status, 429);
    assert.match(res.body, /Too many attempts; try again in 1 second\./);
  },
);
