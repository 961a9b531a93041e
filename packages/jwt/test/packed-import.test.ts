/**
 * Import tests against the packed package (STYLE: aws-jwt-verify `tests/import-tests`): `npm pack` the
 * built package, install the tarball into a fresh project outside the repository, and import every public
 * entry point there, as a consumer would. This catches what in-repo tests cannot: a file missing from
 * `files`, an `exports` target that does not exist, a stray runtime import of a dev dependency (express,
 * hono and fastify are type-only imports; the middleware must load without them), tests shipped in the
 * tarball. Runs after the build (packs dist/src as it is).
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { findRepoRoot } from './helpers/vectors.js';

const pkgDir = path.join(findRepoRoot(), 'packages/jwt');
const pkgJSON = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
};
const SUBPATHS = Object.keys(pkgJSON.exports).filter((s) => s !== './package.json');

// npm from the running node's installation, so the test needs no shell and no PATH lookup.
const npmCli = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js');
// A parent `npm test` leaks npm_config_* into the environment (workspace, prefix…): start clean.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)),
);
env.npm_config_update_notifier = 'false';

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const [file, argv] =
    command === 'npm' && existsSync(npmCli) ? [process.execPath, [npmCli, ...args]] : [command, args];
  return spawnSync(file, argv, { cwd, env, encoding: 'utf8', timeout: 30_000 });
}

function must(result: SpawnSyncReturns<string>, what: string): string {
  assert.equal(result.error, undefined, `${what}: ${String(result.error)}`);
  assert.equal(result.status, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

// Run in the consumer project. The resolve hook rejects any module that is neither a node built-in nor a
// file of the installed package, so "imports only built-ins" is checked on what really loads.
function consumerScript(installed: string): string {
  const hooks = `
    const allowed = ${JSON.stringify(pathToFileURL(installed).href + '/')};
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      if (!result.url.startsWith('node:') && !result.url.startsWith(allowed)) {
        throw new Error('import outside node built-ins: ' + specifier + ' -> ' + result.url);
      }
      return result;
    }`;
  return `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
    const subpaths = ${JSON.stringify(SUBPATHS)};
    const modules = {};
    for (const s of subpaths) modules[s] = Object.keys(await import('@tessera/jwt' + s.slice(1))).sort();
    const { createSigner, createVerifier, generateKeyPair, TesseraError } = await import('@tessera/jwt');
    const { privateKey, publicKey } = generateKeyPair('ES256');
    const signer = createSigner({ key: privateKey, alg: 'ES256' });
    const now = Math.floor(Date.now() / 1000);
    const token = signer.sign({ iss: 'https://auth.example.com', aud: 'orders-api', sub: 'user-1', exp: now + 60 });
    const verifier = createVerifier({
      algorithms: ['ES256'], issuer: 'https://auth.example.com', audience: 'orders-api', keys: [publicKey],
    });
    const { payload, header } = await verifier.verify(token);
    const other = generateKeyPair('ES256').privateKey;
    const forged = createSigner({ key: other, alg: 'ES256', kid: privateKey.kid }).sign({ ...payload });
    const rejected = await verifier.verify(forged).then(() => 'accepted', (e) => (e instanceof TesseraError ? e.code : String(e)));
    const deep = await import('@tessera/jwt/dist/src/keys.js').then(() => 'loaded', (e) => e.code);
    console.log(JSON.stringify({ modules, sub: payload.sub, alg: header.alg, rejected, deep }));
  `;
}

describe('the packed @tessera/jwt, installed into a fresh project', () => {
  let tmp: string;
  let packed: string[];
  let installed: string;
  let installedBy: 'npm' | 'tar';

  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'tessera-packed-'));
    const out = must(
      run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp, pkgDir], tmp),
      'npm pack',
    );
    const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    packed = info!.files.map((f) => f.path).sort();
    const tarball = path.join(tmp, info!.filename);

    const app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module' }),
    );
    installed = path.join(app, 'node_modules/@tessera/jwt');
    const install = run(
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--cache',
        path.join(tmp, 'cache'),
        tarball,
      ],
      app,
    );
    installedBy = 'npm';
    if (install.status !== 0 || !existsSync(path.join(installed, 'package.json'))) {
      // npm wanted the network after all: unpack the tarball where npm would have put it.
      installedBy = 'tar';
      mkdirSync(installed, { recursive: true });
      must(run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], app), 'tar -x');
    }
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball holds the built sources and package.json only: no tests, no TypeScript sources', () => {
    const stray = packed.filter(
      (p) => !p.startsWith('dist/src/') && p !== 'package.json' && !/^(README|LICENSE)(\.\w+)?$/i.test(p),
    );
    assert.deepEqual(stray, [], 'files outside dist/src in the tarball');
    assert.deepEqual(
      packed.filter((p) => /(^|\/)test(s)?\//.test(p) || /\.test\./.test(p) || /\.tsbuildinfo$/.test(p)),
      [],
      'test files or build info in the tarball',
    );
    // Every exports target is in the tarball.
    for (const [subpath, target] of Object.entries(pkgJSON.exports)) {
      const targets = typeof target === 'string' ? [target] : [target.types, target.default];
      for (const t of targets)
        assert.ok(packed.includes(t.replace(/^\.\//, '')), `${subpath} → ${t} not packed`);
    }
  });

  test('the installed package has no dependencies of any kind', () => {
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    for (const field of [
      'dependencies',
      'peerDependencies',
      'optionalDependencies',
      'bundleDependencies',
      'bundledDependencies',
    ]) {
      const value = manifest[field];
      assert.ok(
        value === undefined ||
          (typeof value === 'object' && value !== null && Object.keys(value).length === 0),
        `${field}: ${JSON.stringify(value)}`,
      );
    }
    // npm installed nothing beside it.
    const nodeModules = path.join(installed, '../..');
    assert.deepEqual(
      readdirSync(nodeModules).filter((n) => !n.startsWith('.')),
      ['@tessera'],
      `installed by ${installedBy}`,
    );
  });

  test('no shipped module imports anything but node built-ins and its own files', () => {
    const bad: string[] = [];
    let scanned = 0;
    for (const file of listFiles(installed).filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(path.join(installed, file), 'utf8');
      // tsc emits static imports at the start of a line; doc-comment examples start with ` * ` instead.
      const statics = /^(?:(?:import|export)\b[^;'"]*?\bfrom|import)\s*['"]([^'"]+)['"]/gm;
      const dynamics = /\bimport\s*\(\s*['"]([^'"]+)['"]/g;
      for (const m of [...source.matchAll(statics), ...source.matchAll(dynamics)]) {
        const spec = m[1]!;
        scanned++;
        if (!spec.startsWith('./') && !spec.startsWith('../') && !isBuiltin(spec))
          bad.push(`${file}: ${spec}`);
      }
    }
    assert.deepEqual(bad, []);
    assert.ok(
      scanned > 50,
      `only ${scanned} import specifiers found: is the scan still reading tsc's output?`,
    );
  });

  test('every entry point imports in the consumer project, and a sign → verify round trip works', () => {
    const app = path.join(installed, '../../..');
    const out = must(
      run(process.execPath, ['--no-warnings', '--input-type=module', '-e', consumerScript(installed)], app),
      'consumer import',
    );
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as {
      modules: Record<string, string[]>;
      sub: string;
      alg: string;
      rejected: string;
      deep: string;
    };
    assert.deepEqual(Object.keys(result.modules), SUBPATHS);
    for (const [subpath, names] of Object.entries(result.modules))
      assert.ok(names.length > 0, `${subpath} exports nothing`);
    assert.ok(result.modules['.']!.includes('createVerifier'));
    assert.ok(result.modules['./lint']!.includes('lintToken'));
    assert.ok(result.modules['./middleware/node-http']!.includes('createNodeHttpAuth'));
    assert.ok(result.modules['./middleware/express']!.includes('createExpressAuth'));
    assert.ok(result.modules['./middleware/fastify']!.includes('createFastifyAuth'));
    assert.ok(result.modules['./middleware/hono']!.includes('createHonoAuth'));
    assert.equal(result.sub, 'user-1');
    assert.equal(result.alg, 'ES256');
    assert.equal(result.rejected, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    // Only the exports map is public: deep imports into dist are refused.
    assert.equal(result.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});
