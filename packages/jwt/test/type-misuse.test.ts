/**
 * The misuse file must not compile, line by line (STYLE: aws-jwt-verify `tests/import-tests`).
 * test-types/misuse.ts marks each misuse with `@ts-expect-error`; tsc reports an unused directive as an
 * error (TS2578), so a clean `tsc -p test-types` proves that every marked line is still rejected by the
 * public types: the day `algorithms` turns optional or `none` becomes an Alg, this test fails.
 * '@tessera/jwt' resolves through the workspace to the built declarations, so this runs after the build.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { findRepoRoot } from './helpers/vectors.js';

const root = findRepoRoot();
const project = path.join(root, 'packages/jwt/test-types/tsconfig.json');
const tsc = path.join(
  path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
  'bin/tsc',
);

test('every @ts-expect-error in test-types/misuse.ts is a real type error, and the rest compiles', () => {
  const source = readFileSync(path.join(root, 'packages/jwt/test-types/misuse.ts'), 'utf8');
  const directives = source.match(/^\s*\/\/ @ts-expect-error -- \S/gm) ?? [];
  // A guard against the file being emptied: the misuse list only grows.
  assert.ok(
    directives.length >= 15,
    `expected at least 15 reasoned @ts-expect-error lines, found ${directives.length}`,
  );

  const result = spawnSync(process.execPath, [tsc, '-p', project, '--pretty', 'false'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.status, 0, `tsc -p test-types failed:\n${result.stdout}${result.stderr}`);
});
