/**
 * Every production dependency runs on every Node line the README supports (issue 13): `npm ci` on Node 20 warned
 * that fastify → light-my-request → cookie@2 wants Node 22; the root package.json overrides it with cookie@1.1,
 * which has the same `stringifySetCookie`. scripts/check-engines.mjs walks the installed production tree.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';

interface Installed {
  name: string;
  version: string;
  engines?: string;
  by: string;
}
interface Excluding extends Installed {
  excludes: string[];
  why: string;
}
// This file runs as packages/server/dist/test/engines.test.js.
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const script = (await import(pathToFileURL(path.join(root, 'scripts/check-engines.mjs')).href)) as {
  SUPPORTED: string[];
  productionTree(): { packages: Installed[]; missing: string[] };
  checkEngines(tree?: { packages: Installed[]; missing: string[] }): Excluding[];
};

describe('Node versions of the production dependencies', () => {
  it('no installed production dependency of @tessera/server or @tessera/jwt leaves out a supported Node', () => {
    const tree = script.productionTree();
    assert.deepEqual(tree.missing, []);
    assert.ok(tree.packages.some((p) => p.name === 'fastify') && tree.packages.some((p) => p.name === 'pg'));
    assert.ok(tree.packages.length > 50, `only ${tree.packages.length} packages walked`);
    assert.deepEqual(
      script.checkEngines(tree).map((p) => `${p.name}@${p.version} via ${p.by}: ${p.why}`),
      [],
    );
  });

  it('the check flags a dependency that needs Node 22 (cookie@2, as fastify pulled it in before the override)', () => {
    const bad = script.checkEngines({
      packages: [
        { name: 'cookie', version: '2.0.2', engines: '>=22', by: 'light-my-request' },
        { name: 'pg', version: '8.23.1', engines: '>= 16.0.0', by: '@tessera/server' },
        { name: 'x', version: '1.0.0', engines: 'not a range', by: '@tessera/server' },
      ],
      missing: [],
    });
    assert.deepEqual(
      bad.map((p) => [p.name, p.excludes]),
      [
        ['cookie', ['20.18.1']],
        ['x', script.SUPPORTED],
      ],
    );
  });

  it('the packages claim the same Node range as the check', () => {
    for (const file of ['package.json', 'packages/jwt/package.json', 'packages/server/package.json']) {
      const pkg = JSON.parse(readFileSync(path.join(root, file), 'utf8')) as { engines?: { node?: string } };
      assert.equal(pkg.engines?.node, `>=${script.SUPPORTED[0]!}`, file);
    }
  });
});
