/**
 * Refresh-token rotation: concurrency (exactly one of N wins, the rest count as reuse), idle and absolute
 * lifetimes under a controlled clock, binding to the client, and the revocation publish seam.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import { REVOCATION_CHANNEL } from '../../src/oauth/revocation-feed.js';
import {
  basic,
  makeClientKey,
  signAssertion,
  startHarness,
  type ClientKey,
  type Harness,
} from './harness.js';

describe('refresh token rotation', () => {
  let h: Harness;
  let key: ClientKey;
  let auth: string;
  let otherAuth: string;
  let now = Date.now();

  before(async () => {
    h = await startHarness({ 'rate-limit-client': '0', 'rate-limit-ip': '0' }, { clock: () => now });
    key = await makeClientKey();
    const login = await h.addClient({
      id: 'login',
      grants: [JWT_BEARER_GRANT, 'refresh_token'],
      jwks: key.jwks,
      refreshIdleTtl: 3600,
      refreshAbsoluteTtl: 3 * 3600,
    });
    auth = basic('login', login.secret!);
    const other = await h.addClient({
      id: 'other',
      grants: [JWT_BEARER_GRANT, 'refresh_token'],
      jwks: key.jwks,
    });
    otherAuth = basic('other', other.secret!);
  });
  after(() => h.close());

  async function login(sub = 'user-1'): Promise<string> {
    const assertion = await signAssertion(key, {
      iss: 'login',
      sub,
      aud: h.url,
      iat: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + 60,
    });
    const res = await h.post(
      '/oauth/token',
      { grant_type: JWT_BEARER_GRANT, assertion },
      { authorization: auth },
    );
    assert.equal(res.status, 200, res.body);
    return String(res.json().refresh_token);
  }
  const refresh = (token: string, a = auth) =>
    h.post('/oauth/token', { grant_type: 'refresh_token', refresh_token: token }, { authorization: a });

  it('of 10 concurrent uses of one token exactly one succeeds; the family is then dead', async () => {
    const token = await login();
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(token)));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1);
    for (const r of results.filter((r) => r.status !== 200)) assert.equal(r.json().error, 'invalid_grant');
    assert.equal((await refresh(String(ok[0]!.json().refresh_token))).status, 400);
  });

  it('a refresh token is bound to its client: another client neither uses nor burns it', async () => {
    const token = await login();
    const stolen = await refresh(token, otherAuth);
    assert.equal(stolen.json().error, 'invalid_grant');
    assert.equal((await refresh(token)).status, 200);
  });

  it('idle lifetime: unused for longer than refreshIdleTtl fails', async () => {
    const token = await login();
    now += 3601_000;
    assert.equal((await refresh(token)).json().error, 'invalid_grant');
  });

  it('absolute lifetime: rotation never extends the family beyond it', async () => {
    let token = await login();
    for (let i = 0; i < 3; i++) {
      now += 50 * 60_000;
      const res = await refresh(token);
      assert.equal(res.status, 200, res.body);
      token = String(res.json().refresh_token);
    }
    // 3 × 50 min = 150 min < 180 min: still alive; 40 more minutes crosses the absolute expiry.
    now += 40 * 60_000;
    assert.equal((await refresh(token)).json().error, 'invalid_grant');
  });

  it('scope on refresh may narrow, never widen', async () => {
    const token = await login();
    const wider = await h.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: token, scope: 'admin' },
      { authorization: auth },
    );
    assert.equal(wider.json().error, 'invalid_scope');
  });
});

describe('revocation publish seam', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('publishes each new deny-list entry on tessera:revocations when a publisher is present', async () => {
    const messages: [string, string][] = [];
    Object.assign(h.server.ctx, {
      revocationPublisher: { publish: async (c: string, m: string) => void messages.push([c, m]) },
    });
    const { id, secret } = await h.addClient({ id: 'svc', grants: ['client_credentials'] });
    const auth = basic(id, secret!);
    const token = String(
      (await h.post('/oauth/token', { grant_type: 'client_credentials' }, { authorization: auth })).json()
        .access_token,
    );
    assert.equal((await h.post('/oauth/revoke', { token }, { authorization: auth })).status, 200);
    assert.equal(messages.length, 1);
    const [channel, text] = messages[0]!;
    assert.equal(channel, REVOCATION_CHANNEL);
    const entry = JSON.parse(text);
    assert.equal(entry.type, 'jti');
    assert.deepEqual(Object.keys(entry).sort(), ['exp', 'revoked_at', 'seq', 'type', 'value']);

    // A failing publisher never fails the revocation: verifiers catch up from the pull feed.
    Object.assign(h.server.ctx, {
      revocationPublisher: { publish: async () => Promise.reject(new Error('redis down')) },
    });
    const token2 = String(
      (await h.post('/oauth/token', { grant_type: 'client_credentials' }, { authorization: auth })).json()
        .access_token,
    );
    assert.equal((await h.post('/oauth/revoke', { token: token2 }, { authorization: auth })).status, 200);
  });
});
