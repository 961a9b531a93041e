/**
 * `tessera clients create|list|show|update|rotate-secret|delete`, and what they do to a server on the same
 * data dir: secrets that authenticate, updates the next token carries, rotation grace periods, and a
 * deletion that takes every token of the client with it (issue 12 #6, issue 13).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/start.js';
import { createLogger } from '../../src/server/app.js';
import {
  createRedisRevocationTransport,
  createRevocationList,
  createVerifier,
  TokenRevoked,
  type JWKS,
} from '@tessera/jwt';
import { redisUrl, TEST_REVOCATION_CHANNEL, testRedisArgs } from '../helpers/services.js';
import { openStore } from '../../src/store/open-store.js';
import fc from 'fast-check';
import { buildClient, ClientValidationError, deleteClient } from '../../src/oauth/clients.js';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import type { ServerHandle } from '../../src/server/start.js';
import { basic, makeClientKey, signAssertion, type ClientKey } from './harness.js';

async function tessera(args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const code = await main(args, { stdout, stderr, stdin: new PassThrough(), env });
  return { code, out, err };
}

describe('tessera clients', () => {
  let dir: string;
  let dd: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-clients-'));
    dd = ['--data-dir', dir, '--init']; // --init: the first create makes the state (the CLI refuses an empty dir)
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('create prints the secret once; list and show never do', async () => {
    const created = await tessera([
      'clients',
      'create',
      '--id',
      'svc',
      '--grants',
      'client_credentials',
      '--scope',
      'read write',
      '--audience',
      'api',
      '--access-ttl',
      '10m',
      '--json',
      ...dd,
    ]);
    assert.equal(created.code, 0, created.err);
    const view = JSON.parse(created.out);
    assert.equal(view.client_id, 'svc');
    assert.equal(view.access_token_ttl, 600);
    assert.equal(view.scope, 'read write');
    assert.ok(Buffer.from(view.client_secret, 'base64url').length >= 32);

    const listed = await tessera(['clients', 'list', '--json', ...dd]);
    assert.equal(listed.code, 0);
    assert.deepEqual(
      JSON.parse(listed.out).map((c: { client_id: string }) => c.client_id),
      ['svc'],
    );
    const shown = await tessera(['clients', 'show', 'svc', ...dd]);
    assert.equal(shown.code, 0);
    for (const text of [listed.out, shown.out]) {
      assert.ok(!text.includes(view.client_secret));
      assert.ok(!/secretHash|secret_hash|"client_secret"|client_secret:/.test(text));
    }
    const human = await tessera([
      'clients',
      'create',
      '--id',
      'svc-h',
      '--grants',
      'client_credentials',
      ...dd,
    ]);
    assert.match(human.out, /client_secret: {2}\S{43}/);
  });

  it('refuses what the server would not honour', async () => {
    const ttl = await tessera([
      'clients',
      'create',
      '--id',
      'long',
      '--grants',
      'client_credentials',
      '--access-ttl',
      '2h',
      ...dd,
    ]);
    assert.equal(ttl.code, 1);
    assert.match(ttl.err, /exceeds the server maximum of 3600s/);
    const raised = await tessera(
      ['clients', 'create', '--id', 'long', '--grants', 'client_credentials', '--access-ttl', '2h', ...dd],
      {
        TESSERA_MAX_ACCESS_TTL: '3h',
      },
    );
    assert.equal(raised.code, 0, raised.err);
    const claims = await tessera([
      'clients',
      'create',
      '--id',
      'c1',
      '--grants',
      'client_credentials',
      '--claims',
      'password',
      ...dd,
    ]);
    assert.equal(claims.code, 1);
    assert.match(claims.err, /looks sensitive/);
    const registered = await tessera([
      'clients',
      'create',
      '--id',
      'c2',
      '--grants',
      'client_credentials',
      '--claims',
      'sub',
      ...dd,
    ]);
    assert.match(registered.err, /registered claim/);
    const grant = await tessera(['clients', 'create', '--id', 'c3', '--grants', 'password', ...dd]);
    assert.match(grant.err, /unknown grant/);
    const keys = await tessera([
      'clients',
      'create',
      '--id',
      'c4',
      '--grants',
      'client_credentials',
      '--auth',
      'private_key_jwt',
      ...dd,
    ]);
    assert.match(keys.err, /--jwks/);
    const dup = await tessera(['clients', 'create', '--id', 'svc', '--grants', 'client_credentials', ...dd]);
    assert.match(dup.err, /already exists/);
    const usage = await tessera(['clients', 'create', '--grants', 'client_credentials', ...dd]);
    assert.equal(usage.code, 2);
  });

  it('private_key_jwt clients get no secret and keep their public JWKS', async () => {
    const key = await makeClientKey();
    const file = join(dir, 'client-jwks.json');
    writeFileSync(file, key.jwks);
    const res = await tessera([
      'clients',
      'create',
      '--id',
      'pkj',
      '--grants',
      'client_credentials',
      '--auth',
      'private_key_jwt',
      '--jwks',
      file,
      '--json',
      ...dd,
    ]);
    assert.equal(res.code, 0, res.err);
    const view = JSON.parse(res.out);
    assert.equal(view.client_secret, undefined);
    assert.equal(view.jwks.keys[0].kid, key.kid);
  });

  it('delete removes a client; show then fails', async () => {
    assert.equal((await tessera(['clients', 'delete', 'svc-h', ...dd])).code, 0);
    assert.equal((await tessera(['clients', 'show', 'svc-h', ...dd])).code, 1);
    assert.equal((await tessera(['clients', 'delete', 'svc-h', ...dd])).code, 1);
  });

  it('a secret created by the CLI authenticates at a server on the same data dir', async () => {
    const created = await tessera([
      'clients',
      'create',
      '--id',
      'live',
      '--grants',
      'client_credentials',
      '--json',
      ...dd,
    ]);
    const { client_secret: secret } = JSON.parse(created.out);
    const config = loadConfig({ values: { port: '0', 'data-dir': dir }, env: {} });
    const server = await startServer(config, { log: createLogger('silent'), scheduleKeys: false });
    try {
      const res = await fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basic('live', secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 200);
    } finally {
      await server.close();
    }
  });
});

/** The client cache of a server follows CLI changes within its reload interval (50 ms here). */
const FOLLOW_MS = 120;

const claimsOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('tessera clients after creation, against a running server', () => {
  let dir: string;
  let dd: string[];
  let server: ServerHandle;
  /** Added to the server's clock (grace periods end without waiting). */
  let offset = 0;
  let rsAuth: string;

  async function createJSON(args: string[]): Promise<Record<string, unknown>> {
    const res = await tessera(['clients', 'create', ...args, '--json', ...dd]);
    assert.equal(res.code, 0, res.err);
    return JSON.parse(res.out) as Record<string, unknown>;
  }
  async function post(path: string, form: Record<string, string>, authorization?: string) {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(authorization && { authorization }),
      },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const clientCredentials = (authorization: string, extra: Record<string, string> = {}) =>
    post('/oauth/token', { grant_type: 'client_credentials', ...extra }, authorization);
  const introspect = async (token: string, authorization = rsAuth) =>
    (await post('/oauth/introspect', { token }, authorization)).body;
  async function assertionGrant(id: string, secret: string, key: ClientKey) {
    const assertion = await signAssertion(key, { iss: id, sub: 'user-1', aud: server.url });
    return post('/oauth/token', { grant_type: JWT_BEARER_GRANT, assertion }, basic(id, secret));
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-clients-life-'));
    dd = ['--data-dir', dir];
    // The resource server: may introspect every token for `api` (issue 12 #5), and reads the feed.
    const rs = await createJSON([
      '--id',
      'rs',
      '--grants',
      'client_credentials',
      '--audience',
      'rs',
      '--introspect-audience',
      'api',
      '--init', // the first command on an empty directory creates the state
    ]);
    assert.deepEqual(rs.introspect_audiences, ['api']);
    rsAuth = basic('rs', String(rs.client_secret));
    const config = loadConfig({
      values: { port: '0', host: '127.0.0.1', 'data-dir': dir, 'reload-interval': '0.05s' },
      env: {},
    });
    server = await startServer(config, {
      log: createLogger('silent'),
      scheduleKeys: false,
      clock: () => Date.now() + offset,
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('update changes only the given fields, validated like create, and the next token carries them', async () => {
    const created = await createJSON([
      '--id',
      'upd',
      '--grants',
      'client_credentials',
      '--scope',
      'read',
      '--audience',
      'api',
      '--claims',
      'tenant_id',
    ]);
    const auth = basic('upd', String(created.client_secret));
    const before = claimsOf(String((await clientCredentials(auth)).body.access_token));
    assert.equal(before.scope, 'read');
    assert.equal(before.aud, 'api');

    const updated = await tessera([
      'clients',
      'update',
      'upd',
      '--scope',
      'read write',
      '--audience',
      'orders-api,api',
      '--access-ttl',
      '5m',
      '--redirect-uri',
      'https://app.example/cb',
      '--redirect-uri',
      'http://127.0.0.1:8080/cb',
      '--json',
      ...dd,
    ]);
    assert.equal(updated.code, 0, updated.err);
    const view = JSON.parse(updated.out);
    assert.equal(view.scope, 'read write');
    assert.deepEqual(view.allowed_claims, ['tenant_id'], 'a field not given stays');
    assert.deepEqual(view.grant_types, ['client_credentials']);
    assert.deepEqual(view.redirect_uris, ['https://app.example/cb', 'http://127.0.0.1:8080/cb']);
    assert.equal(view.client_secret, undefined);
    await sleep(FOLLOW_MS);
    // Two audiences now: the client names one per request (`audience`; `resource` takes absolute URIs) and the token carries exactly it.
    assert.equal((await clientCredentials(auth)).body.error, 'invalid_target');
    const res = await clientCredentials(auth, { audience: 'orders-api' });
    assert.equal(res.status, 200, 'the secret survives an update');
    const after = claimsOf(String(res.body.access_token));
    assert.equal(after.scope, 'read write');
    assert.equal(after.aud, 'orders-api');
    assert.equal(
      claimsOf(String((await clientCredentials(auth, { audience: 'api' })).body.access_token)).aud,
      'api',
    );
    assert.equal(Number(after.exp) - Number(after.iat), 300);

    // Refused exactly like create, and nothing changes.
    const refusals: [string[], RegExp][] = [
      [['--access-ttl', '2h'], /exceeds the server maximum of 3600s/],
      [['--claims', 'password'], /looks sensitive/],
      [['--token-format', 'paseto'], /unknown token format/],
      [['--redirect-uri', 'http://app.example/cb'], /must be https/],
      [['--introspect-audience', 'x'.repeat(513)], /1-512 characters/],
    ];
    for (const [args, message] of refusals) {
      const r = await tessera(['clients', 'update', 'upd', ...args, ...dd]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.err, message);
    }
    const shown = JSON.parse((await tessera(['clients', 'show', 'upd', '--json', ...dd])).out);
    assert.equal(shown.access_token_ttl, 300);
    assert.deepEqual(shown.allowed_claims, ['tenant_id']);
    // Usage: create-only options, no option at all, no such client.
    assert.equal((await tessera(['clients', 'update', 'upd', '--grants', 'refresh_token', ...dd])).code, 2);
    assert.equal((await tessera(['clients', 'update', 'upd', ...dd])).code, 2);
    const missing = await tessera(['clients', 'update', 'nobody', '--scope', 'read', ...dd]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no client "nobody"/);
    // An empty value clears a list.
    const cleared = await tessera(['clients', 'update', 'upd', '--claims', '', '--json', ...dd]);
    assert.deepEqual(JSON.parse(cleared.out).allowed_claims, []);

    const store = await openStore(undefined, { dataDir: dir });
    try {
      const events = (await store.listAudit(50)).filter((e) => e.type === 'client.updated');
      assert.ok(events.length >= 2);
      assert.deepEqual(events.at(-1)!.data, {
        clientId: 'upd',
        fields: ['scope', 'audience', 'redirectUris', 'accessTtl'],
      });
    } finally {
      await store.close();
    }
  });

  it('rotate-secret --grace: old and new secret both work until the grace ends, then only the new one', async () => {
    const created = await createJSON(['--id', 'rot', '--grants', 'client_credentials', '--audience', 'api']);
    const oldSecret = String(created.client_secret);
    const rotated = await tessera(['clients', 'rotate-secret', 'rot', '--grace', '10m', '--json', ...dd]);
    assert.equal(rotated.code, 0, rotated.err);
    const answer = JSON.parse(rotated.out);
    const newSecret = String(answer.client_secret);
    assert.notEqual(newSecret, oldSecret);
    assert.ok(Buffer.from(newSecret, 'base64url').length >= 32);
    assert.ok(Date.parse(answer.previous_secret_expires_at) > Date.now() + 9 * 60_000);
    await sleep(FOLLOW_MS);
    try {
      assert.equal((await clientCredentials(basic('rot', oldSecret))).status, 200, 'old secret in grace');
      assert.equal((await clientCredentials(basic('rot', newSecret))).status, 200, 'new secret');
      offset = 10 * 60_000 + 1000; // past the grace period on the server's clock
      assert.equal((await clientCredentials(basic('rot', oldSecret))).status, 401, 'old secret after grace');
      assert.equal((await clientCredentials(basic('rot', newSecret))).status, 200);
    } finally {
      offset = 0;
    }

    // Default grace 0: the replaced secret stops at once (and a second rotation ends the first grace).
    const again = await tessera(['clients', 'rotate-secret', 'rot', ...dd]);
    assert.equal(again.code, 0, again.err);
    const newest = /client_secret: {2}(\S{43})/.exec(again.out)?.[1];
    assert.ok(newest);
    assert.match(again.out, /old secret: +no longer accepted/);
    await sleep(FOLLOW_MS);
    for (const stale of [oldSecret, newSecret])
      assert.equal((await clientCredentials(basic('rot', stale))).status, 401);
    assert.equal((await clientCredentials(basic('rot', newest))).status, 200);

    assert.equal((await tessera(['clients', 'rotate-secret', 'nobody', ...dd])).code, 1);
    assert.equal((await tessera(['clients', 'rotate-secret', 'rot', '--grace', 'soon', ...dd])).code, 2);
    const key = await makeClientKey();
    const file = join(dir, 'pkj.json');
    writeFileSync(file, key.jwks);
    await createJSON([
      '--id',
      'pkj',
      '--grants',
      'client_credentials',
      '--auth',
      'private_key_jwt',
      '--jwks',
      file,
    ]);
    const noSecret = await tessera(['clients', 'rotate-secret', 'pkj', ...dd]);
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.err, /private_key_jwt/);

    const store = await openStore(undefined, { dataDir: dir });
    try {
      const events = (await store.listAudit(50)).filter((e) => e.type === 'client.secret_rotated');
      assert.equal(events.length, 2);
      const text = JSON.stringify(events);
      for (const secret of [oldSecret, newSecret, newest]) assert.ok(!text.includes(secret));
      assert.equal(events.at(-1)!.data.graceSeconds, 600);
    } finally {
      await store.close();
    }
  });

  it('attack: delete, recreate with the same id — the new client inherits no JWT, opaque or refresh token', async () => {
    const key = await makeClientKey();
    const jwksFile = join(dir, 'gone.json');
    writeFileSync(jwksFile, key.jwks);
    const createGone = () =>
      createJSON([
        '--id',
        'gone',
        '--grants',
        `${JWT_BEARER_GRANT},refresh_token`,
        '--audience',
        'api',
        '--jwks',
        jwksFile,
      ]);
    const first = String((await createGone()).client_secret);
    const withJwt = await assertionGrant('gone', first, key);
    assert.equal(withJwt.status, 200, JSON.stringify(withJwt.body));
    const jwt = String(withJwt.body.access_token);
    const refreshA = String(withJwt.body.refresh_token);
    assert.equal((await tessera(['clients', 'update', 'gone', '--token-format', 'opaque', ...dd])).code, 0);
    await sleep(FOLLOW_MS);
    const withOpaque = await assertionGrant('gone', first, key);
    assert.equal(withOpaque.status, 200, JSON.stringify(withOpaque.body));
    const opaque = String(withOpaque.body.access_token);
    const refreshB = String(withOpaque.body.refresh_token);
    assert.equal((await introspect(jwt)).active, true);
    assert.equal((await introspect(opaque)).active, true);

    // A resource service's verifier with the revocation list (pull feed, as the rs client).
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as {
      issuer: string;
    };
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as JWKS;
    const rsSecret = Buffer.from(rsAuth.slice(6), 'base64').toString().split(':')[1]!;
    const revocations = createRevocationList({
      feedUrl: `${server.url}/oauth/revocations`,
      clientId: 'rs',
      clientSecret: decodeURIComponent(rsSecret),
      policy: 'fail-closed',
      pollInterval: 3600,
    });
    try {
      await revocations.ready();
      const verifier = createVerifier({
        algorithms: ['ES256'],
        issuer: metadata.issuer,
        audience: 'api',
        keys: jwks,
        typ: 'at+jwt',
        revocations,
      });
      await verifier.verify(jwt);

      // The operator deletes the client with the CLI, against the same data dir.
      const deleted = await tessera(['clients', 'delete', 'gone', '--json', ...dd]);
      assert.equal(deleted.code, 0, deleted.err);
      const summary = JSON.parse(deleted.out);
      assert.equal(summary.deleted, true);
      assert.deepEqual(
        { opaque: summary.revoked.opaque_tokens, families: summary.revoked.refresh_families },
        { opaque: 1, families: 2 },
      );
      assert.deepEqual(await introspect(jwt), { active: false });
      assert.deepEqual(await introspect(opaque), { active: false });
      await revocations.sync();
      await assert.rejects(verifier.verify(jwt), TokenRevoked);

      // Recreated under the same id (in a later second than the deletion: `iat` has whole seconds).
      await sleep(1100 - (Date.now() % 1000));
      const second = String((await createGone()).client_secret);
      await sleep(FOLLOW_MS);
      const secondAuth = basic('gone', second);
      for (const refresh of [refreshA, refreshB]) {
        const res = await post(
          '/oauth/token',
          { grant_type: 'refresh_token', refresh_token: refresh },
          secondAuth,
        );
        assert.equal(res.status, 400);
        assert.equal(res.body.error, 'invalid_grant');
        assert.deepEqual(await introspect(refresh, secondAuth), { active: false });
      }
      for (const old of [jwt, opaque]) {
        assert.deepEqual(await introspect(old, secondAuth), { active: false }, 'not even to the new owner');
        assert.deepEqual(await introspect(old), { active: false });
      }
      await assert.rejects(verifier.verify(jwt), TokenRevoked);

      // The recreated client's own new tokens are not affected.
      assert.equal((await tessera(['clients', 'update', 'gone', '--token-format', 'jwt', ...dd])).code, 0);
      await sleep(FOLLOW_MS);
      const fresh = await assertionGrant('gone', second, key);
      assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
      const freshJwt = String(fresh.body.access_token);
      assert.equal((await introspect(freshJwt)).active, true);
      assert.equal((await verifier.verify(freshJwt)).payload.client_id, 'gone');
      const rotated = await post(
        '/oauth/token',
        { grant_type: 'refresh_token', refresh_token: String(fresh.body.refresh_token) },
        secondAuth,
      );
      assert.equal(rotated.status, 200);
    } finally {
      revocations.close();
    }

    const store = await openStore(undefined, { dataDir: dir });
    try {
      const event = (await store.listAudit(50)).find((e) => e.type === 'client.deleted');
      assert.equal(event?.data.clientId, 'gone');
      assert.equal(event?.data.opaqueTokens, 1);
    } finally {
      await store.close();
    }
  });

  it('deleting through the store API (deleteClient) revokes the same way, and the feed carries a client entry', async () => {
    const created = await createJSON([
      '--id',
      'api-del',
      '--grants',
      'client_credentials',
      '--audience',
      'api',
    ]);
    const token = String(
      (await clientCredentials(basic('api-del', String(created.client_secret)))).body.access_token,
    );
    assert.equal((await introspect(token)).active, true);
    const { ctx } = server;
    const result = await deleteClient(ctx.store, 'api-del', { maxAccessTtl: ctx.config.maxAccessTtl });
    assert.equal(result.client.id, 'api-del');
    assert.equal(await ctx.store.getClient('api-del'), undefined);
    assert.deepEqual(await introspect(token), { active: false });
    const feed = await fetch(`${server.url}/oauth/revocations?since=0`, {
      headers: { authorization: rsAuth },
    });
    const page = (await feed.json()) as {
      entries: { type: string; value: string; exp: number; revoked_at: number }[];
    };
    const entry = page.entries.find((e) => e.type === 'client' && e.value === 'api-del');
    assert.ok(entry, 'a client entry in the feed');
    assert.equal(entry.revoked_at, Math.floor(result.revocation.revokedAt / 1000));
    // Kept until every token it can deny has expired: the server maximum access-token lifetime and more.
    assert.ok(entry.exp >= entry.revoked_at + ctx.config.maxAccessTtl);
    assert.equal((await tessera(['clients', 'delete', 'api-del', ...dd])).code, 1);
  });
});

describe('client option parsing (properties)', () => {
  const defaults = { accessTtl: 900, maxAccessTtl: 3600, refreshAbsoluteTtl: 604800, refreshIdleTtl: 86400 };
  const pepper = Buffer.alloc(32, 1);

  it('a redirect URI is stored only when absolute, fragment-free, and https or loopback http; anything else is refused', () => {
    const candidates = fc.oneof(
      fc.webUrl({ withFragments: true, withQueryParameters: true }),
      fc.webUrl().map((u) => u.replace(/^https?:\/\/[^/]+/, 'http://127.0.0.1:8080')),
      fc.string(),
      fc.constantFrom('javascript:alert(1)', 'https://a.example/cb#x', '/relative', 'http://[::1]/cb'),
    );
    fc.assert(
      fc.property(fc.array(candidates, { maxLength: 3 }), (uris) => {
        let stored: string[];
        try {
          stored = buildClient(
            { id: 'p', grants: ['client_credentials'], redirectUris: uris },
            defaults,
            pepper,
            0,
          ).client.redirectUris!;
        } catch (err) {
          assert.ok(err instanceof ClientValidationError, String(err));
          return;
        }
        assert.deepEqual(stored, [...new Set(uris)]);
        for (const uri of stored) {
          const url = new URL(uri);
          assert.ok(!uri.includes('#'));
          assert.ok(
            url.protocol === 'https:' ||
              (url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)),
            uri,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('--introspect-audience: repeated flags and comma/space lists give the same set of audiences', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-clients-prop-'));
    const dd = ['--data-dir', dir];
    try {
      assert.equal(
        (await tessera(['clients', 'create', '--id', 'p', '--grants', 'client_credentials', '--init', ...dd]))
          .code,
        0,
      );
      const audience = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9:/._-]{0,19}$/);
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(audience, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
          fc.constantFrom(',', ' ', ', ', ' ,  '),
          async (groups, separator) => {
            const flags = groups.flatMap((group) => ['--introspect-audience', group.join(separator)]);
            const res = await tessera(['clients', 'update', 'p', ...flags, '--json', ...dd]);
            assert.equal(res.code, 0, res.err);
            assert.deepEqual(JSON.parse(res.out).introspect_audiences, [...new Set(groups.flat())]);
          },
        ),
        { numRuns: 25 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tessera clients delete --redis', async () => {
  const redis = await redisUrl();
  it(
    'pushes the client revocation entry on the revocation channel of its --redis-prefix',
    { skip: redis === undefined && 'Redis not reachable' },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-clients-push-'));
      const id = `pushed-${Date.now()}`; // other test files may publish on the same channel
      const entries: { type?: string; value?: string; revoked_at?: number }[] = [];
      let subscribed!: () => void;
      const live = new Promise<void>((r) => (subscribed = r));
      const unsubscribe = createRedisRevocationTransport({
        url: redis!,
        channel: TEST_REVOCATION_CHANNEL,
      }).subscribe(
        (e) => entries.push(e as (typeof entries)[number]),
        () => subscribed(),
      );
      try {
        await live;
        const dd = ['--data-dir', dir];
        assert.equal(
          (
            await tessera([
              'clients',
              'create',
              '--id',
              id,
              '--grants',
              'client_credentials',
              '--init',
              ...dd,
            ])
          ).code,
          0,
        );
        const deleted = await tessera(['clients', 'delete', id, ...testRedisArgs(redis!), '--json', ...dd]);
        assert.equal(deleted.code, 0, deleted.err);
        const deadline = Date.now() + 5000;
        while (!entries.some((e) => e.value === id) && Date.now() < deadline) await sleep(20);
        const entry = entries.find((e) => e.value === id);
        assert.equal(entry?.type, 'client');
        assert.equal(
          entry?.revoked_at,
          Math.floor(Date.parse(JSON.parse(deleted.out).revoked.jwts_issued_until) / 1000),
        );
      } finally {
        unsubscribe();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
