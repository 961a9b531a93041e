/**
 * Nonces with a secret (the server's, RFC 9449 §8): an HMAC of the time step, accepted in its step and the next, the same on
 * every instance with the same secret, unrelated under another secret.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createDpopNonces } from '../../src/index.js';

describe('createDpopNonces', () => {
  const secret = randomBytes(32);
  let now = 1_800_000_000_000;
  const clock = () => now;

  it('hands out one 24-character nonce per step, accepted in that step and the next only', () => {
    const nonces = createDpopNonces({ secret, rotationSeconds: 60, clock });
    const first = nonces.current();
    assert.match(first, /^[A-Za-z0-9_-]{24}$/);
    assert.equal(nonces.current(), first);
    assert.equal(nonces.accepts(first), true);
    now += 60_000;
    const second = nonces.current();
    assert.notEqual(second, first);
    assert.equal(nonces.accepts(first), true);
    assert.equal(nonces.accepts(second), true);
    now += 60_000;
    assert.equal(nonces.accepts(first), false);
    assert.equal(nonces.accepts(second), true);
  });

  it('another instance with the same secret agrees; another secret does not', () => {
    const a = createDpopNonces({ secret, rotationSeconds: 60, clock });
    const b = createDpopNonces({ secret, rotationSeconds: 60, clock });
    const other = createDpopNonces({ secret: randomBytes(32), rotationSeconds: 60, clock });
    assert.equal(b.accepts(a.current()), true);
    assert.equal(other.accepts(a.current()), false);
  });

  it('refuses anything not shaped like a nonce', () => {
    const nonces = createDpopNonces({ secret, rotationSeconds: 60, clock });
    for (const bad of [
      '',
      'x',
      `${nonces.current()}=`,
      'A'.repeat(24),
      '!'.repeat(24),
      nonces.current().slice(1),
    ])
      assert.equal(nonces.accepts(bad), false, bad);
  });
});
