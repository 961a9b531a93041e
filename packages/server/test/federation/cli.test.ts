/**
 * `tessera idps add|list|show|delete` through the real command, on a real server's data dir: discovery at
 * add time, the redirect URI printed, JSON output, the secret never printed and encrypted at rest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { openClientSecret } from '../../src/federation/secret-box.js';
import { startDownstream, type Downstream } from './helpers.js';
import { startForgedProvider, type ForgedProvider } from '../helpers/forged-provider.js';

const SECRET = 'upstream-client-secret-7f3a9c';

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('tessera idps', () => {
  let ours: Downstream;
  let upstream: ForgedProvider;
  const add = (extra: string[] = [], id = 'corp', issuer?: string) =>
    ours.idps(
      [
        'add',
        '--id',
        id,
        '--issuer',
        issuer ?? upstream.issuer,
        '--client-id',
        'tessera',
        '--client-secret-stdin',
        ...extra,
      ],
      `${SECRET}\n`,
    );

  before(async () => {
    ours = await startDownstream();
    upstream = await startForgedProvider('tessera');
  });
  after(async () => {
    await ours?.close();
    await upstream?.close();
  });

  it('add reads discovery, stores the provider, prints the redirect URI; list and show never print the secret', async () => {
    const added = await add([
      '--name',
      'Corp SSO',
      '--scope',
      'openid email',
      '--claims-map',
      '{"upn":"email","dept":"claims.department"}',
      '--allowed-domains',
      'Corp.Example,sub.corp.example',
      '--allowed-domains',
      'other.example',
      '--json',
    ]);
    assert.equal(added.code, 0, added.err);
    const view = JSON.parse(added.out) as Record<string, unknown>;
    assert.deepEqual(
      { ...view, created_at: 'T' },
      {
        id: 'corp',
        name: 'Corp SSO',
        issuer: upstream.issuer,
        client_id: 'tessera',
        scope: 'openid email',
        claims_map: { upn: 'email', dept: 'claims.department' },
        allowed_domains: ['corp.example', 'sub.corp.example', 'other.example'],
        created_at: 'T',
        redirect_uri: `${ours.url}/signin/idp/corp/callback`,
      },
    );
    const text = await ours.idps(['show', 'corp']);
    assert.equal(text.code, 0);
    assert.match(text.out, /allowed domains: +corp\.example, sub\.corp\.example, other\.example/);
    const list = await ours.idps(['list', '--json']);
    assert.deepEqual(
      (JSON.parse(list.out) as { id: string }[]).map((p) => p.id),
      ['corp'],
    );
    for (const out of [added.out, text.out, list.out, (await ours.idps(['show', 'corp', '--json'])).out])
      assert.ok(!out.includes(SECRET), 'the secret is never printed');

    // At rest: an AES-GCM blob bound to the provider id, readable only with the server's KEK-derived key.
    const record = await ours.h.server.ctx.store.getIdentityProvider('corp');
    assert.ok(record && !record.encryptedClientSecret.includes(SECRET));
    assert.equal(openClientSecret(ours.h.server.ctx.pepper, 'corp', record.encryptedClientSecret), SECRET);
    assert.throws(() => openClientSecret(ours.h.server.ctx.pepper, 'other', record.encryptedClientSecret));
  });

  it('add refuses a taken id, "local", a non-slug id, a scope without openid, a bad claims map or domain', async () => {
    const cases: [string[], string, RegExp][] = [
      [[], 'corp', /already exists/],
      [[], 'local', /"local" is reserved/],
      [[], 'Corp_SSO', /a provider id is 1 to 32 characters/],
      [['--scope', 'email profile'], 'x1', /--scope must include openid/],
      [['--claims-map', '{"sub":"claims.sub"}'], 'x2', /"sub" is a registered claim/],
      [['--claims-map', '{"a":"name","b":"name"}'], 'x3', /two claims map to "name"/],
      [['--claims-map', '{"pw":"claims.password"}'], 'x4', /looks sensitive/],
      [['--allowed-domains', 'not a domain'], 'x5', /is not a domain name/],
    ];
    for (const [extra, id, message] of cases) {
      const res = await add(extra, id);
      assert.equal(res.code, 1, `${id}: ${res.err}`);
      assert.match(res.err, message);
    }
    assert.deepEqual(
      (await ours.h.server.ctx.store.listIdentityProviders()).map((p) => p.id),
      ['corp'],
      'nothing stored',
    );
  });

  it('add fails clearly when the issuer is unreachable or its metadata names another issuer', async () => {
    const port = await closedPort();
    const down = await add([], 'down', `http://127.0.0.1:${port}`);
    assert.equal(down.code, 1);
    assert.match(down.err, /^tessera: .*(reach|connect|ECONNREFUSED|unavailable)/i);
    // Same server, another spelling: its metadata says 127.0.0.1, so the issuers differ (OIDC Discovery §4.3).
    const other = await add([], 'mixup', upstream.issuer.replace('127.0.0.1', 'localhost'));
    assert.equal(other.code, 1);
    assert.match(other.err, /names another issuer/);
    assert.equal(await ours.h.server.ctx.store.getIdentityProvider('mixup'), undefined);
  });

  it('usage: the secret only from stdin; required flags; subcommand options', async () => {
    const noStdin = await ours.idps(['add', '--id', 'a', '--issuer', upstream.issuer, '--client-id', 'c']);
    assert.equal(noStdin.code, 2);
    assert.match(noStdin.err, /--client-secret-stdin/);
    const secretFlag = await ours.idps(['add', '--id', 'a', '--client-secret', 'x']);
    assert.equal(secretFlag.code, 2);
    assert.equal((await ours.idps(['add', '--id', 'a', '--client-secret-stdin'])).code, 2);
    assert.equal((await ours.idps(['list', '--allowed-domains', 'x.example'])).code, 2);
    assert.equal((await ours.idps(['show'])).code, 2);
    assert.equal((await ours.idps(['frobnicate'])).code, 2);
  });

  it('delete removes the provider and its links (the users stay); show and delete of an unknown id fail', async () => {
    const store = ours.h.server.ctx.store;
    await store.createUser({
      id: 'u-linked',
      email: 'linked@corp.example',
      name: null,
      emailVerified: true,
      disabled: false,
      claims: '{}',
      passwordHash: null,
      createdAt: 1,
      updatedAt: 1,
    });
    await store.createIdentityLink({ providerId: 'corp', subject: 's1', userId: 'u-linked', createdAt: 1 });
    const deleted = await ours.idps(['delete', 'corp', '--json']);
    assert.equal(deleted.code, 0, deleted.err);
    assert.deepEqual(JSON.parse(deleted.out), { id: 'corp', deleted: true, links_removed: 1 });
    assert.equal(await store.getIdentityLink('corp', 's1'), undefined);
    assert.ok(await store.getUser('u-linked'));
    const audit = await store.listAudit(10);
    assert.ok(audit.some((e) => e.type === 'idp.deleted' && e.data.links === 1));
    for (const sub of ['show', 'delete']) {
      const res = await ours.idps([sub, 'corp']);
      assert.equal(res.code, 1);
      assert.match(res.err, /no identity provider "corp"/);
    }
    assert.equal((await ours.idps(['list'])).out, 'no identity providers\n');
  });
});
