/**
 * Token, introspection and revocation endpoints in-process (fastify.inject): RFC 6749 §5.2 errors, client
 * authentication edge cases, assertion rules, the claims policy and rate limits.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pino from 'pino';
import { isOpaqueTokenShape, OPAQUE_ACCESS_TOKEN_PREFIX } from '@tessera/jwt';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import { checkClaims } from '../../src/oauth/claims-policy.js';
import { parseBasicAuth } from '../../src/oauth/client-auth.js';
import {
  basic,
  makeClientKey,
  signAssertion,
  startHarness,
  type ClientKey,
  type Harness,
} from './harness.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('token endpoint errors (RFC 6749 §5.2)', () => {
  let h: Harness;
  let svc: { id: string; secret: string };
  let auth: string;

  before(async () => {
    h = await startHarness();
    const created = await h.addClient({
      id: 'svc',
      grants: ['client_credentials'],
      scope: ['read', 'write'],
      audience: ['api'],
    });
    svc = { id: created.id, secret: created.secret! };
    auth = basic(svc.id, svc.secret);
  });
  after(() => h.close());

  const cases: [string, string, Record<string, string>, number, string][] = [
    ['missing grant_type', '', {}, 400, 'invalid_request'],
    [
      'duplicate parameter',
      'grant_type=client_credentials&grant_type=client_credentials',
      {},
      400,
      'invalid_request',
    ],
    ['duplicate scope', 'grant_type=client_credentials&scope=read&scope=write', {}, 400, 'invalid_request'],
    ['unknown grant', 'grant_type=password', {}, 400, 'unsupported_grant_type'],
    [
      'grant not registered',
      `grant_type=${encodeURIComponent(JWT_BEARER_GRANT)}`,
      {},
      400,
      'unauthorized_client',
    ],
    ['scope outside the client scope', 'grant_type=client_credentials&scope=admin', {}, 400, 'invalid_scope'],
    ['malformed scope', 'grant_type=client_credentials&scope=%22x', {}, 400, 'invalid_scope'],
  ];
  for (const [name, body, , status, error] of cases) {
    it(name, async () => {
      const res = await h.post('/oauth/token', body, { authorization: auth });
      assert.equal(res.status, status);
      assert.equal(res.json().error, error);
      assert.equal(res.headers['cache-control'], 'no-store');
    });
  }

  it('no credentials, wrong secret and unknown client are 401 invalid_client with WWW-Authenticate', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: basic(svc.id, 'wrong') },
      { authorization: basic('ghost', svc.secret) },
    ];
    for (const headers of attempts) {
      const res = await h.post('/oauth/token', { grant_type: 'client_credentials' }, headers);
      assert.equal(res.status, 401);
      assert.equal(res.json().error, 'invalid_client');
      assert.match(String(res.headers['www-authenticate']), /^Basic realm=/);
    }
  });

  it('mixing authentication methods is invalid_request', async () => {
    const res = await h.post(
      '/oauth/token',
      { grant_type: 'client_credentials', client_id: svc.id, client_secret: svc.secret },
      { authorization: auth },
    );
    assert.equal(res.status, 400);
    assert.equal(res.json().error, 'invalid_request');
    const mixed = await h.post('/oauth/token', {
      grant_type: 'client_credentials',
      client_id: svc.id,
      client_secret: svc.secret,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: 'x.y.z',
    });
    assert.equal(mixed.json().error, 'invalid_request');
  });

  it('client_id in the body must match the Basic id', async () => {
    const res = await h.post(
      '/oauth/token',
      { grant_type: 'client_credentials', client_id: 'other' },
      { authorization: auth },
    );
    assert.equal(res.json().error, 'invalid_request');
  });

  it('Basic credentials are form-urlencoded (RFC 6749 §2.3.1)', () => {
    const header = `Basic ${Buffer.from('my%3Aclient:s%2Bcret+x').toString('base64')}`;
    assert.deepEqual(parseBasicAuth(header), { clientId: 'my:client', secret: 's+cret x' });
  });

  it('a JSON body is refused as invalid_request, never a 500', async () => {
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/json', authorization: auth },
      payload: '{"grant_type":"client_credentials"}',
    });
    assert.equal(res.statusCode, 400);
    assert.equal(JSON.parse(res.body).error, 'invalid_request');
  });

  it('the default scope is the client scope; the token counts in metrics', async () => {
    const res = await h.post('/oauth/token', { grant_type: 'client_credentials' }, { authorization: auth });
    assert.equal(res.status, 200);
    assert.equal(res.json().scope, 'read write');
    assert.equal(res.headers.pragma, 'no-cache');
    const metrics = await h.server.ctx.metrics.render();
    assert.match(metrics, /tessera_tokens_issued_total\{grant="client_credentials",result="success"\} \d+/);
    assert.match(metrics, /tessera_tokens_issued_total\{grant="other",result="unsupported_grant_type"\} 1/);
  });

  it('access-token lifetime is capped by the server maximum; opaque tokens are stored only as a hash', async () => {
    const record = (await h.server.ctx.store.getClient('svc'))!;
    // Written straight to the store: `clients create` refuses a TTL above the maximum.
    await h.server.ctx.store.createClient({ ...record, id: 'long-lived', accessTtl: 7200 });
    await h.server.ctx.store.createClient({ ...record, id: 'opaque', tokenFormat: 'opaque' });
    const long = await h.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic('long-lived', svc.secret) },
    );
    assert.equal(long.json().expires_in, 3600);
    const opaque = await h.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic('opaque', svc.secret) },
    );
    const token = String(opaque.json().access_token);
    assert.ok(isOpaqueTokenShape(token, OPAQUE_ACCESS_TOKEN_PREFIX), token);
    assert.equal(await h.server.ctx.store.getOpaqueToken(token), undefined);
    const stored = await h.server.ctx.store.getOpaqueToken(createHash('sha256').update(token).digest('hex'));
    assert.equal(stored?.clientId, 'opaque');
  });

  it('the revocation feed validates since and limit and pages', async () => {
    const get = (q: string, a = auth) =>
      h.server.app.inject({ url: `/oauth/revocations${q}`, headers: { authorization: a } });
    assert.equal((await get('?since=-1')).statusCode, 400);
    assert.equal((await get('?limit=abc')).statusCode, 400);
    assert.equal((await get('?since=0', basic(svc.id, 'nope'))).statusCode, 401);
    for (let i = 0; i < 3; i++) {
      const token = (
        await h.post('/oauth/token', { grant_type: 'client_credentials' }, { authorization: auth })
      ).json();
      await h.post('/oauth/revoke', { token: String(token.access_token) }, { authorization: auth });
    }
    const page1 = JSON.parse((await get('?since=0&limit=2')).body);
    assert.equal(page1.entries.length, 2);
    assert.equal(page1.more, true);
    const page2 = JSON.parse((await get(`?since=${page1.cursor}&limit=2`)).body);
    assert.equal(page2.entries.length, 1);
    assert.equal(page2.more, false);
    const ahead = JSON.parse((await get('?since=999')).body);
    assert.equal(ahead.reset, true);
    assert.deepEqual(ahead.entries, []);
  });
});

describe('client assertions and jwt-bearer grants (RFC 7523)', () => {
  let h: Harness;
  let key: ClientKey;
  let tokenEndpoint: string;

  before(async () => {
    h = await startHarness();
    key = await makeClientKey();
    await h.addClient({
      id: 'pkj',
      grants: ['client_credentials'],
      authMethod: 'private_key_jwt',
      jwks: key.jwks,
    });
    await h.addClient({
      id: 'login',
      grants: [JWT_BEARER_GRANT, 'refresh_token'],
      authMethod: 'private_key_jwt',
      jwks: key.jwks,
      allowedClaims: ['tenant_id', 'nick'],
    });
    tokenEndpoint = `${h.url}/oauth/token`;
  });
  after(() => h.close());

  const clientAuth = async (claims: Record<string, unknown>, expiresIn?: number) => ({
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: await signAssertion(
      key,
      { iss: 'pkj', sub: 'pkj', aud: tokenEndpoint, ...claims },
      { expiresIn },
    ),
  });

  it('accepts the issuer as audience', async () => {
    const res = await h.post('/oauth/token', {
      grant_type: 'client_credentials',
      ...(await clientAuth({ aud: h.url })),
    });
    assert.equal(res.status, 200);
  });

  for (const [name, claims, expiresIn] of [
    ['wrong audience', { aud: 'https://elsewhere.example' }, undefined],
    ['sub not the client', { sub: 'someone' }, undefined],
    ['exp too far ahead', {}, 3600],
    ['expired', {}, -120],
    ['no jti', { jti: undefined }, undefined],
  ] as const) {
    it(`refuses a client assertion: ${name}`, async () => {
      const res = await h.post('/oauth/token', {
        grant_type: 'client_credentials',
        ...(await clientAuth(claims, expiresIn)),
      });
      assert.equal(res.status, 401);
      assert.equal(res.json().error, 'invalid_client');
    });
  }

  it('refuses an assertion signed by another key', async () => {
    const other = await makeClientKey();
    const assertion = await signAssertion(
      { ...other, kid: key.kid },
      { iss: 'pkj', sub: 'pkj', aud: tokenEndpoint },
    );
    const res = await h.post('/oauth/token', {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
    });
    assert.equal(res.status, 401);
  });

  it('jwt-bearer: a replayed grant assertion is invalid_grant', async () => {
    const assertion = await signAssertion(key, { iss: 'login', sub: 'user-1', aud: tokenEndpoint });
    const authn = async () => ({
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await signAssertion(key, { iss: 'login', sub: 'login', aud: tokenEndpoint }),
    });
    const form = { grant_type: JWT_BEARER_GRANT, assertion };
    const ok = await h.post('/oauth/token', { ...form, ...(await authn()) });
    assert.equal(ok.status, 200);
    assert.ok(ok.json().refresh_token);
    const replay = await h.post('/oauth/token', { ...form, ...(await authn()) });
    assert.equal(replay.status, 400);
    assert.equal(replay.json().error, 'invalid_grant');
  });

  it('jwt-bearer: a missing assertion is invalid_request; an assertion for another client is invalid_grant', async () => {
    const authn = {
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await signAssertion(key, { iss: 'login', sub: 'login', aud: tokenEndpoint }),
    };
    const missing = await h.post('/oauth/token', { grant_type: JWT_BEARER_GRANT, ...authn });
    assert.equal(missing.json().error, 'invalid_request');
    const foreign = await signAssertion(key, { iss: 'pkj', sub: 'user-1', aud: tokenEndpoint });
    const authn2 = {
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await signAssertion(key, { iss: 'login', sub: 'login', aud: tokenEndpoint }),
    };
    const res = await h.post('/oauth/token', { grant_type: JWT_BEARER_GRANT, assertion: foreign, ...authn2 });
    assert.equal(res.json().error, 'invalid_grant');
  });
});

describe('claims policy at issuance', () => {
  let h: Harness;
  let key: ClientKey;

  before(async () => {
    h = await startHarness({ 'claims-max-bytes': '200', 'claims-warn-bytes': '100' });
    key = await makeClientKey();
    const created = await h.addClient({
      id: 'login',
      grants: [JWT_BEARER_GRANT],
      jwks: key.jwks,
      allowedClaims: ['tenant_id', 'notes', 'profile'],
    });
    secret = created.secret!;
    // A record written straight to the store (not through `clients create`, which refuses these names).
    const record = (await h.server.ctx.store.getClient('login'))!;
    await h.server.ctx.store.createClient({
      ...record,
      id: 'legacy',
      allowedClaims: ['client_id', 'scope', 'tenant_id'],
    });
  });
  after(() => h.close());
  let secret: string;

  const grant = async (client: string, claims: Record<string, unknown>) =>
    h.post(
      '/oauth/token',
      {
        grant_type: JWT_BEARER_GRANT,
        assertion: await signAssertion(key, { iss: client, sub: 'user-1', aud: h.url, ...claims }),
      },
      { authorization: basic(client, secret) },
    );

  it('passes allowed claims within the limits', async () => {
    const res = await grant('login', { tenant_id: 't1', notes: 'short' });
    assert.equal(res.status, 200);
  });

  it('warns above claims-warn-bytes with sizes and names, never values', async () => {
    const lines: string[] = [];
    const original = h.server.ctx.log;
    h.server.ctx.log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    try {
      const value = 'v'.repeat(120);
      const res = await grant('login', { notes: value });
      assert.equal(res.status, 200);
      const warning = lines.find((l) => l.includes('large custom claims'));
      assert.ok(warning, lines.join('\n'));
      assert.match(warning, /"claims":\["notes"\]/);
      assert.ok(!warning.includes(value));
    } finally {
      h.server.ctx.log = original;
    }
  });

  it('refuses claims above claims-max-bytes', async () => {
    const res = await grant('login', { notes: 'x'.repeat(300) });
    assert.equal(res.status, 400);
    assert.equal(res.json().error, 'invalid_grant');
    assert.match(String(res.json().error_description), /above the limit of 200/);
  });

  it('refuses sensitive-looking values, naming where without echoing them', async () => {
    const card = '4111111111111111';
    const res = await grant('login', { notes: card });
    assert.equal(res.status, 400);
    assert.equal(res.json().error, 'invalid_grant');
    assert.match(String(res.json().error_description), /notes \(card-number\)/);
    assert.ok(!res.body.includes(card));
    const nested = await grant('login', { profile: { password: 'hunter2' } });
    assert.equal(nested.json().error, 'invalid_grant');
    assert.ok(!nested.body.includes('hunter2'));
  });

  it('custom claims can never override registered ones', async () => {
    // 'legacy' shares the secret hash of 'login' (copied record).
    const res = await h.post(
      '/oauth/token',
      {
        grant_type: JWT_BEARER_GRANT,
        assertion: await signAssertion(key, { iss: 'legacy', sub: 'user-1', aud: h.url, client_id: 'admin' }),
      },
      { authorization: basic('legacy', secret) },
    );
    assert.equal(res.status, 400);
    assert.equal(res.json().error, 'invalid_grant');
    assert.match(String(res.json().error_description), /cannot override registered claims \(client_id\)/);
    assert.deepEqual(checkClaims({ iss: 'evil', sub: 'root' }, { maxBytes: 4096 }), {
      ok: false,
      reason: 'custom claims cannot override registered claims (iss, sub)',
    });
  });
});

describe('rate limits', () => {
  let h: Harness;
  let auth: string;

  before(async () => {
    h = await startHarness({ 'rate-limit-client': '3', 'rate-limit-ip': '5' });
    const { id, secret } = await h.addClient({ id: 'svc', grants: ['client_credentials'] });
    auth = basic(id, secret!);
  });
  after(() => h.close());

  it('per client: 429 slow_down with Retry-After after the limit', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await h.post('/oauth/token', { grant_type: 'client_credentials' }, { authorization: auth });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.equal(last!.json().error, 'slow_down');
    assert.ok(Number(last!.headers['retry-after']) >= 1);
  });

  it('fails open when the rate-limit store errors', async () => {
    const original = h.server.ctx.ephemeral;
    h.server.ctx.ephemeral = { ...original, hit: () => Promise.reject(new Error('redis down')) };
    try {
      const res = await h.post('/oauth/token', { grant_type: 'client_credentials' }, { authorization: auth });
      assert.equal(res.status, 200);
    } finally {
      h.server.ctx.ephemeral = original;
    }
  });

  it('per IP: unauthenticated requests count too', async () => {
    // 4 token requests above used 4 of the IP's 5; introspection has its own windows.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await h.post('/oauth/introspect', { token: 'x' })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
  });
});
