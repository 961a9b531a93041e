/** docs/errors.md lists exactly the RelyingPartyError codes of relying-party/types.ts, both ways. */
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('relying-party error codes', () => {
  it('are documented in docs/errors.md, and every documented one exists', () => {
    const source = read('../../../src/relying-party/types.ts');
    const union = source.slice(source.indexOf('export type RelyingPartyErrorCode'));
    const codes = [...union.matchAll(/\| '(ERR_UPSTREAM_[A-Z_]+)'/g)].map((m) => m[1]).sort();
    const doc = read('../../../../../docs/errors.md');
    const section = doc.slice(doc.indexOf('## Relying-party errors'));
    const documented = [...section.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    assert.ok(codes.length >= 7);
    assert.deepEqual(documented, codes);
  });
});
