/**
 * Installable outside the clone (issue 13): `npm pack` both packages, install the two tarballs together into an
 * empty project (dependencies such as fastify from the npm cache), then use them there as a newcomer would:
 * the SDK type-checks under every `moduleResolution` a consumer may use, `node_modules/.bin/tessera serve`
 * starts, issues a token, and the installed SDK verifies it against the server's JWKS. Runs after the build
 * (packs dist/src as it is).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

// This file runs as packages/server/dist/test/packed-install.test.js.
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const npmCli = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js');
// A parent `npm test` leaks npm_config_* (workspace, prefix…) into the environment: start clean.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)),
);
env.npm_config_update_notifier = 'false';

function run(command: string, args: string[], cwd: string, timeout = 60_000): SpawnSyncReturns<string> {
  const [file, argv] =
    command === 'npm' && existsSync(npmCli) ? [process.execPath, [npmCli, ...args]] : [command, args];
  return spawnSync(file, argv, { cwd, env, encoding: 'utf8', timeout });
}

function must(result: SpawnSyncReturns<string>, what: string): string {
  assert.equal(result.error, undefined, `${what}: ${String(result.error)}`);
  assert.equal(result.status, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

const readJSON = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

describe(
  '@tessera/jwt and @tessera/server packed, installed together into an empty project',
  { timeout: 300_000 },
  () => {
    let tmp: string;
    let app: string;
    const packed: Record<string, { filename: string; files: string[] }> = {};

    before(() => {
      tmp = mkdtempSync(path.join(tmpdir(), 'tessera-install-'));
      const out = must(
        run(
          'npm',
          [
            'pack',
            '--json',
            '--ignore-scripts',
            '-w',
            '@tessera/jwt',
            '-w',
            '@tessera/server',
            '--pack-destination',
            tmp,
          ],
          root, // the README's command (Install), run in the clone
        ),
        'npm pack',
      );
      for (const info of JSON.parse(out) as { name: string; filename: string; files: { path: string }[] }[])
        packed[info.name] = { filename: info.filename, files: info.files.map((f) => f.path).sort() };

      app = path.join(tmp, 'app');
      mkdirSync(app);
      writeFileSync(
        path.join(app, 'package.json'),
        JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }),
      );
      // The README's command, from the npm cache where it can. Install scripts are skipped: better-sqlite3's
      // would download a prebuilt binary from GitHub (or compile for minutes); the workspace's copy of the same
      // version is that binary for this node.
      must(
        run(
          'npm',
          [
            'install',
            '--prefer-offline',
            '--no-audit',
            '--no-fund',
            '--ignore-scripts',
            path.join(tmp, packed['@tessera/jwt']!.filename),
            path.join(tmp, packed['@tessera/server']!.filename),
          ],
          app,
          240_000,
        ),
        'npm install of the two tarballs',
      );
      const ours = path.join(root, 'node_modules/better-sqlite3');
      const theirs = path.join(app, 'node_modules/better-sqlite3');
      const version = (dir: string) => readJSON<{ version: string }>(path.join(dir, 'package.json')).version;
      if (version(ours) === version(theirs)) {
        mkdirSync(path.join(theirs, 'build/Release'), { recursive: true });
        copyFileSync(
          path.join(ours, 'build/Release/better_sqlite3.node'),
          path.join(theirs, 'build/Release/better_sqlite3.node'),
        );
      } else {
        must(run('npm', ['rebuild', 'better-sqlite3'], app, 600_000), 'npm rebuild better-sqlite3');
      }
    });

    after(() => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    test('both tarballs carry the LICENSE and no tests; the server carries its bin and static files', () => {
      const license = readFileSync(path.join(root, 'LICENSE'), 'utf8');
      assert.match(license, /Apache License\s+Version 2\.0/);
      for (const name of ['@tessera/jwt', '@tessera/server']) {
        const { files } = packed[name]!;
        assert.ok(files.includes('LICENSE'), `${name}: no LICENSE in the tarball`);
        const installed = path.join(app, 'node_modules', name);
        assert.equal(
          readFileSync(path.join(installed, 'LICENSE'), 'utf8'),
          license,
          `${name}: LICENSE differs`,
        );
        assert.deepEqual(
          files.filter((p) => /(^|\/)test\//.test(p) || /\.test\.|\.tsbuildinfo$|^src\//.test(p)),
          [],
        );
      }
      const server = packed['@tessera/server']!.files;
      assert.ok(server.includes('bin/tessera.js'));
      assert.ok(server.includes('dist/src/cli/main.js'));
      assert.ok(server.some((p) => p.startsWith('static/debugger/')));
    });

    test("the server's dependency on @tessera/jwt is the packed SDK, once, at the version the tarball has", () => {
      const jwt = readJSON<{ version: string; description: string }>(
        path.join(app, 'node_modules/@tessera/jwt/package.json'),
      );
      const server = readJSON<{ dependencies: Record<string, string> }>(
        path.join(app, 'node_modules/@tessera/server/package.json'),
      );
      const ours = readJSON<{ version: string; description: string }>(
        path.join(root, 'packages/jwt/package.json'),
      );
      assert.equal(jwt.version, ours.version);
      assert.equal(jwt.description, ours.description, 'a @tessera/jwt from somewhere else was installed');
      // An exact version (or a range) that the packed version satisfies: nothing fetched a second copy.
      assert.equal(server.dependencies['@tessera/jwt'], ours.version);
      assert.equal(
        existsSync(path.join(app, 'node_modules/@tessera/server/node_modules/@tessera/jwt')),
        false,
      );
      const lock = readJSON<{ packages: Record<string, { resolved?: string }> }>(
        path.join(app, 'package-lock.json'),
      );
      assert.match(lock.packages['node_modules/@tessera/jwt']!.resolved ?? '', /^file:/);
    });

    test('the SDK type-checks with its types under moduleResolution node16, nodenext, bundler and node10', () => {
      const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
      const esm = [
        "import { createVerifier, TesseraError, type Verifier } from '@tessera/jwt';",
        "import { createExpressAuth } from '@tessera/jwt/middleware/express';",
        "import { createNodeHttpAuth } from '@tessera/jwt/middleware/node-http';",
        "import { lintToken } from '@tessera/jwt/lint';",
        'const verifier = createVerifier({',
        "  issuer: 'https://auth.example.com', audience: 'api', algorithms: ['ES256'],",
        "  jwksUri: 'https://auth.example.com/.well-known/jwks.json',",
        '});',
        'export const v: Verifier = verifier;',
        'export const sub = async (t: string): Promise<unknown> => (await verifier.verify(t)).payload.sub;',
        'export const mw = [createExpressAuth({ verifier }), createNodeHttpAuth({ verifier })];',
        'export const lint = lintToken;',
        'export const isError = (e: unknown): boolean => e instanceof TesseraError;',
        // Fails to compile if the SDK's types were missing (everything `any`): the directive would be unused.
        '// @ts-expect-error issuer must be a string or null',
        "createVerifier({ issuer: 1, audience: 'api', algorithms: ['ES256'] });",
      ].join('\n');
      writeFileSync(path.join(app, 'consumer.ts'), esm + '\n');
      const settings: [string, string][] = [
        ['node16', 'node16'],
        ['nodenext', 'nodenext'],
        ['bundler', 'esnext'],
        ['node10', 'esnext'],
      ];
      for (const [resolution, module] of settings) {
        const project = path.join(app, `tsconfig.${resolution}.json`);
        writeFileSync(
          project,
          JSON.stringify({
            compilerOptions: {
              strict: true,
              noEmit: true,
              target: 'es2022',
              module,
              moduleResolution: resolution,
              // Node's own types from the workspace; express/hono types are the consumer's business.
              typeRoots: [path.join(root, 'node_modules/@types')],
              types: ['node'],
              skipLibCheck: true,
            },
            files: ['consumer.ts'],
          }),
        );
        const result = run(process.execPath, [tsc, '-p', project], app);
        assert.equal(result.status, 0, `moduleResolution ${resolution}:\n${result.stdout}${result.stderr}`);
      }
    });

    test('node_modules/.bin/tessera serves, issues a token, and the installed SDK verifies it', async (t) => {
      const data = path.join(tmp, 'data');
      const tessera = path.join(app, 'node_modules/.bin/tessera');
      const child = spawn(
        tessera,
        ['serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', data, '--log-level', 'warn'],
        { cwd: app, env: { ...env, TESSERA_KEK: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      t.after(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += String(c)));
      child.stderr.on('data', (c) => (err += String(c)));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const deadline = Date.now() + 30_000;
      while (!/issuer:\s+(\S+)/.test(out)) {
        assert.ok(Date.now() < deadline, `no banner:\n${out}\n${err}`);
        assert.equal(child.exitCode, null, `tessera serve exited:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = /Tessera listening on (\S+)/.exec(out)![1]!;
      const issuer = /issuer:\s+(\S+)/.exec(out)![1]!;

      const created = JSON.parse(
        must(
          run(
            tessera,
            [
              'clients',
              'create',
              '--id',
              'packed-worker',
              '--grants',
              'client_credentials',
              '--audience',
              'orders-api',
              '--scope',
              'orders:read',
              '--data-dir',
              data,
              '--json',
            ],
            app,
          ),
          'tessera clients create',
        ),
      ) as { client_secret: string };
      const res = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`packed-worker:${created.client_secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 200, await res.clone().text());
      const { access_token: token } = (await res.json()) as { access_token: string };

      // The README's resource-service snippet, run in the consumer project against the installed SDK.
      const verify = `
      import { createVerifier, TesseraError } from '@tessera/jwt';
      const [token, issuer, jwksUri] = process.argv.slice(1);
      const verifier = createVerifier({ issuer, audience: 'orders-api', algorithms: ['ES256'], jwksUri, typ: 'at+jwt' });
      const { payload } = await verifier.verify(token);
      const tampered = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      const rejected = await verifier.verify(tampered).then(() => 'accepted', (e) => e instanceof TesseraError ? e.code : String(e));
      console.log(JSON.stringify({ payload, rejected }));`;
      const checked = JSON.parse(
        must(
          run(
            process.execPath,
            ['--input-type=module', '-e', verify, token, issuer, `${url}/.well-known/jwks.json`],
            app,
          ),
          'verify with the installed SDK',
        ).trim(),
      ) as { payload: Record<string, unknown>; rejected: string };
      assert.equal(checked.payload.client_id, 'packed-worker');
      assert.equal(checked.payload.iss, issuer);
      assert.equal(checked.payload.scope, 'orders:read');
      assert.match(checked.rejected, /^ERR_/);

      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    });

    test('npx --package=@tessera/server tessera runs the installed command (plain `npx tessera` is another package)', () => {
      const help = must(
        run('npm', ['exec', '--offline', '--package=@tessera/server', '--', 'tessera', '--help'], app),
        'npx --package=@tessera/server tessera --help',
      );
      assert.match(help, /Usage: tessera <command>/);
      assert.match(help, /serve/);
    });
  },
);
