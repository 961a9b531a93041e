import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkBearerToken, hasBearerPrefix, MAX_AUTHORIZATION_LENGTH } from '../../src/bearer.js';
import { extractBearerToken } from '../../src/index.js';

describe('extractBearerToken', () => {
  it('accepts exactly "Bearer <b64token>", scheme case-insensitive', () => {
    assert.deepEqual(extractBearerToken('Bearer abc.def-_~+/=='), { status: 'ok', token: 'abc.def-_~+/==' });
    assert.deepEqual(extractBearerToken('bEaReR x'), { status: 'ok', token: 'x' });
  });
  it('missing: no header, empty list, other schemes', () => {
    for (const h of [undefined, null, [], 'Basic dXNlcjpwdw==', 'Bearertoken', '']) {
      assert.equal(extractBearerToken(h as never).status, 'missing');
    }
  });
  it('malformed: no token, two spaces, two tokens, bad characters, padding inside, several headers', () => {
    for (const h of [
      'Bearer',
      'Bearer ',
      'Bearer  abc',
      'Bearer abc def',
      'Bearer a"b',
      'Bearer a=b',
      'Bearer abc\t',
      ['Bearer a', 'Bearer b'],
      `Bearer ${'a'.repeat(20000)}`,
    ]) {
      assert.equal(extractBearerToken(h).status, 'malformed', JSON.stringify(h).slice(0, 40));
    }
  });
  it('the scheme match is exactly a case-insensitive "Bearer" then one space (no look-alikes)', () => {
    for (const h of ['BEARER x', 'bearer x', 'BeArEr x']) assert.equal(extractBearerToken(h).status, 'ok', h);
    // A Cyrillic "е", a tab, no separator, a leading space: another scheme, so missing.
    for (const h of ['B\u0435arer x', 'Bearer\tx', 'Bearerx', 'Bearer_x', ' Bearer x', 'Bear x']) {
      assert.equal(extractBearerToken(h).status, 'missing', JSON.stringify(h));
      assert.equal(hasBearerPrefix(h), false, JSON.stringify(h));
    }
    for (const h of ['bearer', 'BEARER', 'Bearer '])
      assert.equal(extractBearerToken(h).status, 'malformed', h);
    for (const h of ['Bearer ', 'bearer x', 'BEARER  x']) assert.equal(hasBearerPrefix(h), true, h);
  });
});

describe('checkBearerToken (a middleware getToken result)', () => {
  it('no token is missing; a b64token is ok; anything else is malformed', () => {
    for (const t of [undefined, null, '']) assert.equal(checkBearerToken(t).status, 'missing');
    assert.deepEqual(checkBearerToken('abc.def-_~+/=='), { status: 'ok', token: 'abc.def-_~+/==' });
    for (const t of ['a b', ' abc', 'abc"', 'a=b', 'tok;', 42, ['abc'], 'x'.repeat(MAX_AUTHORIZATION_LENGTH)])
      assert.equal(checkBearerToken(t).status, 'malformed', JSON.stringify(t).slice(0, 40));
  });

  it('property: the same verdict and token as the Authorization header "Bearer <t>" would get', () => {
    const b64 = fc.constantFrom(...'AZaz09-._~+/='.split(''));
    const any = fc.oneof(b64, fc.constantFrom(' ', '"', ',', ';', '\t', 'é', '\u0000'));
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(b64, b64, any), minLength: 1, maxLength: 40 }), (t) => {
        const direct = checkBearerToken(t);
        const viaHeader = extractBearerToken(`Bearer ${t}`);
        assert.equal(direct.status, viaHeader.status);
        if (viaHeader.status === 'ok') assert.deepEqual(direct, viaHeader);
      }),
    );
  });
});
