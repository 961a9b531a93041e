/** docs/errors.md lists exactly the `error` codes `tessera proxy` answers with, both ways. */
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { documentedCodes } from '../helpers/errors-doc.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('tessera proxy error codes', () => {
  it('are documented in docs/errors.md, and every documented one is used', () => {
    const sources = ['gate.js', 'upstream.js'].map((f) => read(`../../src/proxy/${f}`)).join('\n');
    const used = [
      ...new Set([...sources.matchAll(/new OAuthError\(\s*[\w\s?:]+,\s*'([a-z_]+)'/g)].map((m) => m[1]!)),
    ].sort();
    assert.deepEqual(used, ['access_denied', 'invalid_token', 'login_required', 'temporarily_unavailable']);
    assert.deepEqual(
      documentedCodes('`tessera proxy` answers', /[a-z_]+/).filter((c) => c !== 'error'),
      used,
    );
  });
});
