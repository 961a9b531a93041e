/**
 * Property test: no malformed request to the OAuth endpoints ever gets a 500. Random and structured-but-wrong
 * form bodies, content types and Authorization headers go through fastify.inject.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import { basic, makeClientKey, signAssertion, startHarness, type Harness } from './harness.js';

const PARAMS = [
  'grant_type',
  'scope',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'assertion',
  'refresh_token',
  'token',
  'token_type_hint',
];
const VALUES = [
  'client_credentials',
  JWT_BEARER_GRANT,
  'refresh_token',
  'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  'svc',
  'a.b.c',
  'eyJhbGciOiJub25lIn0.e30.',
  '%',
  '%ZZ',
  '',
];

const printable = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);

describe('no malformed request gets a 500', () => {
  let h: Harness;
  let goodAuth: string;
  let assertion: string;

  before(async () => {
    h = await startHarness({ 'rate-limit-client': '0', 'rate-limit-ip': '0' });
    const key = await makeClientKey();
    const { secret } = await h.addClient({
      id: 'svc',
      grants: ['client_credentials', JWT_BEARER_GRANT, 'refresh_token'],
      jwks: key.jwks,
      tokenFormat: 'opaque',
    });
    goodAuth = basic('svc', secret!);
    assertion = await signAssertion(key, { iss: 'svc', sub: 'u', aud: h.url });
  });
  after(() => h.close());

  const value = () =>
    fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 60 }), fc.constant(assertion));
  const structuredBody = () =>
    fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), fc.string({ maxLength: 20 })), value()), {
        maxLength: 8,
      })
      .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
  const rawBody = () =>
    fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.constantFrom('=', '&&&', 'a=%', '%%%', 'grant_type', '=x', 'x'.repeat(70_000)),
    );
  const authorization = () =>
    fc.oneof(
      fc.constant(undefined),
      fc.constant('__good__'),
      printable,
      printable.map((s) => `Basic ${s}`),
      fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
      fc.constantFrom('Basic', 'Basic ', 'Basic ====', 'Basic Og==', 'Basic c3ZjOg==', 'Bearer x'),
    );
  const contentType = () =>
    fc.oneof(
      fc.constant('application/x-www-form-urlencoded'),
      fc.constantFrom(
        'application/x-www-form-urlencoded; charset=utf-8',
        'application/json',
        'text/plain',
        'multipart/form-data; boundary=x',
        undefined,
      ),
      printable,
    );

  for (const path of ['/oauth/token', '/oauth/introspect', '/oauth/revoke']) {
    it(`${path}: status < 500 for any body and headers`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(structuredBody(), rawBody()),
          authorization(),
          contentType(),
          async (body, auth, type) => {
            const headers: Record<string, string> = {};
            if (type !== undefined) headers['content-type'] = type;
            if (auth !== undefined) headers.authorization = auth === '__good__' ? goodAuth : auth;
            const res = await h.server.app.inject({ method: 'POST', url: path, payload: body, headers });
            assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
            const parsed: unknown = res.body === '' ? {} : JSON.parse(res.body);
            assert.equal(typeof parsed, 'object');
          },
        ),
        { numRuns: 250 },
      );
    });
  }

  it('GET /oauth/revocations: status < 500 for any query', async () => {
    await fc.assert(
      fc.asyncProperty(printable, authorization(), async (query, auth) => {
        const headers: Record<string, string> = {};
        if (auth !== undefined) headers.authorization = auth === '__good__' ? goodAuth : auth;
        const res = await h.server.app.inject({
          method: 'GET',
          url: `/oauth/revocations?${encodeURI(query)}`,
          headers,
        });
        assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
      }),
      { numRuns: 150 },
    );
  });
});
