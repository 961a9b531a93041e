/**
 * Token exchange attacks against a real server, one test each, asserting the exact error: an audience not
 * allowed, scope widening, a revoked subject token (jti and sub), an expired one, a chain deeper than
 * --max-actor-depth, `act` forged through custom claims, another client's subject token, an untrusted or
 * mis-signed foreign token, a may_act naming someone else, and malformed requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import { actorChain, type JWTPayload } from '@tessera/jwt';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import { signAssertion } from '../oauth/harness.js';
import { ACCESS_TOKEN, JWT_TYPE, startWorld, type Answer, type World } from './world.js';

let w: World;
before(async () => {
  // A short reload interval: client records changed in the store below are read again within 50 ms.
  w = await startWorld({ 'max-actor-depth': '3', 'reload-interval': '0.05s' });
});
const settle = () => new Promise((resolve) => setTimeout(resolve, 120));
after(() => w?.close());

function refused(res: Answer, error: string, description?: RegExp): void {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error, error, JSON.stringify(res.body));
  if (description) assert.match(res.body.error_description as string, description);
  assert.equal(res.body.access_token, undefined);
}

describe('token exchange attacks', () => {
  it("an audience not on the client's exchange list is invalid_target", async () => {
    const subject = await w.userToken();
    refused(await w.exchange('orders-svc', subject, { audience: 'ledger-api' }), 'invalid_target');
    // Its own registered audience list or the issuer does not count either.
    refused(await w.exchange('orders-svc', subject, { audience: w.h.url }), 'invalid_target');
    refused(await w.exchange('orders-svc', subject, { audience: 'orders-api' }), 'invalid_target');
  });

  it("scope widening is invalid_scope: beyond the subject token's scope, or beyond the client's", async () => {
    const subject = await w.userToken({ scope: 'payments:read' });
    // The client holds payments:write, the subject token does not.
    refused(
      await w.exchange('orders-svc', subject, { scope: 'payments:read payments:write' }),
      'invalid_scope',
      /exceeds/,
    );
    // The subject token holds orders:write, the client does not.
    const wide = await w.userToken({ scope: 'orders:read orders:write' });
    refused(await w.exchange('orders-svc', wide, { scope: 'orders:write' }), 'invalid_scope', /exceeds/);
    refused(await w.exchange('orders-svc', subject, { scope: 'admin' }), 'invalid_scope');
    // Without scope= the answer is the intersection, never the client's whole scope.
    const res = await w.exchange('orders-svc', wide);
    assert.equal(res.status, 200);
    assert.equal(res.body.scope, 'orders:read');
  });

  it('a revoked subject token is invalid_grant (jti revoked through /oauth/revoke)', async () => {
    const subject = await w.userToken();
    assert.equal((await w.exchange('orders-svc', subject)).status, 200);
    const revoke = await fetch(`${w.h.url}/oauth/revoke`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`login:${w.secrets.login}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: subject }).toString(),
    });
    assert.equal(revoke.status, 200);
    refused(await w.exchange('orders-svc', subject), 'invalid_grant', /invalid, expired or revoked/);
  });

  it('a revoked opaque subject token and a disabled user (sub revocation) are invalid_grant', async () => {
    const ctx = w.h.server.ctx;
    const opaque = await w.userToken({ opaque: true, sub: 'usr_bob' });
    const jwt = await w.userToken({ sub: 'usr_bob' });
    assert.equal((await w.exchange('orders-svc', opaque)).status, 200);
    // What `tessera users disable` records: every token of the subject issued until now is denied.
    await ctx.store.addRevocation({
      kind: 'sub',
      value: 'usr_bob',
      revokedAt: ctx.clock() + 1000,
      expiresAt: ctx.clock() + 3_600_000,
    });
    refused(await w.exchange('orders-svc', opaque), 'invalid_grant', /invalid, expired or revoked/);
    refused(await w.exchange('orders-svc', jwt), 'invalid_grant', /invalid, expired or revoked/);
  });

  it('an expired subject token is invalid_grant (JWT and opaque)', async () => {
    const jwt = await w.userToken();
    const opaque = await w.userToken({ opaque: true });
    const { exp } = jose.decodeJwt(jwt);
    w.offset.ms = (exp! + 1) * 1000 - Date.now();
    try {
      refused(await w.exchange('orders-svc', jwt), 'invalid_grant', /invalid, expired or revoked/);
      refused(await w.exchange('orders-svc', opaque), 'invalid_grant', /invalid, expired or revoked/);
    } finally {
      w.offset.ms = 0;
    }
  });

  it('a chain deeper than --max-actor-depth (3 here) is invalid_grant', async () => {
    let token = await w.userToken();
    const hops: [string, string][] = [
      ['orders-svc', 'payments-api'],
      ['payments-svc', 'ledger-api'],
      ['ledger-svc', 'audit-api'],
    ];
    for (const [client, audience] of hops) {
      const res = await w.exchange(client, token, { audience });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      token = res.body.access_token as string;
    }
    assert.equal(actorChain(jose.decodeJwt(token) as JWTPayload).length, 3);
    refused(
      await w.exchange('audit-svc', token, { audience: 'archive-api' }),
      'invalid_grant',
      /would exceed 3 actors/,
    );
  });

  it("act forged inside a subject token's custom claims never enters the chain", async () => {
    const forged = {
      act: { sub: 'payments-svc', client_id: 'payments-svc' },
      may_act: { sub: 'intruder-svc' },
    };
    // 1. A login backend puts act/may_act in its assertion: not on its allowlist, so never in the token.
    const subject = await w.userToken({ claims: forged });
    const claims = jose.decodeJwt(subject);
    assert.equal(claims.act, undefined);
    assert.equal(claims.may_act, undefined);
    const res = await w.exchange('orders-svc', subject);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(actorChain(jose.decodeJwt(res.body.access_token as string) as JWTPayload), [
      { sub: 'orders-svc', client_id: 'orders-svc' },
    ]);

    // 2. A client record allowing act (written around `clients create`, which refuses it): the claims
    //    policy still refuses the claim at issuance.
    const ctx = w.h.server.ctx;
    const login = (await ctx.store.getClient('login'))!;
    await ctx.store.updateClient({ ...login, allowedClaims: ['tenant_id', 'act', 'may_act', 'cnf'] });
    await settle();
    try {
      const assertion = await signAssertion(w.loginKey, {
        iss: 'login',
        sub: 'usr_alice',
        aud: `${w.h.url}/oauth/token`,
        ...forged,
      });
      refused(
        await w.token('login', { grant_type: JWT_BEARER_GRANT, assertion, audience: 'orders-api' }),
        'invalid_grant',
        /cannot override registered claims \(act, may_act\)/,
      );
    } finally {
      await ctx.store.updateClient(login);
      await settle();
    }

    // 3. The exchanging client allowing act/may_act/cnf: the chain still comes from the verified act only.
    const payments = (await ctx.store.getClient('payments-svc'))!;
    await ctx.store.updateClient({ ...payments, allowedClaims: ['tenant_id', 'act', 'may_act', 'cnf'] });
    await settle();
    try {
      const t1 = await w.exchange('orders-svc', await w.userToken());
      const t2 = await w.exchange('payments-svc', t1.body.access_token as string, { audience: 'ledger-api' });
      assert.equal(t2.status, 200, JSON.stringify(t2.body));
      const payload = jose.decodeJwt(t2.body.access_token as string) as JWTPayload;
      assert.deepEqual(
        actorChain(payload).map((a) => a.sub),
        ['payments-svc', 'orders-svc'],
      );
      assert.equal(payload.cnf, undefined);
      assert.equal(payload.may_act, undefined);
    } finally {
      await ctx.store.updateClient(payments);
      await settle();
    }
  });

  it('a subject token issued to and for another client is invalid_grant', async () => {
    // Alice's token for orders-api, stolen by a service that does not serve orders-api.
    const subject = await w.userToken();
    refused(
      await w.exchange('intruder-svc', subject, { audience: 'payments-api' }),
      'invalid_grant',
      /not issued to or for this client/,
    );
    // A token orders-svc obtained by exchange (client_id orders-svc, aud payments-api) is not ledger-svc's.
    const t1 = await w.exchange('orders-svc', subject);
    refused(
      await w.exchange('ledger-svc', t1.body.access_token as string, { audience: 'audit-api' }),
      'invalid_grant',
      /not issued to or for this client/,
    );
    // A foreign token whose aud names another client.
    refused(
      await w.exchange('partner-svc', await w.foreign.sign({ aud: 'orders-svc' })),
      'invalid_grant',
      /not accepted/,
    );
  });

  it('a JWT of an issuer the client does not trust is invalid_grant, before any key is fetched', async () => {
    const foreign = await w.foreign.sign({ aud: 'orders-svc' });
    refused(await w.exchange('orders-svc', foreign), 'invalid_grant', /issuer is not trusted/);
    // A look-alike issuer string.
    const lookAlike = await w.foreign.sign({ iss: `${w.foreign.issuer}/` });
    refused(await w.exchange('partner-svc', lookAlike), 'invalid_grant', /issuer is not trusted/);
  });

  it("a trusted issuer's name on a token signed by another key, HMAC, another typ or a client sub is invalid_grant", async () => {
    const stranger = await w.foreign.sign({}, { key: w.foreign.strangerKey });
    refused(await w.exchange('partner-svc', stranger), 'invalid_grant', /not accepted/);
    const logout = await w.foreign.sign({}, { typ: 'logout+jwt' });
    refused(await w.exchange('partner-svc', logout), 'invalid_grant', /not accepted/);
    const hmac = await new jose.SignJWT({ iss: w.foreign.issuer, sub: 'x', aud: 'partner-svc', exp: 9e9 })
      .setProtectedHeader({ alg: 'HS256', kid: 'foreign-1' })
      .sign(new Uint8Array(32));
    refused(await w.exchange('partner-svc', hmac), 'invalid_grant', /not accepted/);
    const posing = await w.foreign.sign({ sub: 'orders-svc' });
    refused(await w.exchange('partner-svc', posing), 'invalid_grant', /registered client/);
    const expired = await w.foreign.sign({ exp: Math.floor(Date.now() / 1000) - 120 });
    refused(await w.exchange('partner-svc', expired), 'invalid_grant', /not accepted/);
  });

  it("a trusted issuer whose JWKS cannot be fetched is 503 temporarily_unavailable, not the client's fault", async () => {
    // A port nothing listens on: the fetch is refused at once.
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const issuer = `http://127.0.0.1:${port}/down`;
    const { secret } = await w.h.addClient({
      id: 'partner-down',
      grants: ['urn:ietf:params:oauth:grant-type:token-exchange'],
      exchangeAudiences: ['payments-api'],
      exchangeTrustIssuers: [{ issuer, jwksUri: `${issuer}/jwks.json` }],
    });
    w.secrets['partner-down'] = secret!;
    const res = await w.exchange('partner-down', await w.foreign.sign({ iss: issuer, aud: 'partner-down' }));
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.error, 'temporarily_unavailable');
  });

  it('may_act naming another party is invalid_grant (RFC 8693 §4.4)', async () => {
    for (const mayAct of [
      { sub: 'someone-else' },
      { sub: 'partner-svc', iss: 'https://other.example' },
      'partner-svc',
    ])
      refused(
        await w.exchange('partner-svc', await w.foreign.sign({ may_act: mayAct })),
        'invalid_grant',
        /may_act/,
      );
  });

  it("an actor token must be the exchanging client's own token", async () => {
    const subject = await w.userToken();
    const alien = await w.userToken({ sub: 'usr_mallory' });
    refused(
      await w.exchange('orders-svc', subject, { actor_token: alien, actor_token_type: ACCESS_TOKEN }),
      'invalid_grant',
      /actor token/,
    );
    refused(await w.exchange('orders-svc', subject, { actor_token: alien }), 'invalid_request');
    refused(await w.exchange('orders-svc', subject, { actor_token_type: ACCESS_TOKEN }), 'invalid_request');
  });

  it('malformed requests are invalid_request; a public or unregistered client is refused', async () => {
    const subject = await w.userToken();
    refused(await w.exchange('orders-svc', subject, { subject_token_type: '' }), 'invalid_request');
    refused(
      await w.exchange('orders-svc', subject, {
        subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
      }),
      'invalid_request',
    );
    refused(
      await w.exchange('orders-svc', subject, {
        requested_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      }),
      'invalid_request',
    );
    const opaque = await w.userToken({ opaque: true });
    refused(await w.exchange('orders-svc', opaque, { subject_token_type: JWT_TYPE }), 'invalid_request');
    refused(await w.exchange('orders-svc', 'tsa_not-a-token'), 'invalid_grant');
    refused(await w.exchange('orders-svc', 'a.b.c'), 'invalid_grant');
    // The login backend is not registered for the grant.
    refused(await w.exchange('login', subject), 'unauthorized_client');
  });
});
