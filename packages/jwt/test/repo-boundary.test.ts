/**
 * A clone anywhere passes its own tests (issue 13): nothing in the project reads outside its own tree, and the
 * vendored test vectors are the recorded upstream bytes. The scan reads the sources, tests, scripts, bench and CI
 * files, finds every relative `..` path, resolves it from the directory the file runs in (`dist/` for
 * TypeScript) and fails when it climbs above the repository root; names of the old sibling vector folder fail
 * wherever they appear.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { findRepoRoot, vectorsDir } from './helpers/vectors.js';

const root = findRepoRoot();

// Where the project's own code lives; data, docs, builds and installs are not scanned.
const SCANNED_DIRS = ['packages/jwt', 'packages/server', 'scripts', 'bench', '.ci'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'vectors', 'results', 'static', '.tessera']);
const CODE_FILE = /\.(?:[cm]?[jt]s|json|sh)$/;

/** `..` sequences that are data, not paths the project opens (each with the reason). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // A kid value in the path-traversal attack test: the verifier must refuse it, nothing opens it.
  'packages/jwt/test/attacks.test.ts': ['../'.repeat(6) + 'dev/null'],
};

// Spelled in pieces so that this file does not match itself.
const FORBIDDEN = [
  new RegExp(['\\.\\.', 'shared\\b'].join('/')),
  new RegExp(['', 'work', `shared`].join('/')),
  new RegExp([`shared`, 'vectors'].join('/')),
];

function codeFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return SKIPPED_DIRS.has(e.name) ? [] : codeFiles(full);
    return CODE_FILE.test(e.name) || path.basename(dir) === '.ci' ? [full] : [];
  });
}

/** The directory a file runs from: tsc emits packages/X/{src,test}/… to packages/X/dist/{src,test}/…. */
function runtimeDir(file: string): string {
  const rel = path.relative(root, file);
  const ts = /^(packages\/[^/]+)\/((?:src|test)\/.*)\.ts$/.exec(rel.split(path.sep).join('/'));
  return path.dirname(ts ? path.join(root, ts[1]!, 'dist', ts[2]!) : file);
}

/** Every relative path built of `..` steps in `source`, with what follows it up to a quote or space. */
function parentPaths(source: string): string[] {
  return [...source.matchAll(/(?<![\w.])((?:\.\.\/)*\.\.)(?![\w.])[^'"`\s)]*/g)].map((m) => m[0]);
}

function escapes(file: string, source: string): string[] {
  const rel = path.relative(root, file).split(path.sep).join('/');
  const allowed = ALLOWED[rel] ?? [];
  const out: string[] = [];
  for (const pattern of FORBIDDEN) if (pattern.test(source)) out.push(`${rel}: mentions ${pattern.source}`);
  for (const p of parentPaths(source)) {
    if (allowed.includes(p)) continue;
    const steps = /^(?:\.\.\/)*\.\./.exec(p)![0];
    const target = path.resolve(runtimeDir(file), steps);
    if (target !== root && !target.startsWith(root + path.sep))
      out.push(`${rel}: ${p} resolves to ${target}, outside ${root}`);
  }
  return out;
}

describe('the repository reads nothing outside its own tree', () => {
  test('no source, test, script, bench or CI file names a path above the repository root', () => {
    const files = [
      ...SCANNED_DIRS.flatMap((d) => codeFiles(path.join(root, d))),
      ...readdirSync(root)
        .filter((n) => CODE_FILE.test(n) && n !== 'package-lock.json')
        .map((n) => path.join(root, n)),
    ];
    assert.ok(files.length > 100, `only ${files.length} files scanned: did the layout change?`);
    assert.ok(
      files.some((f) => f.endsWith('helpers/vectors.ts')),
      'the vector helper itself is scanned',
    );
    assert.deepEqual(
      files.flatMap((f) => escapes(f, readFileSync(f, 'utf8'))),
      [],
    );
  });

  test('the scan catches a path to the old sibling vector folder and a climb above the root', () => {
    const helper = path.join(root, 'packages/jwt/test/helpers/vectors.ts');
    const old = `path.resolve(findRepoRoot(), '../${[`shared`, 'vectors'].join('/')}')`;
    assert.equal(escapes(helper, old).length, 2); // both names of the old folder: its parent path and its own
    // dist/test/helpers, six steps up: the directory holding the repository.
    const climb = `new URL('${'../'.repeat(6)}data.json', import.meta.url)`;
    assert.match(escapes(helper, climb).join('\n'), /outside/);
    const inside = `new URL('${'../'.repeat(4)}docs/inspect.md', import.meta.url)`; // the repo's docs from dist/test
    assert.deepEqual(escapes(path.join(root, 'packages/jwt/test/lint.test.ts'), inside), []);
  });
});

describe('the vendored test vectors', () => {
  test('every file listed in SHA256SUMS is there with the recorded bytes, and nothing else is vendored', () => {
    const dir = vectorsDir();
    const listed = readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [sum, file] = line.split(/\s+/);
        return { sum: sum!, file: file! };
      });
    for (const { sum, file } of listed) {
      const bytes = readFileSync(path.join(dir, file));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), sum, `${file} differs from upstream`);
    }
    const present = codeFilesAll(dir).filter((f) => f !== 'SHA256SUMS' && f !== 'README.md');
    assert.deepEqual(present.sort(), listed.map((l) => l.file).sort());
    assert.ok(statSync(path.join(dir, 'wycheproof/LICENSE-wycheproof')).size > 10_000);
  });
});

function codeFilesAll(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? codeFilesAll(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}
