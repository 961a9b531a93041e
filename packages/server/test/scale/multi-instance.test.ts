/**
 * Issue "Scale-out", proof 1: three `tessera serve` processes on one PostgreSQL and one Redis. A client
 * spreads issue / refresh / revoke / introspect requests across them while two verifiers (each with its own
 * cached remote JWKS and a revocation list fed by pull + Redis push) check every token. Mid-run one
 * instance is killed and restarted and a rotation is triggered from the CLI. At the end: no valid token was
 * rejected, no revoked token was accepted after the propagation bound, no refresh family was lost or forked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRedisRevocationTransport,
  createRevocationList,
  createSigner,
  createVerifier,
  exportJWK,
  generateKeyPair,
  type RevocationList,
  type Verifier,
} from '@tessera/jwt';
import { openStore } from '../../src/store/open-store.js';
import {
  dropPgSchemas,
  pgUrl,
  randomSchema,
  redisUrl,
  testRedisArgs,
  TEST_REVOCATION_CHANNEL,
} from '../helpers/services.js';
import { createClientCLI, runTessera, startServe, stopAll, type ServeProcess } from '../helpers/processes.js';
import { basic } from '../helpers/http.js';

const ISSUER = 'http://tessera.test';
/** Revocations must reach every verifier within this bound (push is ~ms; the 1 s pull is the fallback). */
const PROPAGATION_BOUND_MS = 2500;

const pgServer = await pgUrl();
const redis = await redisUrl();

async function post(
  base: string,
  path: string,
  auth: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scale-out: 3 instances on one PostgreSQL and Redis', { skip: !pgServer || !redis }, () => {
  let dir: string;
  let storeSpec: string;
  const schema = randomSchema();
  let env: NodeJS.ProcessEnv;
  let common: string[];
  const instances: ServeProcess[] = [];
  let svcSecret: string;
  let loginSecret: string;
  const loginKeys = generateKeyPair('ES256');
  const verifiers: Verifier[] = [];
  const lists: RevocationList[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-scale-'));
    storeSpec = `${pgServer}?schema=${schema}`;
    env = { TESSERA_KEK: randomBytes(32).toString('base64url'), TESSERA_LOG_LEVEL: 'warn' };
    common = [
      '--store',
      storeSpec,
      ...testRedisArgs(redis!),
      '--issuer',
      ISSUER,
      '--data-dir',
      dir,
      '--jwks-max-age',
      '2s',
      '--reload-interval',
      '1s',
      '--rate-limit-client',
      '0',
      '--rate-limit-ip',
      '0',
    ];
    const jwksFile = join(dir, 'login-jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [exportJWK(loginKeys.publicKey)] }));
    // Three instances start together on an empty schema: migrations and the first keys must happen once.
    instances.push(...(await Promise.all([0, 1, 2].map(() => startServe(['--port', '0', ...common], env)))));
    const svc = await createClientCLI(
      ['--id', 'svc', '--grants', 'client_credentials', '--audience', 'api', '--scope', 'read'],
      storeSpec,
      dir,
      env,
    );
    svcSecret = String(svc.client_secret);
    const login = await createClientCLI(
      [
        '--id',
        'login',
        '--grants',
        'urn:ietf:params:oauth:grant-type:jwt-bearer,refresh_token',
        '--audience',
        'api',
        '--scope',
        'read',
        '--jwks',
        jwksFile,
      ],
      storeSpec,
      dir,
      env,
    );
    loginSecret = String(login.client_secret);
    for (const i of [0, 1]) {
      const list = createRevocationList({
        feedUrl: `${instances[i]!.url}/oauth/revocations`,
        clientId: 'svc',
        clientSecret: svcSecret,
        policy: 'fail-closed',
        pollInterval: '1s',
        staleAfter: '30s',
        transport: createRedisRevocationTransport({ url: redis!, channel: TEST_REVOCATION_CHANNEL }),
      });
      await list.ready();
      lists.push(list);
      verifiers.push(
        createVerifier({
          algorithms: ['ES256'],
          issuer: ISSUER,
          audience: 'api',
          typ: 'at+jwt',
          jwksUri: `${instances[i]!.url}/.well-known/jwks.json`,
          jwks: { minCacheAge: '1s', maxCacheAge: '2s' },
          revocations: list,
        }),
      );
    }
  });

  after(async () => {
    verifiers.forEach((v) => v.close());
    lists.forEach((l) => l.close());
    await Promise.all(instances.map((p) => p.stop()));
    await stopAll();
    if (pgServer) await dropPgSchemas(pgServer, [schema]);
    await rm(dir, { recursive: true, force: true });
  });

  it('issues, refreshes, revokes and introspects across instances through a kill, a restart and a rotation', async () => {
    const svcAuth = basic('svc', svcSecret);
    const loginAuth = basic('login', loginSecret);
    const signer = createSigner({ key: loginKeys.privateKey, alg: 'ES256' });
    let rr = 0;
    const next = () => instances[rr++ % instances.length]!;

    // Refresh families, one per user, started through the jwt-bearer grant on different instances.
    const families: { sub: string; refresh: string; rotations: number }[] = [];
    for (let u = 0; u < 5; u++) {
      const now = Math.floor(Date.now() / 1000);
      const assertion = signer.sign({
        iss: 'login',
        sub: `user-${u}`,
        aud: ISSUER,
        exp: now + 60,
        jti: randomUUID(),
      });
      const res = await post(next().url, '/oauth/token', loginAuth, {
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      families.push({ sub: `user-${u}`, refresh: String(res.body.refresh_token), rotations: 0 });
    }

    let validRejected = 0;
    let issued = 0;
    const revoked: { token: string; at: number }[] = [];
    let revokedAcceptedLate = 0;
    const kids = new Set<string>();
    let killed = false;
    let restarted = false;
    let rotated = false;

    // Phases by iteration, so a slow machine still runs every step: kill at 15, restart at 25, rotate at 35.
    let rotatedAt = 0;
    let newKid = '';
    // Keep going until well past the documented pick-up bound (reload interval 1 s) after the rotation.
    for (let iteration = 0; iteration < 60 || Date.now() - rotatedAt < 3000; iteration++) {
      if (iteration === 15) {
        killed = true;
        await instances[2]!.stop('SIGKILL');
        instances.splice(2, 1);
      }
      if (iteration === 25) {
        restarted = true;
        instances.push(await startServe(['--port', '0', ...common], env));
      }
      if (iteration === 35) {
        rotated = true;
        const r = await runTessera(
          ['keys', 'rotate', '--force', '--store', storeSpec, '--data-dir', dir, ...testRedisArgs(redis!)],
          env,
        );
        assert.equal(r.code, 0, r.stderr);
        rotatedAt = Date.now();
        newKid = /rotated: (\S+) is current/.exec(r.stdout)?.[1] ?? '';
        assert.ok(newKid, `rotate names the new current key: ${r.stdout}`);
      }

      // Issue on the next instance and verify with both verifiers.
      const res = await post(next().url, '/oauth/token', svcAuth, { grant_type: 'client_credentials' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const token = String(res.body.access_token);
      issued++;
      kids.add(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid);
      for (const v of verifiers) {
        try {
          await v.verify(token);
        } catch (err) {
          validRejected++;
          process.stderr.write(`valid token rejected: ${(err as Error & { code?: string }).code}\n`);
        }
      }

      // Refresh one family on another instance.
      const fam = families[issued % families.length]!;
      const ref = await post(next().url, '/oauth/token', loginAuth, {
        grant_type: 'refresh_token',
        refresh_token: fam.refresh,
      });
      assert.equal(ref.status, 200, `refresh of ${fam.sub}: ${JSON.stringify(ref.body)}`);
      fam.refresh = String(ref.body.refresh_token);
      fam.rotations++;

      // Every fifth token is revoked on some instance and introspected on another.
      if (issued % 5 === 0) {
        const rev = await post(next().url, '/oauth/revoke', svcAuth, {
          token,
          token_type_hint: 'access_token',
        });
        assert.equal(rev.status, 200);
        revoked.push({ token, at: Date.now() });
        const intro = await post(next().url, '/oauth/introspect', svcAuth, { token });
        assert.equal(intro.status, 200);
        assert.equal(intro.body.active, false, 'introspection on another instance sees the revocation');
      }
      // Revoked tokens past the bound must be rejected by every verifier.
      for (const r of revoked) {
        if (Date.now() - r.at < PROPAGATION_BOUND_MS) continue;
        for (const v of verifiers) {
          const accepted = await v.verify(r.token).then(
            () => true,
            () => false,
          );
          if (accepted) revokedAcceptedLate++;
        }
      }
      await sleep(20);
    }

    assert.ok(killed && restarted && rotated, 'the run included a kill, a restart and a rotation');
    assert.ok(issued > 20, `enough traffic (${issued} tokens)`);
    assert.equal(validRejected, 0, 'no valid token was rejected');
    assert.equal(revokedAcceptedLate, 0, 'no revoked token was accepted after the propagation bound');
    assert.ok(
      kids.size >= 2 && kids.has(newKid),
      'tokens were signed by the key before and after the rotation',
    );

    // No family lost: each refreshes once more. No family forked: exactly one unused token each.
    const store = await openStore(storeSpec, { dataDir: dir });
    try {
      for (const fam of families) {
        const ref = await post(instances[0]!.url, '/oauth/token', loginAuth, {
          grant_type: 'refresh_token',
          refresh_token: fam.refresh,
        });
        assert.equal(ref.status, 200, `family of ${fam.sub} still alive`);
        fam.refresh = String(ref.body.refresh_token);
      }
      const live = await store.listLiveFamilies(Date.now());
      assert.equal(live.length, families.length, 'every family is live, none duplicated');
      for (const f of live) {
        const tokens = await store.listFamilyTokens(f.id);
        assert.equal(
          tokens.filter((t) => t.usedAt === null).length,
          1,
          'exactly one unused refresh token per family',
        );
      }
    } finally {
      await store.close();
    }
  });

  it('lets exactly one of N concurrent refreshes with the same token win, across instances', async () => {
    const loginAuth = basic('login', loginSecret);
    const signer = createSigner({ key: loginKeys.privateKey, alg: 'ES256' });
    const now = Math.floor(Date.now() / 1000);
    const start = await post(instances[0]!.url, '/oauth/token', loginAuth, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: signer.sign({ iss: 'login', sub: 'racer', aud: ISSUER, exp: now + 60, jti: randomUUID() }),
    });
    assert.equal(start.status, 200);
    const refresh = String(start.body.refresh_token);
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        post(instances[i % instances.length]!.url, '/oauth/token', loginAuth, {
          grant_type: 'refresh_token',
          refresh_token: refresh,
        }),
      ),
    );
    const winners = results.filter((r) => r.status === 200);
    assert.equal(winners.length, 1, `exactly one winner, got ${results.map((r) => r.status).join(',')}`);
    for (const r of results.filter((x) => x.status !== 200)) assert.equal(r.body.error, 'invalid_grant');
    // Reuse detection revoked the family: the winner's new token is dead too.
    const after = await post(instances[1]!.url, '/oauth/token', loginAuth, {
      grant_type: 'refresh_token',
      refresh_token: String(winners[0]!.body.refresh_token),
    });
    assert.equal(after.status, 400);
  });
});
