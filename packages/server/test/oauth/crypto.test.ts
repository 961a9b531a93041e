/**
 * The stored forms of secrets and tokens must never change: databases written by earlier versions hold
 * HMAC-SHA-256(pepper, secret) and SHA-256(token) in hex, so the fast paths must equal node's createHmac and
 * createHash exactly, for every input (ASCII, non-ASCII, empty, long).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { equalHex, hashClientSecret, hashToken, randomToken } from '../../src/oauth/crypto.js';
import { looksLikeJWT } from '../../src/oauth/own-tokens.js';

test('hashClientSecret equals HMAC-SHA-256(pepper, secret) in hex, for any pepper and secret', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.string({ unit: 'binary' }),
      (pepperBytes, secret) => {
        const pepper = Buffer.from(pepperBytes);
        const expected = createHmac('sha256', pepper).update(secret, 'utf8').digest('hex');
        assert.equal(hashClientSecret(pepper, secret), expected);
        assert.equal(hashClientSecret(pepper, secret), expected); // cached per pepper, same answer
      },
    ),
    { numRuns: 300 },
  );
  const pepper = randomBytes(32);
  const secret = randomToken();
  assert.equal(hashClientSecret(pepper, secret), createHmac('sha256', pepper).update(secret).digest('hex'));
  assert.notEqual(hashClientSecret(randomBytes(32), secret), hashClientSecret(pepper, secret));
});

test('hashToken equals SHA-256 of the UTF-8 token in hex', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (token) => {
      assert.equal(hashToken(token), createHash('sha256').update(token, 'utf8').digest('hex'));
    }),
    { numRuns: 300 },
  );
});

test('equalHex compares exactly', () => {
  const a = hashToken('a');
  assert.equal(equalHex(a, a), true);
  assert.equal(equalHex(a, hashToken('b')), false);
  assert.equal(equalHex(a, a.slice(0, 62)), false);
  assert.equal(equalHex('', ''), false);
});

test('looksLikeJWT: exactly three segments (two dots), as split would say', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', '.', '-', '_') }), (s) => {
      assert.equal(looksLikeJWT(s), s.split('.', 4).length === 3);
    }),
    { numRuns: 500 },
  );
  assert.equal(looksLikeJWT('a.b.c'), true);
  assert.equal(looksLikeJWT('..'), true);
  assert.equal(looksLikeJWT('a.b'), false);
  assert.equal(looksLikeJWT('a.b.c.d'), false);
  assert.equal(looksLikeJWT(randomToken()), false);
});
