/**
 * The sign-in page offers every way in under one "or": the password form, the passkey button (when the
 * issuer allows passkeys) and one button per identity provider, whichever way the page was reached.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../oauth/harness.js';

const dividers = (body: string) => body.match(/class="divider"/g)?.length ?? 0;

describe('sign-in page: the other ways in', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      issuer: 'http://localhost:7999',
      'rate-limit-client': '0',
      'rate-limit-ip': '0',
    });
  });
  after(() => h.close());

  it('with passkeys only, the passkey section brings its own divider', async () => {
    const res = await h.server.app.inject({ method: 'GET', url: '/signin' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /Sign in with a passkey/);
    assert.equal(dividers(res.body), 1);
  });

  it('with passkeys and a provider, one divider above both, on a fresh page and after a failed password', async () => {
    await h.server.ctx.store.createIdentityProvider({
      id: 'corp',
      name: 'Corp SSO',
      issuer: 'http://127.0.0.1:9',
      clientId: 'tessera',
      encryptedClientSecret: '{}',
      scope: ['openid'],
      claimsMap: '{}',
      allowedDomains: [],
      createdAt: Date.now(),
    });
    const fresh = await h.server.app.inject({ method: 'GET', url: '/signin' });
    assert.match(fresh.body, /Sign in with a passkey/);
    assert.match(fresh.body, /Continue with Corp SSO/);
    assert.equal(dividers(fresh.body), 1);
    const cookie = String(fresh.headers['set-cookie'] ?? '')
      .split(/,(?=\s*\w+=)/)
      .map((c) => c.split(';')[0]!.trim())
      .join('; ');
    const csrf = /name="csrf" value="([^"]+)"/.exec(fresh.body)![1]!;
    const failed = await h.server.app.inject({
      method: 'POST',
      url: '/signin',
      headers: {
        cookie,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://localhost:7999',
      },
      payload: new URLSearchParams({
        csrf,
        username: 'nobody@example.com',
        password: 'wrong password',
      }).toString(),
    });
    assert.equal(failed.statusCode, 401, failed.body);
    assert.match(failed.body, /Sign in with a passkey/);
    assert.match(failed.body, /Continue with Corp SSO/);
    assert.equal(dividers(failed.body), 1);
  });
});
