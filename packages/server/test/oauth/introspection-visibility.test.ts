/**
 * Who may introspect what (issue 12 #3 and #5, docs/oauth.md "Introspection"): a client sees the tokens
 * issued to itself; other clients' access tokens only for an audience it holds a registered permission for
 * (`--introspect-audience`); refresh tokens only its own. Everyone else gets exactly `{ "active": false }`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import { updateClient } from '../../src/oauth/clients.js';
import { basic, makeClientKey, signAssertion, startHarness, type Harness } from './harness.js';

describe('introspection visibility', () => {
  let h: Harness;
  const auth: Record<string, string> = {};
  let appJwt: string;
  let appOpaque: string;
  let refreshToken: string;
  let loginAccess: string;

  async function add(options: Parameters<Harness['addClient']>[0]): Promise<void> {
    const { id, secret } = await h.addClient(options);
    auth[id] = basic(id, secret!);
  }
  async function introspect(as: string, token: string, hint?: string) {
    const res = await h.post(
      '/oauth/introspect',
      { token, ...(hint && { token_type_hint: hint }) },
      {
        authorization: auth[as]!,
      },
    );
    assert.equal(res.status, 200, res.body);
    return res.json();
  }
  async function issue(as: string): Promise<string> {
    const res = await h.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: auth[as]! },
    );
    assert.equal(res.status, 200, res.body);
    return String(res.json().access_token);
  }

  before(async () => {
    // A 50 ms client-record cache, so an update is seen after a short wait.
    h = await startHarness({ 'reload-interval': '0.05s' });
    await add({ id: 'app', grants: ['client_credentials'], audience: ['orders-api'] });
    await add({
      id: 'app-opaque',
      grants: ['client_credentials'],
      audience: ['orders-api'],
      tokenFormat: 'opaque',
    });
    // Same audience, no permission: before issue 12 #5 this alone let it read every orders-api token.
    await add({ id: 'peer', grants: ['client_credentials'], audience: ['orders-api'] });
    await add({
      id: 'orders-rs',
      grants: ['client_credentials'],
      audience: ['orders-api'],
      introspectAudiences: ['orders-api'],
    });
    await add({
      id: 'billing-rs',
      grants: ['client_credentials'],
      audience: ['billing-api'],
      introspectAudiences: ['billing-api'],
    });
    const key = await makeClientKey();
    await add({
      id: 'login',
      grants: [JWT_BEARER_GRANT, 'refresh_token'],
      audience: ['orders-api'],
      jwks: key.jwks,
    });
    appJwt = await issue('app');
    appOpaque = await issue('app-opaque');
    const assertion = await signAssertion(key, { iss: 'login', sub: 'user-7', aud: h.url });
    const res = await h.post(
      '/oauth/token',
      { grant_type: JWT_BEARER_GRANT, assertion },
      { authorization: auth.login! },
    );
    assert.equal(res.status, 200, res.body);
    refreshToken = String(res.json().refresh_token);
    loginAccess = String(res.json().access_token);
  });
  after(() => h.close());

  it('attack: a co-audience client scanning another client’s JWT and opaque tokens learns nothing', async () => {
    for (const token of [appJwt, appOpaque, loginAccess]) {
      assert.deepEqual(await introspect('peer', token), { active: false });
      // A resource server registered for another audience: nothing either.
      assert.deepEqual(await introspect('billing-rs', token), { active: false });
    }
  });

  it('the issued client and a resource server with the permission for the audience see access tokens as Bearer', async () => {
    for (const [owner, token] of [
      ['app', appJwt],
      ['app-opaque', appOpaque],
    ] as const) {
      const own = await introspect(owner, token);
      assert.equal(own.active, true);
      assert.equal(own.token_type, 'Bearer');
      assert.equal(own.client_id, owner);
      const rs = await introspect('orders-rs', token);
      assert.equal(rs.active, true);
      assert.equal(rs.token_type, 'Bearer');
      assert.equal(rs.aud, 'orders-api');
    }
  });

  it('attack: another client with the same audience (even one holding the permission) cannot introspect a refresh token', async () => {
    for (const as of ['peer', 'orders-rs', 'app']) {
      assert.deepEqual(await introspect(as, refreshToken), { active: false });
      assert.deepEqual(await introspect(as, refreshToken, 'refresh_token'), { active: false });
    }
    const own = await introspect('login', refreshToken);
    assert.equal(own.active, true);
    assert.equal(own.token_type, 'refresh_token');
    assert.equal(own.client_id, 'login');
    assert.equal(own.sub, 'user-7');
    assert.equal(own.aud, undefined);
  });

  it('a permission granted by update takes effect, and removing it takes it away', async () => {
    const { ctx } = h.server;
    assert.deepEqual(await introspect('peer', appJwt), { active: false });
    await updateClient(ctx.store, 'peer', { introspectAudiences: ['orders-api'] }, ctx.config);
    await sleep(80);
    assert.equal((await introspect('peer', appJwt)).active, true);
    await updateClient(ctx.store, 'peer', { introspectAudiences: [] }, ctx.config);
    await sleep(80);
    assert.deepEqual(await introspect('peer', appJwt), { active: false });
  });
});
