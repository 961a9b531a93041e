/**
 * Token exchange (RFC 8693) happy paths against a real server: a JWT and an opaque user token exchanged for a
 * downstream audience, a chain of three services, a trusted foreign issuer; each result verified with `jose`
 * and with the SDK (createVerifier + actorChain). Also: the response shape, the audit event, metadata, the
 * DPoP seam and the client settings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as jose from 'jose';
import { actorChain, createVerifier, type JWTPayload } from '@tessera/jwt';
import { createClient, ClientValidationError } from '../../src/oauth/clients.js';
import { runGrant } from '../../src/oauth/grants/index.js';
import { parseForm } from '../../src/oauth/form.js';
import { ACCESS_TOKEN, JWT_TYPE, startWorld, TOKEN_EXCHANGE_GRANT, type World } from './world.js';

let w: World;
let jwks: ReturnType<typeof jose.createRemoteJWKSet>;
before(async () => {
  w = await startWorld({ 'max-actor-depth': '3' });
  jwks = jose.createRemoteJWKSet(new URL(`${w.h.url}/.well-known/jwks.json`));
});
after(() => w?.close());

/** Verify an exchanged token with jose as a resource server for `audience` would. */
async function joseVerify(token: string, audience: string): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    issuer: w.h.url,
    audience,
    typ: 'at+jwt',
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  return payload as JWTPayload;
}

describe('token exchange: a user token for a downstream service', () => {
  it('a JWT subject: a new token for payments-api, sub kept, act names the exchanging client (jose)', async () => {
    const subject = await w.userToken();
    const subjectClaims = jose.decodeJwt(subject);
    // Two minutes later: a fresh token would outlive the subject token by two minutes without the cap.
    w.offset.ms = 120_000;
    let res;
    try {
      res = await w.exchange('orders-svc', subject, { audience: 'payments-api', scope: 'payments:read' });
    } finally {
      w.offset.ms = 0;
    }
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.issued_token_type, ACCESS_TOKEN);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.scope, 'payments:read');
    assert.equal(res.body.refresh_token, undefined);
    const payload = await joseVerify(res.body.access_token as string, 'payments-api');
    assert.equal(payload.sub, 'usr_alice');
    assert.equal(payload.client_id, 'orders-svc');
    assert.deepEqual(payload.act, { sub: 'orders-svc', client_id: 'orders-svc' });
    assert.equal(payload.tenant_id, 't-1');
    assert.equal(payload.scope, 'payments:read');
    // Never outlives the subject token.
    assert.equal(payload.exp, subjectClaims.exp);
    assert.equal(res.body.expires_in, subjectClaims.exp! - payload.iat!);
    assert.deepEqual(actorChain(payload), [{ sub: 'orders-svc', client_id: 'orders-svc' }]);
  });

  it('without scope: the subject scope narrowed to the client, the only exchange audience by default', async () => {
    const subject = await w.userToken({ scope: 'orders:read payments:read' });
    const res = await w.exchange('orders-svc', subject);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.scope, 'orders:read payments:read');
    const payload = await joseVerify(res.body.access_token as string, 'payments-api');
    assert.equal(payload.aud, 'payments-api');
  });

  it('requested_token_type jwt is answered as jwt', async () => {
    const subject = await w.userToken();
    const res = await w.exchange('orders-svc', subject, {
      audience: 'payments-api',
      requested_token_type: JWT_TYPE,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.issued_token_type, JWT_TYPE);
    await joseVerify(res.body.access_token as string, 'payments-api');
  });

  it('an opaque subject token is exchanged too (looked up in the store)', async () => {
    const subject = await w.userToken({ opaque: true });
    assert.ok(subject.startsWith('tsa_'));
    const res = await w.exchange('orders-svc', subject, { audience: 'payments-api' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const payload = await joseVerify(res.body.access_token as string, 'payments-api');
    assert.equal(payload.sub, 'usr_alice');
    assert.equal(payload.tenant_id, 't-1');
    assert.deepEqual(actorChain(payload), [{ sub: 'orders-svc', client_id: 'orders-svc' }]);
  });

  it('a chain of three services: act nests, the current actor outermost (jose and the SDK)', async () => {
    const user = await w.userToken({ scope: 'orders:read payments:read ledger:read audit:read' });
    const t1 = await w.exchange('orders-svc', user, { audience: 'payments-api' });
    assert.equal(t1.status, 200, JSON.stringify(t1.body));
    const t2 = await w.exchange('payments-svc', t1.body.access_token as string, { audience: 'ledger-api' });
    assert.equal(t2.status, 200, JSON.stringify(t2.body));
    const t3 = await w.exchange('ledger-svc', t2.body.access_token as string, {
      audience: 'audit-api',
      scope: 'audit:read',
    });
    assert.equal(t3.status, 200, JSON.stringify(t3.body));
    const token = t3.body.access_token as string;
    const payload = await joseVerify(token, 'audit-api');
    assert.equal(payload.sub, 'usr_alice');
    assert.deepEqual(payload.act, {
      sub: 'ledger-svc',
      client_id: 'ledger-svc',
      act: {
        sub: 'payments-svc',
        client_id: 'payments-svc',
        act: { sub: 'orders-svc', client_id: 'orders-svc' },
      },
    });

    // The SDK as the audit API would use it.
    const verifier = createVerifier({
      algorithms: ['ES256'],
      issuer: w.h.url,
      audience: 'audit-api',
      jwksUri: `${w.h.url}/.well-known/jwks.json`,
      typ: 'at+jwt',
    });
    const { payload: verified } = await verifier.verify(token);
    assert.deepEqual(
      actorChain(verified).map((a) => a.sub),
      ['ledger-svc', 'payments-svc', 'orders-svc'],
    );
    verifier.close();
    const strict = createVerifier({
      algorithms: ['ES256'],
      issuer: w.h.url,
      audience: 'audit-api',
      jwksUri: `${w.h.url}/.well-known/jwks.json`,
      maxActorDepth: 2,
    });
    await assert.rejects(strict.verify(token), { code: 'ERR_JWT_ACTOR_CHAIN_TOO_DEEP' });
    strict.close();

    // Every exchange is audited with its chain.
    const events = (await w.h.server.ctx.store.listAudit(100)).filter((e) => e.type === 'token.exchanged');
    const last = events.find((e) => e.data.jti === payload.jti)!;
    assert.deepEqual(last.data.actors, ['ledger-svc', 'payments-svc', 'orders-svc']);
    assert.equal(last.data.clientId, 'ledger-svc');
    assert.equal(last.data.sub, 'usr_alice');
    assert.equal(last.data.audience, 'audit-api');
    assert.equal(last.data.subjectJti, jose.decodeJwt(t2.body.access_token as string).jti);
    assert.equal(last.data.subjectKind, 'jwt');
    // Nothing in the audit data is a token.
    assert.ok(!JSON.stringify(events).includes(token.split('.')[1]!));
  });

  it('a trusted foreign issuer: its JWT (aud = the client) is exchanged; its actors keep their iss', async () => {
    const subject = await w.foreign.sign({ act: { sub: 'gateway' } });
    const res = await w.exchange('partner-svc', subject, { subject_token_type: JWT_TYPE });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const payload = await joseVerify(res.body.access_token as string, 'payments-api');
    assert.equal(payload.sub, 'ext-user-1');
    assert.equal(payload.iss, w.h.url);
    assert.equal(payload.tenant_id, 't-9');
    assert.equal(payload.scope, 'payments:read');
    assert.deepEqual(actorChain(payload), [
      { sub: 'partner-svc', client_id: 'partner-svc' },
      { sub: 'gateway', iss: w.foreign.issuer },
    ]);
    const events = await w.h.server.ctx.store.listAudit(100);
    const event = events.find((e) => e.type === 'token.exchanged' && e.data.jti === payload.jti)!;
    assert.equal(event.data.subjectKind, 'foreign');
    assert.equal(event.data.subjectIssuer, w.foreign.issuer);
  });

  it('may_act naming the exchanging client allows it (RFC 8693 §4.4)', async () => {
    const subject = await w.foreign.sign({ may_act: { sub: 'partner-svc' } });
    const res = await w.exchange('partner-svc', subject);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('a DPoP key thumbprint from the token endpoint binds the exchanged token (cnf.jkt, token_type DPoP)', async () => {
    const ctx = w.h.server.ctx;
    const client = (await ctx.store.getClient('orders-svc'))!;
    const subject = await w.userToken();
    const form = parseForm(
      new URLSearchParams({
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subject,
        subject_token_type: ACCESS_TOKEN,
      }).toString(),
    );
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const body = await runGrant(ctx, TOKEN_EXCHANGE_GRANT, client, form, { dpop: { jkt } });
    assert.equal(body.token_type, 'DPoP');
    const payload = await joseVerify(body.access_token, 'payments-api');
    assert.deepEqual(payload.cnf, { jkt });
  });

  it('metadata lists the grant type', async () => {
    const res = await fetch(`${w.h.url}/.well-known/oauth-authorization-server`);
    const metadata = (await res.json()) as { grant_types_supported: string[] };
    assert.ok(metadata.grant_types_supported.includes(TOKEN_EXCHANGE_GRANT));
  });
});

describe('token exchange client settings', () => {
  const defaults = { accessTtl: 600, maxAccessTtl: 3600, refreshAbsoluteTtl: 86400, refreshIdleTtl: 3600 };
  const refused = async (options: Parameters<typeof createClient>[1], pattern: RegExp) =>
    assert.rejects(
      createClient(w.h.server.ctx.store, options, defaults, Buffer.alloc(32)),
      (err: unknown) => err instanceof ClientValidationError && pattern.test(err.message),
    );

  it('the grant needs an exchange audience; audiences and trusted issuers need the grant', async () => {
    await refused({ id: 'x1', grants: [TOKEN_EXCHANGE_GRANT] }, /at least one --exchange-audience/);
    await refused(
      { id: 'x2', grants: ['client_credentials'], exchangeAudiences: ['payments-api'] },
      /need the token-exchange grant/,
    );
  });

  it('a public client cannot have the grant', async () => {
    await refused(
      { id: 'x3', grants: [TOKEN_EXCHANGE_GRANT], authMethod: 'none', exchangeAudiences: ['a'] },
      /public client/,
    );
  });

  it('a trusted issuer needs an https JWKS URL (http only on loopback) and appears once', async () => {
    const base = { grants: [TOKEN_EXCHANGE_GRANT], exchangeAudiences: ['payments-api'] };
    await refused(
      {
        id: 'x4',
        ...base,
        exchangeTrustIssuers: [{ issuer: 'https://idp', jwksUri: 'http://idp.example/k' }],
      },
      /must be https/,
    );
    await refused(
      {
        id: 'x5',
        ...base,
        exchangeTrustIssuers: [
          { issuer: 'https://idp', jwksUri: 'https://idp.example/k' },
          { issuer: 'https://idp', jwksUri: 'https://idp.example/k2' },
        ],
      },
      /trusted twice/,
    );
  });

  it('act, may_act and cnf can never be passed-through claims (claims policy)', async () => {
    for (const claim of ['act', 'may_act', 'cnf'])
      await refused(
        { id: `x-${claim}`, grants: ['client_credentials'], allowedClaims: [claim] },
        /registered claim/,
      );
  });
});
