/**
 * docs/errors.md and the server's error codes stay in step, both ways (STYLE: fastify
 * `test/internals/errors.test.js`): each area's test compares its codes with its section's table.
 */
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/**
 * The first-column codes of the tables in the `## <title…>` section of docs/errors.md, sorted.
 *
 * @example assert.deepEqual(documentedCodes('Passkey refusals'), [...PASSKEY_ERROR_CODES].sort());
 */
export function documentedCodes(title: string, code = /[A-Za-z_]+/): string[] {
  const doc = read('../../../../../docs/errors.md');
  const start = doc.indexOf(`\n## ${title}`);
  assert.notEqual(start, -1, `docs/errors.md has a "## ${title}" section`);
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end === -1 ? undefined : end);
  const row = new RegExp(`^\\| \`(${code.source})\` \\|`, 'gm');
  return [...section.matchAll(row)].map((m) => m[1]!).sort();
}

/**
 * The string members of a union type declared in a server source file (`export type Name = | 'A' | 'B';`),
 * sorted: the codes a module can throw, read from its source so no runtime list has to be kept beside it.
 *
 * @example unionMembers('federation/errors.ts', 'FederationErrorCode')
 */
export function unionMembers(file: string, typeName: string): string[] {
  const source = read(`../../../src/${file}`);
  const start = source.indexOf(`export type ${typeName}`);
  assert.notEqual(start, -1, `${file} declares ${typeName}`);
  const end = source.indexOf(';', start);
  return [...source.slice(start, end).matchAll(/\| '([A-Za-z_]+)'/g)].map((m) => m[1]!).sort();
}
