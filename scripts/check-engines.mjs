#!/usr/bin/env node
// Fails when a production dependency of @tessera/server or @tessera/jwt declares an `engines.node` range that
// leaves out a Node version the README supports. The tree is walked as node resolves it (nested node_modules
// first, then up), from the installed packages, so `overrides` in the root package.json count.
//   node scripts/check-engines.mjs [--json]
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The lines README.md "Node versions" supports, from their first supported release (engines: >=20.18.1):
// undici 7, which `tessera proxy` uses through @fastify/http-proxy → @fastify/reply-from, declares Node
// >= 20.18.1, and undici 6 (which still admits 20.0) crashes reply-from 12 when a client aborts a request.
export const SUPPORTED = ['20.18.1', '22.0.0'];

const readJSON = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** node's lookup: `<dir>/node_modules/<name>`, then each parent directory's. */
function resolvePackage(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return path.dirname(candidate);
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Every package in the production trees of the workspace packages, each directory once. */
export function productionTree(starts = ['packages/server', 'packages/jwt']) {
  const seen = new Map();
  const missing = [];
  const queue = starts.map((s) => path.join(root, s));
  while (queue.length > 0) {
    const dir = queue.shift();
    const pkg = readJSON(path.join(dir, 'package.json'));
    const deps = { ...pkg.dependencies, ...pkg.optionalDependencies };
    for (const name of Object.keys(deps)) {
      const found = resolvePackage(name, dir);
      if (found === undefined) {
        if (!(name in (pkg.optionalDependencies ?? {}))) missing.push(`${pkg.name} → ${name}`);
        continue;
      }
      if (seen.has(found)) continue;
      const child = readJSON(path.join(found, 'package.json'));
      seen.set(found, {
        name: child.name,
        version: child.version,
        engines: child.engines?.node,
        by: pkg.name,
      });
      queue.push(found);
    }
  }
  return { packages: [...seen.values()], missing };
}

export function checkEngines(tree = productionTree()) {
  // semver is a production dependency of fastify itself, so it is in every install of @tessera/server.
  const semver = createRequire(path.join(resolvePackage('fastify', path.join(root, 'packages/server')), 'x'))(
    'semver',
  );
  const excluding = [];
  for (const p of tree.packages) {
    if (p.engines === undefined) continue;
    const range = semver.validRange(p.engines);
    const left = range === null ? SUPPORTED : SUPPORTED.filter((v) => !semver.satisfies(v, range));
    if (left.length > 0)
      excluding.push({
        ...p,
        excludes: left,
        why: range === null ? 'unparsable range' : `needs ${p.engines}`,
      });
  }
  return excluding;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tree = productionTree();
  const bad = checkEngines(tree);
  if (process.argv.includes('--json'))
    console.log(JSON.stringify({ checked: tree.packages.length, bad, missing: tree.missing }, null, 2));
  for (const m of tree.missing) console.error(`check-engines: not installed: ${m}`);
  for (const b of bad)
    console.error(
      `check-engines: ${b.name}@${b.version} (via ${b.by}) ${b.why}, leaving out Node ${b.excludes.join(', ')}`,
    );
  if (bad.length === 0 && tree.missing.length === 0)
    console.log(
      `check-engines: ${tree.packages.length} production packages admit Node ${SUPPORTED.join(' and ')}`,
    );
  process.exit(bad.length === 0 && tree.missing.length === 0 ? 0 : 1);
}
