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
import {
  buildClient,
  ClientValidationError,
  createClient,
  deleteClient,
  updateClient,
} from '../../src/oauth/clients.js';
import { createMemoryStore } from '../../src/store/memory.js';
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

  it('a redirect URI is stored only when absolute, fragment-free, without userinfo, and https, loopback http or a private-use scheme with a dot; anything else is refused', () => {
    const candidates = fc.oneof(
      fc.webUrl({ withFragments: true, withQueryParameters: true }),
      fc.webUrl().map((u) => u.replace('://', '://user:pw@')),
      fc.webUrl().map((u) => u.replace(/^https?:\/\/[^/]+/, 'http://127.0.0.1:8080')),
      fc.webUrl().map((u) => u.replace(/^https?:\/\//, 'com.example.app:/')),
      fc.string(),
      fc
        .tuple(fc.stringMatching(/^[a-z][a-z0-9.+-]{0,12}$/), fc.string({ maxLength: 20 }))
        .map(([scheme, rest]) => `${scheme}:${rest}`),
      fc.constantFrom(
        'javascript:alert(1)',
        'https://a.example/cb#x',
        '/relative',
        'http://[::1]/cb',
        'com.example.app:/cb',
        'javascript.x:alert(1)',
        'https://u@a.example/cb',
      ),
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
          assert.ok(!uri.includes('#') && url.username === '' && url.password === '', uri);
          assert.ok(uri.length <= 2048 && /^[\x21-\x7e]+$/.test(uri), uri);
          assert.ok(
            url.protocol === 'https:' ||
              (url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)) ||
              (url.protocol !== 'http:' && /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/.test(url.protocol)),
            uri,
          );
          assert.ok(!['javascript:', 'data:', 'file:', 'vbscript:', 'blob:'].includes(url.protocol), uri);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('updateClient keeps the sign-in fields not given and validates the merged client like create', async () => {
    const store = createMemoryStore();
    await createClient(
      store,
      {
        id: 'web',
        grants: ['authorization_code', 'refresh_token'],
        redirectUris: ['https://app.example/cb'],
        postLogoutRedirectUris: ['https://app.example/bye'],
        firstParty: true,
        requirePar: true,
      },
      defaults,
      pepper,
      0,
    );
    const { client, changed } = await updateClient(store, 'web', { scope: ['openid'] }, defaults, 1);
    assert.deepEqual(changed, ['scope']);
    assert.deepEqual(
      [client.postLogoutRedirectUris, client.firstParty, client.requirePar, client.redirectUris],
      [['https://app.example/bye'], true, true, ['https://app.example/cb']],
    );
    assert.deepEqual((await store.getClient('web'))?.postLogoutRedirectUris, ['https://app.example/bye']);
    const same = await updateClient(store, 'web', { firstParty: true }, defaults, 2);
    assert.deepEqual(same.changed, [], 'setting a flag to its value is no change');
    await assert.rejects(
      updateClient(store, 'web', { postLogoutRedirectUris: ['http://example.com/bye'] }, defaults, 3),
      /post-logout redirect URI "http:\/\/example\.com\/bye" must be https/,
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

describe('tessera clients: sign-in registrations (issue 14)', async () => {
  let dir: string;
  let dd: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-clients-signin-'));
    dd = ['--data-dir', dir];
    assert.equal((await tessera(['keys', 'list', '--init', ...dd])).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const create = (args: string[]) => tessera(['clients', 'create', ...args, ...dd]);

  it('a web client: authorization_code + refresh_token, redirect and post-logout URIs, first party, PAR', async () => {
    const res = await create([
      '--id',
      'web',
      '--grants',
      'authorization_code,refresh_token',
      '--redirect-uri',
      'https://app.example/cb',
      '--redirect-uri',
      'http://127.0.0.1:8080/cb http://[::1]/cb',
      '--post-logout-redirect-uri',
      'https://app.example/bye',
      '--first-party',
      '--require-par',
      '--scope',
      'openid profile email',
      '--json',
    ]);
    assert.equal(res.code, 0, res.err);
    const view = JSON.parse(res.out);
    assert.equal(view.token_endpoint_auth_method, 'client_secret_basic');
    assert.deepEqual(view.grant_types, ['authorization_code', 'refresh_token']);
    assert.deepEqual(view.redirect_uris, [
      'https://app.example/cb',
      'http://127.0.0.1:8080/cb',
      'http://[::1]/cb',
    ]);
    assert.deepEqual(view.post_logout_redirect_uris, ['https://app.example/bye']);
    assert.equal(view.first_party, true);
    assert.equal(view.require_par, true);
    assert.ok(
      Buffer.from(view.client_secret, 'base64url').length >= 32,
      'a confidential client gets a secret',
    );
  });

  it('show and list print the sign-in fields', async () => {
    const shown = JSON.parse((await tessera(['clients', 'show', 'web', '--json', ...dd])).out);
    assert.deepEqual(shown.post_logout_redirect_uris, ['https://app.example/bye']);
    assert.equal(shown.first_party, true);
    assert.equal(shown.require_par, true);
    const listed = JSON.parse((await tessera(['clients', 'list', '--json', ...dd])).out);
    assert.equal(listed.find((c: { client_id: string }) => c.client_id === 'web').first_party, true);
    const human = await tessera(['clients', 'show', 'web', ...dd]);
    assert.match(human.out, /logout uris: {4}https:\/\/app\.example\/bye/);
    assert.match(human.out, /first party: {4}yes/);
    assert.match(human.out, /require par: {4}yes/);
  });

  it('a client registered before issue 14 reads as not first party, no PAR, no logout URIs', async () => {
    const res = await create(['--id', 'old', '--grants', 'client_credentials', '--json']);
    const view = JSON.parse(res.out);
    assert.deepEqual(
      [view.post_logout_redirect_uris, view.first_party, view.require_par],
      [[], false, false],
    );
  });

  it('--auth none: a public native app client, no secret created or printed', async () => {
    const res = await create([
      '--id',
      'mobile',
      '--auth',
      'none',
      '--grants',
      'authorization_code,refresh_token',
      '--redirect-uri',
      'com.example.app:/oauth2redirect',
      '--json',
    ]);
    assert.equal(res.code, 0, res.err);
    const view = JSON.parse(res.out);
    assert.equal(view.token_endpoint_auth_method, 'none');
    assert.equal(view.client_secret, undefined);
    assert.deepEqual(view.redirect_uris, ['com.example.app:/oauth2redirect']);
    const human = await create([
      '--id',
      'spa',
      '--auth',
      'none',
      '--grants',
      'authorization_code',
      '--redirect-uri',
      'https://spa.example/cb',
    ]);
    assert.equal(human.code, 0, human.err);
    assert.doesNotMatch(human.out, /client_secret|Store the secret/);
    assert.match(human.out, /auth method: {4}none/);
    const rotate = await tessera(['clients', 'rotate-secret', 'spa', ...dd]);
    assert.equal(rotate.code, 1);
    assert.equal(rotate.err, 'tessera: client "spa" authenticates with none and has no secret\n');
  });

  it('--auth none is refused with any grant but authorization_code and refresh_token', async () => {
    const uri = ['--redirect-uri', 'https://spa.example/cb'];
    for (const grants of ['client_credentials', `authorization_code,${JWT_BEARER_GRANT}`]) {
      const res = await create(['--id', 'pub', '--auth', 'none', '--grants', grants, ...uri]);
      assert.equal(res.code, 1, grants);
      assert.match(
        res.err,
        /^tessera: a public client \(--auth none\) may use only authorization_code and refresh_token \(not /,
      );
    }
  });

  it('--auth none is refused with private_key_jwt settings (--jwks) and with --require-par', async () => {
    const key = await makeClientKey();
    const file = join(dir, 'pub-jwks.json');
    writeFileSync(file, key.jwks);
    const base = [
      '--id',
      'pub',
      '--auth',
      'none',
      '--grants',
      'authorization_code',
      '--redirect-uri',
      'https://spa.example/cb',
    ];
    const jwks = await create([...base, '--jwks', file]);
    assert.equal(jwks.code, 1);
    assert.equal(
      jwks.err,
      'tessera: a public client (--auth none) has no keys: --jwks is for private_key_jwt\n',
    );
    const par = await create([...base, '--require-par']);
    assert.equal(par.code, 1);
    assert.equal(
      par.err,
      'tessera: --require-par needs a confidential client (PAR requests are authenticated)\n',
    );
  });

  it('authorization_code needs a redirect URI; refresh_token needs jwt-bearer or authorization_code', async () => {
    const noUri = await create(['--id', 'nouri', '--grants', 'authorization_code']);
    assert.equal(noUri.code, 1);
    assert.equal(noUri.err, 'tessera: the authorization_code grant needs at least one --redirect-uri\n');
    const refresh = await create(['--id', 'rt', '--grants', 'client_credentials,refresh_token']);
    assert.equal(refresh.code, 1);
    assert.equal(
      refresh.err,
      `tessera: the refresh_token grant needs ${JWT_BEARER_GRANT} or authorization_code (the grants that issue refresh tokens)\n`,
    );
  });

  // One test per refused redirect URI, each with its exact error (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §4.1).
  const refused: [string, string, string][] = [
    [
      'attack: javascript: redirect URI (script runs with the code in hand)',
      'javascript:alert(1)',
      'redirect URI "javascript:alert(1)": the javascript: scheme is refused',
    ],
    [
      'attack: data: redirect URI (attacker-written page)',
      'data:text/html,<script>alert(1)</script>',
      'redirect URI "data:text/html,<script>alert(1)</script>": the data: scheme is refused',
    ],
    [
      'attack: vbscript: redirect URI',
      'vbscript:msgbox(1)',
      'redirect URI "vbscript:msgbox(1)": the vbscript: scheme is refused',
    ],
    [
      'attack: file: redirect URI',
      'file:///etc/passwd',
      'redirect URI "file:///etc/passwd": the file: scheme is refused',
    ],
    [
      'attack: blob: redirect URI',
      'blob:https://app.example/0b3e',
      'redirect URI "blob:https://app.example/0b3e": the blob: scheme is refused',
    ],
    [
      'attack: redirect URI with a fragment',
      'https://app.example/cb#steal',
      'redirect URI "https://app.example/cb#steal" must not have a fragment (RFC 6749 §3.1.2)',
    ],
    [
      'attack: plain http redirect URI on a network host (code sent in clear)',
      'http://example.com/cb',
      'redirect URI "http://example.com/cb" must be https, http on a loopback host (127.0.0.1, [::1], localhost), or a private-use scheme with a dot (RFC 8252 §7.1, e.g. com.example.app:/callback)',
    ],
    [
      'attack: http on a lookalike of a loopback host',
      'http://127.0.0.1.evil.example/cb',
      'redirect URI "http://127.0.0.1.evil.example/cb" must be https, http on a loopback host (127.0.0.1, [::1], localhost), or a private-use scheme with a dot (RFC 8252 §7.1, e.g. com.example.app:/callback)',
    ],
    [
      'attack: private-use scheme without a dot (any app can claim it)',
      'myapp:/cb',
      'redirect URI "myapp:/cb" must be https, http on a loopback host (127.0.0.1, [::1], localhost), or a private-use scheme with a dot (RFC 8252 §7.1, e.g. com.example.app:/callback)',
    ],
    [
      'attack: userinfo in the redirect URI (trusted@evil)',
      'https://app.example@evil.example/cb',
      'redirect URI "https://app.example@evil.example/cb" must not carry userinfo (user@)',
    ],
    ['attack: relative redirect URI', '/cb', 'redirect URI "/cb" is not an absolute URI'],
    [
      'attack: over-long redirect URI',
      `https://app.example/${'a'.repeat(2030)}`,
      'a redirect URI must be at most 2048 characters',
    ],
  ];
  for (const [title, uri, message] of refused) {
    it(title, async () => {
      const res = await create(['--id', 'bad', '--grants', 'authorization_code', '--redirect-uri', uri]);
      assert.equal(res.code, 1);
      assert.equal(res.err, `tessera: ${message}\n`);
      assert.equal((await tessera(['clients', 'show', 'bad', ...dd])).code, 1, 'nothing stored');
    });
  }

  it('attack: a redirect URI with a tab or newline (parsers drop them, exact matching would not)', () => {
    for (const uri of ['https://app.example/c\tb', 'https://app.example/cb\n', 'https://app.example/c b'])
      assert.throws(
        () =>
          buildClient(
            { id: 'ws', grants: ['authorization_code'], redirectUris: [uri] },
            { accessTtl: 900, maxAccessTtl: 3600, refreshAbsoluteTtl: 604800, refreshIdleTtl: 86400 },
            Buffer.alloc(32, 1),
            0,
          ),
        (err: unknown) =>
          err instanceof ClientValidationError &&
          / must be printable ASCII without spaces$/.test(err.message),
      );
  });

  it('post-logout redirect URIs follow the same rules', async () => {
    const res = await create([
      '--id',
      'bad',
      '--grants',
      'authorization_code',
      '--redirect-uri',
      'https://app.example/cb',
      '--post-logout-redirect-uri',
      'javascript:alert(document.cookie)',
    ]);
    assert.equal(res.code, 1);
    assert.equal(
      res.err,
      'tessera: post-logout redirect URI "javascript:alert(document.cookie)": the javascript: scheme is refused\n',
    );
  });

  it('update: post-logout URIs, --[no-]first-party, --[no-]require-par; contradictions are usage errors', async () => {
    const created = await create([
      '--id',
      'app2',
      '--grants',
      'authorization_code',
      '--redirect-uri',
      'https://app2.example/cb',
      '--json',
    ]);
    assert.equal(created.code, 0, created.err);
    const updated = await tessera([
      'clients',
      'update',
      'app2',
      '--post-logout-redirect-uri',
      'https://app2.example/bye',
      '--first-party',
      '--require-par',
      '--json',
      ...dd,
    ]);
    assert.equal(updated.code, 0, updated.err);
    const view = JSON.parse(updated.out);
    assert.deepEqual(
      [view.post_logout_redirect_uris, view.first_party, view.require_par],
      [['https://app2.example/bye'], true, true],
    );
    const off = await tessera([
      'clients',
      'update',
      'app2',
      '--no-first-party',
      '--no-require-par',
      '--json',
      ...dd,
    ]);
    assert.equal(off.code, 0, off.err);
    assert.deepEqual([JSON.parse(off.out).first_party, JSON.parse(off.out).require_par], [false, false]);
    // The code grant keeps needing a redirect URI: clearing them is refused.
    const cleared = await tessera(['clients', 'update', 'app2', '--redirect-uri', '', ...dd]);
    assert.equal(cleared.code, 1);
    assert.equal(cleared.err, 'tessera: the authorization_code grant needs at least one --redirect-uri\n');
    const both = await tessera(['clients', 'update', 'app2', '--first-party', '--no-first-party', ...dd]);
    assert.equal(both.code, 2);
    assert.match(both.err, /^tessera: --first-party and --no-first-party contradict each other\n/);
    const onCreate = await create(['--id', 'x', '--grants', 'client_credentials', '--no-require-par']);
    assert.equal(onCreate.code, 2);
    assert.match(onCreate.err, /^tessera: create does not take --no-require-par\n/);

    const store = await openStore(undefined, { dataDir: dir });
    try {
      // Newest first: the first update is the last of them.
      const event = (await store.listAudit(50)).filter((e) => e.type === 'client.updated').at(-1);
      assert.deepEqual(event?.data, {
        clientId: 'app2',
        fields: ['postLogoutRedirectUris', 'firstParty', 'requirePar'],
      });
    } finally {
      await store.close();
    }
  });

  it('update keeps the sign-in fields not given', async () => {
    assert.equal((await tessera(['clients', 'update', 'web', '--scope', 'openid', '--json', ...dd])).code, 0);
    const view = JSON.parse((await tessera(['clients', 'show', 'web', '--json', ...dd])).out);
    assert.deepEqual(
      [view.post_logout_redirect_uris, view.first_party, view.require_par, view.scope],
      [['https://app.example/bye'], true, true, 'openid'],
    );
  });
});
