/**
 * Issue 13 in-process (fastify.inject): one audience per token (RFC 8707 `resource`, and `audience`) on
 * every grant, and 405 with `Allow` for a wrong method on an endpoint that exists.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeJWT } from '@tessera/jwt';
import { parseForm } from '../../src/oauth/form.js';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import {
  basic,
  makeClientKey,
  signAssertion,
  startHarness,
  type ClientKey,
  type Harness,
} from './harness.js';

const ORDERS = 'https://orders.example';
const BILLING = 'https://billing.example';

describe('one audience per token (RFC 8707)', () => {
  let h: Harness;
  let key: ClientKey;
  let multi: string;
  let single: string;
  let none: string;
  let opaque: string;
  let login: string;

  before(async () => {
    h = await startHarness();
    key = await makeClientKey();
    const add = async (id: string, audience: string[], extra: Record<string, unknown> = {}) => {
      const { secret } = await h.addClient({ id, grants: ['client_credentials'], audience, ...extra });
      return basic(id, secret!);
    };
    multi = await add('multi', [ORDERS, BILLING, 'reports']);
    single = await add('single', [ORDERS]);
    none = await add('none', []);
    opaque = await add('opaque', [ORDERS, BILLING], { tokenFormat: 'opaque' });
    const created = await h.addClient({
      id: 'login',
      grants: [JWT_BEARER_GRANT, 'refresh_token'],
      jwks: key.jwks,
      audience: [ORDERS, BILLING],
    });
    login = basic('login', created.secret!);
  });
  after(() => h.close());

  const token = (authorization: string, form: Record<string, string> | string = {}) =>
    h.post(
      '/oauth/token',
      typeof form === 'string'
        ? `grant_type=client_credentials&${form}`
        : { grant_type: 'client_credentials', ...form },
      { authorization },
    );
  const aud = (res: { json: () => Record<string, unknown> }) =>
    decodeJWT(String(res.json().access_token)).payload.aud;

  it('a client with several audiences that names none gets invalid_target telling it to name one', async () => {
    const res = await token(multi);
    assert.equal(res.status, 400, res.body);
    assert.equal(res.json().error, 'invalid_target');
    assert.match(
      String(res.json().error_description),
      /name one with the "resource" or "audience" parameter/,
    );
  });

  it('resource or audience picks exactly one registered audience, carried as a string', async () => {
    assert.equal(aud(await token(multi, { resource: BILLING })), BILLING);
    assert.equal(aud(await token(multi, { audience: ORDERS })), ORDERS);
    assert.equal(aud(await token(multi, { audience: 'reports' })), 'reports');
    assert.equal(aud(await token(multi, { resource: ORDERS, audience: ORDERS })), ORDERS);
  });

  it('the same resource repeated is one audience; two distinct resources are invalid_target', async () => {
    const same = await token(
      multi,
      `resource=${encodeURIComponent(ORDERS)}&resource=${encodeURIComponent(ORDERS)}`,
    );
    assert.equal(same.status, 200, same.body);
    assert.equal(aud(same), ORDERS);
    const two = await token(
      multi,
      `resource=${encodeURIComponent(ORDERS)}&resource=${encodeURIComponent(BILLING)}`,
    );
    assert.equal(two.status, 400);
    assert.equal(two.json().error, 'invalid_target');
  });

  for (const [name, form] of [
    ['an unregistered resource', { resource: 'https://payroll.example' }],
    ['an unregistered audience', { audience: 'payroll' }],
    ['a relative resource', { resource: 'orders' }],
    ['a resource with a fragment', { resource: `${ORDERS}#x` }],
    ['resource and audience that disagree', { resource: ORDERS, audience: BILLING }],
  ] as const) {
    it(`${name} is invalid_target`, async () => {
      const res = await token(multi, form);
      assert.equal(res.status, 400, res.body);
      assert.equal(res.json().error, 'invalid_target');
    });
  }

  it('a client with one audience gets it by default; with none, the issuer as before', async () => {
    assert.equal(aud(await token(single)), ORDERS);
    assert.equal(aud(await token(none)), h.url);
    assert.equal(aud(await token(none, { resource: h.url })), h.url);
    assert.equal((await token(none, { resource: ORDERS })).json().error, 'invalid_target');
    assert.equal((await token(single, { audience: BILLING })).json().error, 'invalid_target');
  });

  it('opaque tokens carry the one audience too (introspection answers it as a string)', async () => {
    const res = await token(opaque, { resource: BILLING });
    assert.equal(res.status, 200, res.body);
    const introspected = await h.post(
      '/oauth/introspect',
      { token: String(res.json().access_token) },
      { authorization: opaque },
    );
    assert.equal(introspected.json().aud, BILLING);
  });

  it('jwt-bearer and refresh: one audience each; a refresh may narrow to another of the client audiences', async () => {
    const assertion = await signAssertion(key, { iss: 'login', sub: 'user-1', aud: h.url });
    const noTarget = await h.post(
      '/oauth/token',
      { grant_type: JWT_BEARER_GRANT, assertion },
      { authorization: login },
    );
    assert.equal(noTarget.json().error, 'invalid_target');

    const first = await h.post(
      '/oauth/token',
      {
        grant_type: JWT_BEARER_GRANT,
        assertion: await signAssertion(key, { iss: 'login', sub: 'user-1', aud: h.url }),
        resource: ORDERS,
      },
      { authorization: login },
    );
    assert.equal(first.status, 200, first.body);
    assert.equal(aud(first), ORDERS);

    const refreshToken = String(first.json().refresh_token);
    const wrong = await h.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: refreshToken, resource: 'https://payroll.example' },
      { authorization: login },
    );
    assert.equal(wrong.json().error, 'invalid_target');
    // Checked before the rotation: the refresh token was not burnt.
    const narrowed = await h.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: refreshToken, audience: BILLING },
      { authorization: login },
    );
    assert.equal(narrowed.status, 200, narrowed.body);
    assert.equal(aud(narrowed), BILLING);
  });

  it('resource may repeat in the form; any other parameter still may not (RFC 6749 §3.2)', () => {
    fc.assert(
      fc.property(fc.array(fc.webUrl(), { minLength: 1, maxLength: 5 }), (urls) => {
        const body = urls.map((u) => `resource=${encodeURIComponent(u)}`).join('&');
        assert.deepEqual(parseForm(`grant_type=x&${body}`).getAll('resource'), urls);
        assert.throws(() => parseForm(`audience=a&${body}&audience=b`), /included more than once/);
      }),
    );
  });
});

describe('wrong methods on existing endpoints: 405 with Allow (issue 13)', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const cases: [string, string, string][] = [
    ['GET', '/oauth/token', 'POST'],
    ['PUT', '/oauth/token', 'POST'],
    ['GET', '/oauth/introspect', 'POST'],
    ['GET', '/oauth/revoke', 'POST'],
    ['DELETE', '/oauth/revoke', 'POST'],
    ['POST', '/oauth/revocations', 'GET, HEAD'],
    ['POST', '/.well-known/jwks.json', 'GET, HEAD'],
    ['POST', '/.well-known/oauth-authorization-server', 'GET, HEAD'],
    ['POST', '/.well-known/openid-configuration', 'GET, HEAD'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['POST', '/readyz', 'GET, HEAD'],
    ['POST', '/metrics', 'GET, HEAD'],
    ['POST', '/debugger', 'GET, HEAD'],
    ['POST', '/debugger/jwks.json', 'GET, HEAD'],
    ['PATCH', '/debugger/lint/index.js', 'GET, HEAD'],
  ];
  for (const [method, url, allow] of cases) {
    it(`${method} ${url} is 405 with Allow: ${allow} and an OAuth error body`, async () => {
      const res = await h.server.app.inject({
        method: method as 'GET',
        url,
        // An odd body must not turn the answer into a content-type error: the method is checked first.
        ...(method === 'GET' ? {} : { headers: { 'content-type': 'text/plain' }, payload: 'x' }),
      });
      assert.equal(res.statusCode, 405, res.body);
      assert.equal(res.headers.allow, allow);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = JSON.parse(res.body) as Record<string, unknown>;
      assert.equal(body.error, 'invalid_request');
      assert.match(String(body.error_description), /method not allowed/);
    });
  }

  it('the right methods still work, HEAD included, and unknown paths stay 404', async () => {
    assert.equal(
      (await h.server.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).statusCode,
      200,
    );
    assert.equal(
      (await h.server.app.inject({ method: 'HEAD', url: '/.well-known/jwks.json' })).statusCode,
      200,
    );
    assert.equal((await h.post('/oauth/token', { grant_type: 'client_credentials' })).status, 401);
    for (const [method, url] of [
      ['GET', '/oauth/nope'],
      ['POST', '/oauth/tokens'],
      ['GET', '/.well-known/jwks'],
    ] as const) {
      const res = await h.server.app.inject({ method, url });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.equal(res.headers.allow, undefined);
    }
  });
});
