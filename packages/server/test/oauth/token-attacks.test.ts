/**
 * Issue 12 in-process (fastify.inject): the opaque token format, scope escalation through scope-like
 * claims and blank scopes, assertion edges (RFC 7523, draft-ietf-oauth-rfc7523bis), the revocation feed's
 * rate limits and the constant cost of an unknown client id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  decodeJWT,
  isOpaqueTokenShape,
  OPAQUE_ACCESS_TOKEN_PREFIX,
  OPAQUE_REFRESH_TOKEN_PREFIX,
} from '@tessera/jwt';
import { main } from '../../src/cli/main.js';
import { checkClaims } from '../../src/oauth/claims-policy.js';
import { secretMatches, type SecretCheckPrimitives } from '../../src/oauth/client-auth.js';
import { equalHex, hashClientSecret, hashToken, randomToken } from '../../src/oauth/crypto.js';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import {
  basic,
  makeClientKey,
  signAssertion,
  startHarness,
  type ClientKey,
  type Harness,
} from './harness.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('opaque token format (tsa_ / tsr_)', () => {
  let h: Harness;
  let key: ClientKey;
  let opaqueAuth: string;
  let loginAuth: string;

  before(async () => {
    h = await startHarness();
    key = await makeClientKey();
    const opaque = await h.addClient({
      id: 'opaque',
      grants: ['client_credentials'],
      tokenFormat: 'opaque',
      scope: ['read'],
    });
    opaqueAuth = basic('opaque', opaque.secret!);
    const login = await h.addClient({
      id: 'login',
      grants: [JWT_BEARER_GRANT, 'refresh_token'],
      jwks: key.jwks,
    });
    loginAuth = basic('login', login.secret!);
  });
  after(() => h.close());

  it('opaque access tokens are tsa_ tokens a secret scanner and the SDK shape check recognise', async () => {
    const res = await h.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: opaqueAuth },
    );
    assert.equal(res.status, 200);
    const token = String(res.json().access_token);
    assert.ok(token.startsWith('tsa_'), token);
    assert.ok(isOpaqueTokenShape(token, OPAQUE_ACCESS_TOKEN_PREFIX));
    assert.ok(!isOpaqueTokenShape(token, OPAQUE_REFRESH_TOKEN_PREFIX));
    const introspected = await h.post('/oauth/introspect', { token }, { authorization: opaqueAuth });
    assert.equal(introspected.json().active, true);
  });

  it('refresh tokens are tsr_ tokens, at login and at every rotation', async () => {
    const assertion = await signAssertion(key, { iss: 'login', sub: 'user-1', aud: h.url });
    const first = await h.post(
      '/oauth/token',
      { grant_type: JWT_BEARER_GRANT, assertion },
      { authorization: loginAuth },
    );
    assert.equal(first.status, 200, first.body);
    const refreshToken = String(first.json().refresh_token);
    assert.ok(isOpaqueTokenShape(refreshToken, OPAQUE_REFRESH_TOKEN_PREFIX), refreshToken);
    const rotated = await h.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: refreshToken },
      { authorization: loginAuth },
    );
    assert.equal(rotated.status, 200, rotated.body);
    assert.ok(isOpaqueTokenShape(String(rotated.json().refresh_token), OPAQUE_REFRESH_TOKEN_PREFIX));
  });

  it('a token minted before the prefix still works at the server: lookups are by hash', async () => {
    const legacy = randomToken(32); // the old format: 43 base64url characters
    const now = h.server.ctx.clock();
    await h.server.ctx.store.insertOpaqueToken({
      hash: hashToken(legacy),
      clientId: 'opaque',
      sub: 'opaque',
      scope: ['read'],
      audience: [h.url],
      claims: '{}',
      jti: 'legacy-jti',
      issuedAt: now,
      expiresAt: now + 60_000,
    });
    const res = await h.post('/oauth/introspect', { token: legacy }, { authorization: opaqueAuth });
    assert.equal(res.json().active, true);
    assert.equal(res.json().jti, 'legacy-jti');
  });
});

describe('scope escalation through scope-like claims and blank scopes', () => {
  let h: Harness;
  let key: ClientKey;
  let secret: string;

  before(async () => {
    h = await startHarness();
    key = await makeClientKey();
    const created = await h.addClient({
      id: 'login',
      grants: [JWT_BEARER_GRANT, 'client_credentials'],
      jwks: key.jwks,
      scope: ['read'],
      allowedClaims: ['tenant_id'],
    });
    secret = created.secret!;
    // A record written straight to the store, as a registration from before the rule would be.
    const record = (await h.server.ctx.store.getClient('login'))!;
    await h.server.ctx.store.createClient({
      ...record,
      id: 'legacy',
      allowedClaims: ['scp', 'roles', 'permissions', 'groups', 'entitlements', 'tenant_id'],
    });
  });
  after(() => h.close());

  for (const name of ['scp', 'roles', 'permissions', 'groups', 'entitlements']) {
    it(`registration refuses "${name}" as a pass-through claim`, async () => {
      await assert.rejects(
        h.addClient({ id: `c-${name}`, grants: [JWT_BEARER_GRANT], jwks: key.jwks, allowedClaims: [name] }),
        new RegExp(`"${name}" is a registered claim`),
      );
    });

    it(`a jwt-bearer assertion carrying "${name}" gets no token (claims policy at issuance)`, async () => {
      const assertion = await signAssertion(key, {
        iss: 'legacy',
        sub: 'user-1',
        aud: h.url,
        [name]: name === 'scp' ? 'admin write' : ['admin'],
      });
      const res = await h.post(
        '/oauth/token',
        { grant_type: JWT_BEARER_GRANT, assertion },
        { authorization: basic('legacy', secret) },
      );
      assert.equal(res.status, 400);
      assert.equal(res.json().error, 'invalid_grant');
      assert.match(String(res.json().error_description), new RegExp(`registered claims \\(${name}\\)`));
    });
  }

  it('checkClaims refuses scp beside an allowed claim', () => {
    assert.deepEqual(checkClaims({ tenant_id: 't1', scp: ['admin'] }, { maxBytes: 4096 }), {
      ok: false,
      reason: 'custom claims cannot override registered claims (scp)',
    });
  });

  it('tessera clients create --claims scp fails with a clear message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-scp-'));
    try {
      let err = '';
      const stderr = new PassThrough();
      stderr.on('data', (d) => (err += String(d)));
      const code = await main(
        [
          'clients',
          'create',
          '--id',
          'svc',
          '--grants',
          'client_credentials',
          '--claims',
          'tenant_id,scp',
          '--init',
          '--data-dir',
          dir,
        ],
        { stdout: new PassThrough(), stderr, stdin: new PassThrough(), env: {} },
      );
      assert.equal(code, 1);
      assert.match(err, /"scp" is a registered claim and cannot be passed through/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [name, scope] of [
    ['a single space', ' '],
    ['several spaces', '   '],
  ] as const) {
    it(`a whitespace-only scope (${name}) is invalid_scope, never a token without scope`, async () => {
      const res = await h.post(
        '/oauth/token',
        { grant_type: 'client_credentials', scope },
        { authorization: basic('login', secret) },
      );
      assert.equal(res.status, 400, res.body);
      assert.equal(res.json().error, 'invalid_scope');
    });
  }

  it('an empty scope= is absent (RFC 6749 §3.1): the client scope, not an empty one', async () => {
    const res = await h.post('/oauth/token', 'grant_type=client_credentials&scope=', {
      authorization: basic('login', secret),
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json().scope, 'read');
  });
});

describe('assertion edges (RFC 7523, draft-ietf-oauth-rfc7523bis)', () => {
  let h: Harness;
  let key: ClientKey;
  let tokenEndpoint: string;

  before(async () => {
    h = await startHarness();
    key = await makeClientKey();
    await h.addClient({
      id: 'login',
      grants: [JWT_BEARER_GRANT],
      authMethod: 'private_key_jwt',
      jwks: key.jwks,
    });
    await h.addClient({ id: 'billing', grants: ['client_credentials'] });
    tokenEndpoint = `${h.url}/oauth/token`;
  });
  after(() => h.close());

  const clientAssertion = (claims: Record<string, unknown> = {}) =>
    signAssertion(key, { iss: 'login', sub: 'login', aud: tokenEndpoint, ...claims });

  it('jwt-bearer: a sub that is a registered client id is invalid_grant (no service-token lookalike)', async () => {
    for (const sub of ['billing', 'login']) {
      const res = await h.post('/oauth/token', {
        grant_type: JWT_BEARER_GRANT,
        assertion: await signAssertion(key, { iss: 'login', sub, aud: tokenEndpoint }),
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await clientAssertion(),
      });
      assert.equal(res.status, 400, res.body);
      assert.equal(res.json().error, 'invalid_grant');
      assert.match(String(res.json().error_description), /registered client/);
    }
    const user = await h.post('/oauth/token', {
      grant_type: JWT_BEARER_GRANT,
      assertion: await signAssertion(key, { iss: 'login', sub: 'user-1', aud: tokenEndpoint }),
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await clientAssertion(),
    });
    assert.equal(user.status, 200, user.body);
  });

  it('one JWT as both client_assertion and assertion is refused', async () => {
    const both = await clientAssertion();
    const res = await h.post('/oauth/token', {
      grant_type: JWT_BEARER_GRANT,
      assertion: both,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: both,
    });
    assert.equal(res.status, 400, res.body);
    assert.equal(res.json().error, 'invalid_grant');
  });

  it('a jti spent as client assertion cannot be spent again as grant assertion, nor the other way', async () => {
    const jti = crypto.randomUUID();
    const res = await h.post('/oauth/token', {
      grant_type: JWT_BEARER_GRANT,
      assertion: await signAssertion(key, { iss: 'login', sub: 'user-1', aud: tokenEndpoint, jti }),
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await clientAssertion({ jti }),
    });
    assert.equal(res.status, 400, res.body);
    assert.equal(res.json().error, 'invalid_grant');
    assert.match(String(res.json().error_description), /already been used/);

    const grantFirst = crypto.randomUUID();
    const ok = await h.post('/oauth/token', {
      grant_type: JWT_BEARER_GRANT,
      assertion: await signAssertion(key, {
        iss: 'login',
        sub: 'user-1',
        aud: tokenEndpoint,
        jti: grantFirst,
      }),
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await clientAssertion(),
    });
    assert.equal(ok.status, 200, ok.body);
    const again = await h.post('/oauth/token', {
      grant_type: JWT_BEARER_GRANT,
      assertion: await signAssertion(key, { iss: 'login', sub: 'user-1', aud: tokenEndpoint }),
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await clientAssertion({ jti: grantFirst }),
    });
    assert.equal(again.status, 401, again.body);
    assert.equal(again.json().error, 'invalid_client');
  });

  for (const [name, aud] of [
    ['the token endpoint and another server', () => [tokenEndpoint, 'https://other.example/token']],
    ['the issuer and the token endpoint', () => [h.url, tokenEndpoint]],
    ['the token endpoint with a trailing slash', () => `${tokenEndpoint}/`],
    ['an empty array', () => []],
  ] as const) {
    it(`a client assertion whose aud is ${name} is invalid_client (audience injection)`, async () => {
      const res = await h.post('/oauth/token', {
        grant_type: JWT_BEARER_GRANT,
        assertion: await signAssertion(key, { iss: 'login', sub: 'user-1', aud: tokenEndpoint }),
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await clientAssertion({ aud: aud() }),
      });
      assert.equal(res.status, 401, res.body);
      assert.equal(res.json().error, 'invalid_client');
    });
  }

  it('a client assertion whose aud is one value (string or one-element array) is accepted', async () => {
    for (const aud of [tokenEndpoint, h.url, [tokenEndpoint], [h.url]]) {
      const res = await h.post('/oauth/token', {
        grant_type: JWT_BEARER_GRANT,
        assertion: await signAssertion(key, { iss: 'login', sub: 'user-1', aud: tokenEndpoint }),
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await clientAssertion({ aud }),
      });
      assert.equal(res.status, 200, `${JSON.stringify(aud)}: ${res.body}`);
      assert.equal(decodeJWT(String(res.json().access_token)).payload.sub, 'user-1');
    }
  });
});

describe('revocation feed rate limits', () => {
  let h: Harness;
  let id: string;
  let secret: string;

  before(async () => {
    h = await startHarness({ 'rate-limit-client': '3', 'rate-limit-ip': '10' });
    const created = await h.addClient({ id: 'api', grants: ['client_credentials'] });
    id = created.id;
    secret = created.secret!;
  });
  after(() => h.close());

  const feed = (authorization: string, ip = '127.0.0.1') =>
    h.server.app.inject({ url: '/oauth/revocations?since=0', headers: { authorization }, remoteAddress: ip });

  it('50 wrong secrets in a row get 429 slow_down with Retry-After before the end (per IP)', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 50; i++) {
      last = await feed(basic(id, `wrong-${i}`), '192.0.2.1');
      statuses.push(last.statusCode);
    }
    assert.deepEqual(statuses.slice(0, 10), new Array(10).fill(401));
    assert.deepEqual(statuses.slice(10), new Array(40).fill(429));
    assert.equal(JSON.parse(last!.body).error, 'slow_down');
    assert.ok(Number(last!.headers['retry-after']) >= 1);
  });

  it('per client: a client reading the feed too often gets 429, from any address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await feed(basic(id, secret), `198.51.100.${i}`)).statusCode);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
  });
});

describe('timing: an unknown client id costs what a wrong secret costs', () => {
  const pepper = Buffer.alloc(32, 7);

  /** The real primitives, counted: every path must run one keyed hash and one compare of 32-byte digests. */
  function counted() {
    const calls = { hash: 0, equal: 0, lengths: [] as number[] };
    const primitives: SecretCheckPrimitives = {
      hash: (p, s) => {
        calls.hash++;
        return hashClientSecret(p, s);
      },
      equal: (a, b) => {
        calls.equal++;
        calls.lengths.push(a.length, b.length);
        return equalHex(a, b);
      },
    };
    return { calls, primitives };
  }

  it('an unknown id and a client without a secret run the same HMAC and constant-time compare', () => {
    const stored = hashClientSecret(pepper, 'right');
    const previous = hashClientSecret(pepper, 'old');
    const cases: [string, string | null | undefined, string | undefined, string, boolean][] = [
      ['right secret', stored, undefined, 'right', true],
      ['wrong secret', stored, undefined, 'wrong', false],
      ['unknown id', undefined, undefined, 'right', false],
      ['client without a secret', null, undefined, 'right', false],
      ['previous secret in its grace period', stored, previous, 'old', true],
      ['wrong secret in a grace period', stored, previous, 'wrong', false],
    ];
    for (const [name, storedHash, previousHash, secret, expected] of cases) {
      const { calls, primitives } = counted();
      assert.equal(secretMatches(pepper, secret, storedHash, previousHash, primitives), expected, name);
      assert.deepEqual(calls, { hash: 1, equal: 2, lengths: [64, 64, 64, 64] }, name);
    }
  });

  it('the dummy hash never matches, whatever the secret', () => {
    for (const secret of ['', '0', 'right', '0'.repeat(64)]) {
      assert.equal(secretMatches(pepper, secret, undefined), false);
      assert.equal(secretMatches(pepper, secret, null), false);
    }
  });

  it('unknown ids are answered from the client cache like known ones (no store-query oracle)', async () => {
    const h = await startHarness();
    try {
      const { secret } = await h.addClient({ id: 'svc', grants: ['client_credentials'] });
      const store = h.server.ctx.store;
      const original = store.getClient.bind(store);
      let reads = 0;
      store.getClient = (id: string) => {
        reads++;
        return original(id);
      };
      try {
        for (const id of ['svc', 'ghost']) {
          const before = reads;
          for (let i = 0; i < 5; i++) {
            const res = await h.post(
              '/oauth/token',
              { grant_type: 'client_credentials' },
              { authorization: basic(id, `${secret}x`) },
            );
            assert.equal(res.status, 401);
          }
          assert.equal(reads - before, 1, `${id}: one store read, then the cache`);
        }
      } finally {
        store.getClient = original;
      }
    } finally {
      await h.close();
    }
  });
});
