/**
 * A user disabled or deleted after signing in: the `sub` revocation entry (`tessera users disable|delete`)
 * stops every access token issued to them until then, wherever the server itself judges a token
 * (introspection, JWT and opaque alike), not only at verifiers that follow the revocation feed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../oauth/harness.js';
import { deleteUser, disableUser } from '../../src/users/users.js';
import {
  addCodeClient,
  createUser,
  getCode,
  redeem,
  signIn,
  startOidcHarness,
  type CodeClient,
} from './helpers.js';

let h: Harness;
let jwtApp: CodeClient;
let opaqueApp: CodeClient;
before(async () => {
  h = await startOidcHarness();
  jwtApp = await addCodeClient(h, 'jwt-app');
  opaqueApp = await addCodeClient(h, 'opaque-app', { tokenFormat: 'opaque' });
});
after(() => h?.close());

async function accessToken(client: CodeClient, userId: string): Promise<string> {
  const user = await h.server.ctx.store.getUser(userId);
  const { code, verifier, params } = await getCode(h, client, await signIn(h, user!));
  const res = await redeem(h, client, { code, code_verifier: verifier, redirect_uri: params.redirect_uri! });
  assert.equal(res.status, 200, res.body);
  return res.json().access_token as string;
}

async function active(client: CodeClient, token: string): Promise<boolean> {
  const basic = `Basic ${Buffer.from(`${client.record.id}:${client.secret}`).toString('base64')}`;
  const res = await h.post('/oauth/introspect', { token }, { authorization: basic });
  assert.equal(res.status, 200, res.body);
  return res.json().active as boolean;
}

const LIMITS = { maxAccessTtl: 3600 };

describe('introspection after the user is disabled or deleted', () => {
  it('disable: the JWT and the opaque token issued before are inactive', async () => {
    const user = await createUser(h);
    const jwt = await accessToken(jwtApp, user.id);
    const opaque = await accessToken(opaqueApp, user.id);
    assert.equal(await active(jwtApp, jwt), true);
    assert.equal(await active(opaqueApp, opaque), true);
    await disableUser(h.server.ctx.store, user.id, LIMITS, h.server.ctx.clock());
    assert.equal(await active(jwtApp, jwt), false);
    assert.equal(await active(opaqueApp, opaque), false);
  });

  it('delete: the same', async () => {
    const user = await createUser(h);
    const jwt = await accessToken(jwtApp, user.id);
    const opaque = await accessToken(opaqueApp, user.id);
    await deleteUser(h.server.ctx.store, user.id, LIMITS, h.server.ctx.clock());
    assert.equal(await active(jwtApp, jwt), false);
    assert.equal(await active(opaqueApp, opaque), false);
  });

  it("another user's tokens stay active", async () => {
    const kept = await createUser(h);
    const gone = await createUser(h);
    const jwt = await accessToken(jwtApp, kept.id);
    await disableUser(h.server.ctx.store, gone.id, LIMITS, h.server.ctx.clock());
    assert.equal(await active(jwtApp, jwt), true);
  });
});
