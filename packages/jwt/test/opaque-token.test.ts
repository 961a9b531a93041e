/**
 * Tessera's opaque token format (src/opaque-token.ts): what the server mints, the SDK's shape check
 * accepts, and nothing else does. The check decides whether a string is worth an introspection call
 * (issue 12 #4), so a false positive costs a call and a false negative refuses a real token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  createOpaqueToken,
  isOpaqueTokenShape,
  OPAQUE_ACCESS_TOKEN_PREFIX,
  OPAQUE_REFRESH_TOKEN_PREFIX,
  OPAQUE_TOKEN_LENGTH,
} from '../src/index.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('opaque token format', () => {
  it('mints prefix + 43 random base64url characters + a 6-character checksum', () => {
    const access = createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX);
    const refresh = createOpaqueToken(OPAQUE_REFRESH_TOKEN_PREFIX);
    assert.equal(OPAQUE_TOKEN_LENGTH, 53);
    assert.match(access, /^tsa_[A-Za-z0-9_-]{49}$/);
    assert.match(refresh, /^tsr_[A-Za-z0-9_-]{49}$/);
    assert.notEqual(createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX), access, '256 random bits each time');
  });

  it('the shape check accepts minted tokens of its kind only', () => {
    const access = createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX);
    const refresh = createOpaqueToken(OPAQUE_REFRESH_TOKEN_PREFIX);
    assert.equal(isOpaqueTokenShape(access), true);
    assert.equal(isOpaqueTokenShape(refresh), false, 'a refresh token is not an access token');
    assert.equal(isOpaqueTokenShape(refresh, OPAQUE_REFRESH_TOKEN_PREFIX), true);
    for (const bad of ['', 'tsa_', access + 'A', access.slice(0, -1), access.toUpperCase(), ` ${access}`]) {
      assert.equal(isOpaqueTokenShape(bad), false, JSON.stringify(bad));
    }
    assert.equal(isOpaqueTokenShape(42 as unknown as string), false);
  });

  it('property: minted tokens always pass', () => {
    fc.assert(
      fc.property(fc.constantFrom(OPAQUE_ACCESS_TOKEN_PREFIX, OPAQUE_REFRESH_TOKEN_PREFIX), (prefix) =>
        isOpaqueTokenShape(createOpaqueToken(prefix), prefix),
      ),
      { numRuns: 500 },
    );
  });

  it('property: any one-character change of a minted token is refused (a typo costs no call)', () => {
    const token = createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: token.length - 1 }), fc.constantFrom(...ALPHABET), (at, ch) => {
        const changed = token.slice(0, at) + ch + token.slice(at + 1);
        fc.pre(changed !== token);
        // The checksum covers the text, so even a change in unused trailing bits is refused.
        return !isOpaqueTokenShape(changed);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: arbitrary strings are refused', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => !isOpaqueTokenShape(s)),
      { numRuns: 2000 },
    );
    // A random candidate of the right prefix, length and alphabet passes only with a right checksum
    // (about 1 in 2^32), so guessing shapes still costs the guesser, not the API's budget, almost always.
    fc.assert(
      fc.property(fc.stringMatching(/^tsa_[A-Za-z0-9_-]{49}$/), (s) => !isOpaqueTokenShape(s)),
      { numRuns: 2000 },
    );
  });
});
