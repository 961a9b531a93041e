import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { recordIntrospection } from '../../src/oauth/observe.js';
import { startServer, type ServerHandle } from '../../src/server/start.js';
import { memoryLogger, tempDir, testConfig } from './helpers.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

async function start(t: TestContext, values: Record<string, string> = {}) {
  const { dir, cleanup } = tempDir();
  const { log, lines } = memoryLogger();
  const server: ServerHandle = await startServer(testConfig(dir, { store: 'memory:', ...values }), { log });
  t.after(async () => {
    await server.close();
    cleanup();
  });
  return { server, lines };
}

for (const [alg, extra] of [
  ['ES256', {}],
  ['EdDSA', {}],
  ['RS256', {}],
  ['PS256', { 'rsa-bits': '3072' }],
] as const) {
  test(`JWKS (${alg}): content type, cache-control, strong ETag, 304, public members only`, async (t) => {
    const { server } = await start(t, { alg, 'jwks-max-age': '120s', ...extra });
    const res = await server.app.inject({ url: '/.well-known/jwks.json' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/jwk-set+json');
    assert.equal(res.headers['cache-control'], 'public, max-age=120');
    const etag = String(res.headers['etag']);
    assert.match(etag, /^"[^"]+"$/, 'strong ETag');
    const body = JSON.parse(res.body);
    assert.equal(body.keys.length, 2);
    for (const jwk of body.keys) {
      for (const m of PRIVATE_MEMBERS) assert.equal(Object.hasOwn(jwk, m), false, `"${m}" in the JWKS`);
      assert.equal(jwk.alg, alg);
      assert.equal(typeof jwk.kid, 'string');
    }
    const again = await server.app.inject({
      url: '/.well-known/jwks.json',
      headers: { 'if-none-match': etag },
    });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    const listed = await server.app.inject({
      url: '/.well-known/jwks.json',
      headers: { 'if-none-match': `"x", W/${etag}` },
    });
    assert.equal(listed.statusCode, 304);
    const stale = await server.app.inject({
      url: '/.well-known/jwks.json',
      headers: { 'if-none-match': '"other"' },
    });
    assert.equal(stale.statusCode, 200);
  });
}

test('metadata: RFC 8414 document on both well-known paths, issuer equals the real URL', async (t) => {
  const { server } = await start(t);
  const a = await server.app.inject({ url: '/.well-known/oauth-authorization-server' });
  const b = await server.app.inject({ url: '/.well-known/openid-configuration' });
  assert.equal(a.statusCode, 200);
  assert.equal(a.body, b.body);
  const md = JSON.parse(a.body);
  assert.equal(md.issuer, server.url);
  assert.equal(md.jwks_uri, `${server.url}/.well-known/jwks.json`);
  assert.equal(md.token_endpoint, `${server.url}/oauth/token`);
  assert.equal(md.introspection_endpoint, `${server.url}/oauth/introspect`);
  assert.equal(md.revocation_endpoint, `${server.url}/oauth/revoke`);
  assert.equal(md.revocation_feed_endpoint, `${server.url}/oauth/revocations`);
  assert.deepEqual(md.grant_types_supported, [
    'authorization_code',
    'client_credentials',
    'urn:ietf:params:oauth:grant-type:jwt-bearer',
    'refresh_token',
    'urn:ietf:params:oauth:grant-type:token-exchange',
  ]);
  assert.deepEqual(md.token_endpoint_auth_methods_supported, [
    'client_secret_basic',
    'client_secret_post',
    'private_key_jwt',
    'none',
  ]);
  assert.ok(md.token_endpoint_auth_signing_alg_values_supported.includes('ES256'));
  assert.ok(!md.token_endpoint_auth_signing_alg_values_supported.includes('none'));
  assert.deepEqual(md.response_types_supported, ['code']);
});

test('healthz, readyz (store ping and a current key), 503 when the store is down', async (t) => {
  const { server } = await start(t);
  assert.equal((await server.app.inject({ url: '/healthz' })).statusCode, 200);
  const ready = await server.app.inject({ url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  assert.equal(JSON.parse(ready.body).status, 'ready');
  const store = server.ctx.store;
  const ping = store.ping.bind(store);
  store.ping = async () => {
    throw new Error('down');
  };
  const down = await server.app.inject({ url: '/readyz' });
  assert.equal(down.statusCode, 503);
  assert.equal(JSON.parse(down.body).checks.store, 'unavailable');
  // Liveness does not depend on the store, and the JWKS keeps being served from memory.
  assert.equal((await server.app.inject({ url: '/healthz' })).statusCode, 200);
  assert.equal((await server.app.inject({ url: '/.well-known/jwks.json' })).statusCode, 200);
  store.ping = ping;
});

test('metrics: introspections are counted per result and format, each pair on its own series', async (t) => {
  const { server } = await start(t);
  recordIntrospection(server.ctx, true, 'jwt');
  recordIntrospection(server.ctx, true, 'jwt');
  recordIntrospection(server.ctx, false, 'opaque');
  const text = (await server.app.inject({ url: '/metrics' })).body;
  assert.match(text, /tessera_introspections_total\{result="active",format="jwt"\} 2/);
  assert.match(text, /tessera_introspections_total\{result="inactive",format="opaque"\} 1/);
  assert.doesNotMatch(text, /tessera_introspections_total\{result="active",format="opaque"\}/);
});

test('metrics: Prometheus text with tokens, latency, keys, reuse, revocations and JWKS requests', async (t) => {
  const { server } = await start(t);
  await server.app.inject({ url: '/.well-known/jwks.json' });
  server.ctx.metrics.tokensIssued.inc({ grant: 'client_credentials', result: 'success' });
  server.ctx.metrics.refreshReuse.inc();
  server.ctx.metrics.revocations.inc({ kind: 'jti' });
  const res = await server.app.inject({ url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  for (const line of [
    /tessera_tokens_issued_total\{grant="client_credentials",result="success"\} 1/,
    /tessera_http_request_duration_seconds_bucket\{.*route="\/.well-known\/jwks.json"/,
    /tessera_keys\{state="current",alg="ES256"\} 1/,
    /tessera_keys\{state="next",alg="ES256"\} 1/,
    /tessera_key_age_seconds\{kid="[^"]+",state="current"\}/,
    /tessera_refresh_reuse_detected_total 1/,
    /tessera_revocations_total\{kind="jti"\} 1/,
    /tessera_jwks_requests_total\{status="200"\} 1/,
  ])
    assert.match(res.body, line);
});

test('malformed requests get 4xx JSON, never 500; unknown paths 404', async (t) => {
  const { server } = await start(t);
  const nf = await server.app.inject({ url: '/nope' });
  assert.equal(nf.statusCode, 404);
  assert.equal(JSON.parse(nf.body).error, 'not_found');
  const cases = [
    {
      method: 'POST' as const,
      url: '/oauth/token',
      headers: { 'content-type': 'application/json' },
      payload: '{bad',
    },
    {
      method: 'POST' as const,
      url: '/oauth/token',
      headers: { 'content-type': 'text/xml' },
      payload: '<a/>',
    },
    {
      method: 'POST' as const,
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a='.padEnd(70 * 1024, 'x'),
    },
  ];
  for (const c of cases) {
    const res = await server.app.inject(c);
    assert.ok(
      res.statusCode >= 400 && res.statusCode < 500,
      `${c.headers['content-type']} → ${res.statusCode}`,
    );
    assert.equal(JSON.parse(res.body).error, 'invalid_request');
  }
});

test('request log lines are built on demand, with reqId, path-only URLs and no credentials', async (t) => {
  const quiet = await start(t);
  await quiet.server.app.inject({ url: '/healthz' });
  assert.deepEqual(
    quiet.lines.filter((l) => l.includes('"reqId"')),
    [],
    'no per-request lines unless debug logging is on',
  );

  const { server, lines } = await start(t, { 'log-level': 'debug' });
  await server.app.inject({
    url: '/healthz?access_token=SECRET-TOKEN',
    headers: { authorization: 'Basic U0VDUkVULVRPS0VO' },
  });
  const requestLines = lines
    .map((l) => JSON.parse(l) as { reqId?: string; req?: { path?: string; url?: string } })
    .filter((l) => l.reqId !== undefined);
  assert.ok(requestLines.length >= 2, 'incoming and completed lines');
  assert.equal(new Set(requestLines.map((l) => l.reqId)).size, 1);
  const incoming = requestLines.find((l) => l.req !== undefined);
  assert.deepEqual(incoming?.req?.path, '/healthz');
  assert.doesNotMatch(lines.join(''), /SECRET-TOKEN|U0VDUkVULVRPS0VO/);
});

test('logs never carry the Authorization header or a query string', async (t) => {
  const { server, lines } = await start(t, { 'log-level': 'debug' });
  server.ctx.log.level = 'debug';
  await server.app.inject({
    url: '/.well-known/jwks.json?access_token=SECRET-TOKEN',
    headers: { authorization: 'Bearer SECRET-TOKEN', cookie: 'sid=SECRET-TOKEN' },
  });
  assert.doesNotMatch(lines.join(''), /SECRET-TOKEN/);
});
