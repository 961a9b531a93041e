/**
 * docs/errors.md and the code stay in step, both ways (STYLE: fastify `test/internals/errors.test.js`):
 * every `code` of `errorClasses` is documented and every documented code exists; the same for the server's
 * OAuth wire errors (the `OAuthErrorCode` union in packages/server/src/server/errors.ts, read from source so
 * this package does not depend on the server).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TesseraError, errorClasses } from '../src/index.js';
import { findRepoRoot } from './helpers/vectors.js';

const root = findRepoRoot();
const doc = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');

/** The body of the `## <title…>` section, up to the next `## ` heading. */
function section(title: string): string {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.startsWith('## ') && l.slice(3).startsWith(title));
  assert.notEqual(start, -1, `docs/errors.md has no "## ${title}" section`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith('## '));
  return (end === -1 ? rest : rest.slice(0, end)).join('\n');
}

/** First-column codes of the table rows in a section: lines like "| `CODE` | …". */
function documentedCodes(body: string, pattern: RegExp): string[] {
  const codes: string[] = [];
  let inBody = false;
  for (const line of body.split('\n')) {
    // Rows count only below a table's |---| separator, so the header row is never read as a code.
    if (/^\|\s*-{3}/.test(line)) {
      inBody = true;
      continue;
    }
    if (!line.startsWith('|')) inBody = false;
    if (!inBody) continue;
    const m = /^\|\s*`([^`]+)`\s*\|/.exec(line);
    if (m) {
      assert.match(m[1]!, pattern, `malformed code in docs/errors.md: ${m[1]}`);
      codes.push(m[1]!);
    }
  }
  return codes;
}

function assertSameSet(documented: string[], actual: string[], what: string): void {
  const dupes = documented.filter((c, i) => documented.indexOf(c) !== i);
  assert.deepEqual(dupes, [], `${what}: documented twice in docs/errors.md`);
  const missing = actual.filter((c) => !documented.includes(c));
  const unknown = documented.filter((c) => !actual.includes(c));
  assert.deepEqual(missing, [], `${what}: codes missing from docs/errors.md`);
  assert.deepEqual(unknown, [], `${what}: docs/errors.md documents codes that do not exist`);
}

describe('docs/errors.md', () => {
  test('every @tessera/jwt error code is documented, and every documented code exists', () => {
    const codes = errorClasses.map((c) => c.code as string);
    assert.ok(codes.length > 10);
    assertSameSet(
      documentedCodes(section('@tessera/jwt error codes'), /^ERR_[A-Z0-9_]+$/),
      codes,
      '@tessera/jwt',
    );
  });

  test('each documented class name matches its code', () => {
    const body = section('@tessera/jwt error codes');
    for (const cls of errorClasses) {
      const row = body.split('\n').find((l) => l.startsWith(`| \`${cls.code}\` |`));
      assert.ok(row, cls.code);
      assert.ok(row.includes(`\`${cls.name}\``), `${cls.code} row should name the class ${cls.name}`);
      assert.ok(
        row.split('|').filter((c) => c.trim().length > 0).length >= 4,
        `${cls.code} needs a meaning and a cause`,
      );
    }
  });

  test('every error class instance carries its static code and is a TesseraError', () => {
    for (const cls of errorClasses) {
      const Ctor = cls as unknown as new (...args: string[]) => TesseraError;
      // JWTClaimInvalid takes (claim, reason); the others take (message?).
      const err = cls.code === 'ERR_JWT_CLAIM_INVALID' ? new Ctor('exp', 'is missing') : new Ctor();
      assert.ok(err instanceof TesseraError);
      assert.equal(err.code, cls.code);
      assert.equal(err.name, cls.name);
      assert.ok(err.message.length > 0);
    }
    const codes = errorClasses.map((c) => c.code);
    assert.equal(new Set(codes).size, codes.length, 'error codes are unique');
  });

  test('every OAuth wire error of the server is documented, and every documented one exists', () => {
    const source = readFileSync(path.join(root, 'packages/server/src/server/errors.ts'), 'utf8');
    const m = /export type OAuthErrorCode\s*=([^;]+);/.exec(source);
    assert.ok(m, 'OAuthErrorCode union not found in packages/server/src/server/errors.ts');
    const codes = [...m[1]!.matchAll(/'([a-z_]+)'/g)].map((x) => x[1]!);
    assert.ok(codes.length >= 5);
    assertSameSet(documentedCodes(section('Server OAuth wire errors'), /^[a-z_]+$/), codes, 'OAuthErrorCode');
  });
});
