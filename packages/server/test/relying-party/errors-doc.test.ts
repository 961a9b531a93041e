/** docs/errors.md lists exactly the RelyingPartyError codes of relying-party/types.ts, both ways. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { documentedCodes, unionMembers } from '../helpers/errors-doc.js';

describe('relying-party error codes', () => {
  it('are documented in docs/errors.md, and every documented one exists', () => {
    const codes = unionMembers('relying-party/types.ts', 'RelyingPartyErrorCode');
    assert.equal(codes.length, 7);
    assert.deepEqual(documentedCodes('Relying-party errors'), codes);
  });
});
