/**
 * The HMAC built from one-shot digests (src/hmac.ts) must equal node's createHmac for every hash, key length
 * (empty, shorter than, equal to and longer than the block, where RFC 2104 §2 hashes the key first) and data
 * length, including data larger than the retained scratch area; and its comparison must be exact.
 */
import assert from 'node:assert/strict';
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { macEquals, macFunction } from '../src/hmac.js';

const HASHES = ['sha256', 'sha384', 'sha512'] as const;

describe('hmac: one-shot RFC 2104 HMAC', () => {
  test('equals createHmac for key lengths around the block size and any data (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...HASHES),
        fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(1, 63, 64, 65, 127, 128, 129)),
        fc.uint8Array({ maxLength: 2000 }),
        (hash, keyLength, data) => {
          const secret = randomBytes(keyLength);
          const mac = macFunction(hash, createSecretKey(secret));
          const expected = createHmac(hash, secret).update(data).digest('binary');
          assert.equal(mac(data), expected);
          // The same function again (its scratch area is reused) still agrees.
          assert.equal(mac(data), expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('data larger than the retained scratch area and views into larger buffers', () => {
    const secret = randomBytes(32);
    const mac = macFunction('sha256', createSecretKey(secret));
    const big = randomBytes(200_000);
    assert.equal(mac(big), createHmac('sha256', secret).update(big).digest('binary'));
    const view = big.subarray(1000, 1500);
    assert.equal(mac(view), createHmac('sha256', secret).update(view).digest('binary'));
  });

  test('two keys do not interfere (shared scratch)', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const macA = macFunction('sha256', createSecretKey(a));
    const macB = macFunction('sha256', createSecretKey(b));
    const data = Buffer.from('header.payload');
    assert.equal(macA(data), createHmac('sha256', a).update(data).digest('binary'));
    assert.equal(macB(data), createHmac('sha256', b).update(data).digest('binary'));
    assert.notEqual(macA(data), macB(data));
  });

  test('macEquals is exact: any flipped bit or length change fails', () => {
    const mac = createHmac('sha256', randomBytes(32)).update('x').digest();
    const text = mac.toString('latin1');
    assert.equal(macEquals(text, mac), true);
    for (let i = 0; i < mac.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(mac);
        bad[i]! ^= bit;
        assert.equal(macEquals(text, bad), false);
      }
    }
    assert.equal(macEquals(text, mac.subarray(0, 31)), false);
    assert.equal(macEquals(text, Buffer.concat([mac, Buffer.alloc(1)])), false);
    assert.equal(macEquals('', Buffer.alloc(0)), true);
  });
});
