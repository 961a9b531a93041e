import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
});
