/**
 * README.md is a newcomer's first hour (issue 13): every ```ts block there is a complete program that type-checks
 * under `strict` with `module`/`moduleResolution` nodenext against the built packages (as a consumer compiles
 * it), and the quick start stays two command lines from a fresh clone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { findRepoRoot } from './helpers/vectors.js';

const root = findRepoRoot();
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

/** The fenced blocks of one language, in order. */
function blocks(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)]
    .filter((m) => m[1] === lang)
    .map((m) => m[2]!);
}

/** The text of one `## ` section. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has no "## ${title}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

describe('README.md', () => {
  let tmp: string | undefined;
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('every TypeScript snippet is a complete program that compiles under strict against the built packages', () => {
    const snippets = blocks(readme, 'ts');
    assert.ok(snippets.length >= 5, `only ${snippets.length} ts blocks`);
    const all = snippets.join('\n');
    for (const entry of [
      '@tessera/jwt',
      '@tessera/jwt/middleware/express',
      '@tessera/jwt/middleware/fastify',
    ])
      assert.ok(all.includes(`from '${entry}'`), `no snippet imports ${entry}`);

    // A consumer project: ESM, the workspace's node_modules (the built @tessera/jwt and the frameworks).
    tmp = mkdtempSync(path.join(tmpdir(), 'tessera-readme-'));
    symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'), 'dir');
    writeFileSync(
      path.join(tmp, 'package.json'),
      JSON.stringify({ name: 'readme', private: true, type: 'module' }),
    );
    const files = snippets.map((code, i) => {
      const file = `snippet-${i + 1}.ts`;
      writeFileSync(path.join(tmp!, file), code);
      return file;
    });
    writeFileSync(
      path.join(tmp, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          // Each snippet is its own program: a name declared in two of them must not clash.
          moduleDetection: 'force',
          types: ['node'],
          skipLibCheck: true,
        },
        files,
      }),
    );
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', tmp], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const errors = `${result.stdout}${result.stderr}`.replace(/snippet-(\d+)\.ts/g, (_, n: string) => {
      const code = snippets[Number(n) - 1]!;
      return `README ts block ${n} (${code.split('\n')[0]}…)`;
    });
    assert.equal(result.status, 0, errors);
  });

  test('the quick start is two command lines: one installs and serves, one installs and runs every test', () => {
    const [commands, ...more] = blocks(section(readme, 'Quick start'), 'sh');
    assert.equal(more.length, 0, 'one command block in the quick start');
    assert.deepEqual(commands!.trim().split('\n'), [
      'npm install && npx tessera serve',
      'npm install && npm test',
    ]);
    const scripts = (
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    assert.match(scripts.test!, /run-tests\.mjs/);
  });
});
