/** docs/errors.md lists exactly the FederationError codes of federation/errors.ts, both ways. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { documentedCodes, unionMembers } from '../helpers/errors-doc.js';

describe('federation error codes', () => {
  it('are documented in docs/errors.md, and every documented one exists', () => {
    const codes = unionMembers('federation/errors.ts', 'FederationErrorCode');
    assert.equal(codes.length, 3);
    assert.deepEqual(documentedCodes('Federation errors'), codes);
  });
});
