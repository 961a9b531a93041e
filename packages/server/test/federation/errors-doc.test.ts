/** docs/errors.md lists exactly the FederationError codes of federation/errors.ts, both ways. */
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('federation error codes', () => {
  it('are documented in docs/errors.md, and every documented one exists', () => {
    const source = read('../../../src/federation/errors.ts');
    const union = source.slice(
      source.indexOf('export type FederationErrorCode'),
      source.indexOf('export class'),
    );
    const codes = [...union.matchAll(/\| '(ERR_[A-Z_]+)'/g)].map((m) => m[1]).sort();
    const doc = read('../../../../../docs/errors.md');
    const start = doc.indexOf('## Federation errors');
    assert.notEqual(start, -1);
    const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
    const documented = [...section.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    assert.equal(codes.length, 3);
    assert.deepEqual(documented, codes);
  });
});
