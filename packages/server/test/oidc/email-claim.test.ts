/**
 * `email` and `email_verified` in access tokens of the code grant (and their refreshes): only when the
 * client's allowlist names `email` AND the user granted the `email` scope. An app behind `tessera proxy`
 * shows and authorises on the email without a userinfo call; nobody else gets it by default.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../oauth/harness.js';
import { addCodeClient, createUser, getCode, redeem, signIn, startOidcHarness } from '../oidc/helpers.js';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describe('email in access tokens', () => {
  let h: Harness;
  before(async () => {
    h = await startOidcHarness();
  });
  after(() => h.close());

  async function accessToken(allowedClaims: string[], scope: string, emailVerified = true) {
    const id = `c${Math.random().toString(36).slice(2, 8)}`;
    const client = await addCodeClient(h, id, { allowedClaims });
    const user = await createUser(h, { emailVerified });
    const browser = await signIn(h, user);
    const { code, verifier, params } = await getCode(h, client, browser, { scope });
    const res = await redeem(h, client, {
      code,
      code_verifier: verifier,
      redirect_uri: params['redirect_uri']!,
    });
    assert.equal(res.status, 200, res.body);
    const body = res.json();
    return {
      user,
      client,
      claims: claimsOf(body['access_token'] as string),
      refresh: body['refresh_token'] as string,
    };
  }

  it('carries email and email_verified when the client allows email and the scope was granted', async () => {
    const { user, claims } = await accessToken(['email'], 'openid email');
    assert.equal(claims['email'], user.email);
    assert.equal(claims['email_verified'], true);
    const unverified = await accessToken(['email'], 'openid email', false);
    assert.equal(unverified.claims['email_verified'], false);
  });

  it('carries no email without the scope, or without the client allowing it', async () => {
    assert.equal((await accessToken(['email'], 'openid')).claims['email'], undefined);
    assert.equal((await accessToken([], 'openid email')).claims['email'], undefined);
    assert.equal((await accessToken(['tenant_id'], 'openid email')).claims['email'], undefined);
  });

  it('keeps the email on refresh', async () => {
    const { user, client, refresh } = await accessToken(['email'], 'openid email');
    const res = await h.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: refresh },
      { authorization: `Basic ${Buffer.from(`${client.record.id}:${client.secret!}`).toString('base64')}` },
    );
    assert.equal(res.status, 200, res.body);
    assert.equal(claimsOf(res.json()['access_token'] as string)['email'], user.email);
  });
});
