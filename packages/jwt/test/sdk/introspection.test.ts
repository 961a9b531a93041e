import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  createIntrospectionClient,
  createOpaqueToken,
  InvalidOptions,
  OPAQUE_ACCESS_TOKEN_PREFIX,
} from '../../src/index.js';
import { startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A Tessera-shaped opaque token per name, so fixtures read as names; names starting with `good` are active. */
const byName = new Map<string, string>();
const nameOf = new Map<string, string>();
function tok(name: string): string {
  let token = byName.get(name);
  if (token === undefined) {
    token = createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX);
    byName.set(name, token);
    nameOf.set(token, name);
  }
  return token;
}

async function startIntrospection(delayMs = 0) {
  const state = { fail: false };
  const srv = await startServer((req, res, body) => {
    if (state.fail) return void res.writeHead(500).end();
    if (req.headers.authorization !== `Basic ${Buffer.from('rs:s%3Acret').toString('base64')}`)
      return void res.writeHead(401).end();
    const token = new URLSearchParams(body).get('token');
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const answer = nameOf.get(token ?? '')?.startsWith('good')
      ? { active: true, token_type: 'Bearer', sub: 'svc', scope: 'read', exp }
      : { active: false };
    setTimeout(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
      delayMs,
    );
  });
  servers.push(srv);
  return { srv, state };
}

describe('createIntrospectionClient', () => {
  it('validates options', () => {
    assert.throws(
      () => createIntrospectionClient({ endpoint: 'http://auth.test/i', clientId: 'a', clientSecret: 'b' }),
      InvalidOptions,
    );
    assert.throws(
      () => createIntrospectionClient({ endpoint: 'https://auth.test/i', clientId: '', clientSecret: 'b' }),
      InvalidOptions,
    );
  });

  it('authenticates with client_secret_basic, posts the token in the body, caches positive answers', async () => {
    const { srv } = await startIntrospection();
    let now = Date.now();
    const c = createIntrospectionClient({
      endpoint: `${srv.url}/introspect`,
      clientId: 'rs',
      clientSecret: 's:cret',
      clock: () => now,
    });
    const r = await c.introspect(tok('good-1'));
    assert.equal(r.sub, 'svc');
    assert.equal(srv.requests[0]!.method, 'POST');
    assert.equal(srv.requests[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(new URLSearchParams(srv.requests[0]!.body).get('token'), tok('good-1'));
    assert.doesNotMatch(srv.requests[0]!.url, /tsa_/);
    await c.introspect(tok('good-1'));
    assert.equal(srv.requests.length, 1, 'cached');
    now += 61_000; // past maxCacheAge (60 s)
    await c.introspect(tok('good-1'));
    assert.equal(srv.requests.length, 2);
    assert.equal(c.stats().cache_hits, 1);
  });

  it('caches negative answers briefly and rejects with TokenInactive', async () => {
    const { srv } = await startIntrospection();
    let now = Date.now();
    const c = createIntrospectionClient({
      endpoint: `${srv.url}/i`,
      clientId: 'rs',
      clientSecret: 's:cret',
      clock: () => now,
    });
    await assert.rejects(c.introspect(tok('bad')), { code: 'ERR_TOKEN_INACTIVE' });
    await assert.rejects(c.introspect(tok('bad')), { code: 'ERR_TOKEN_INACTIVE' });
    assert.equal(srv.requests.length, 1);
    now += 6_000;
    await assert.rejects(c.introspect(tok('bad')), { code: 'ERR_TOKEN_INACTIVE' });
    assert.equal(srv.requests.length, 2);
  });

  it('single flight per token; failures are IntrospectionFailed and never echo the token', async () => {
    const { srv, state } = await startIntrospection(50);
    const c = createIntrospectionClient({ endpoint: `${srv.url}/i`, clientId: 'rs', clientSecret: 's:cret' });
    await Promise.all(Array.from({ length: 20 }, () => c.introspect(tok('good-sf'))));
    assert.equal(srv.requests.length, 1);
    state.fail = true;
    await assert.rejects(c.introspect(tok('good-secret-token')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_INTROSPECTION_FAILED');
      assert.ok(!(String(err.message) + String(err.stack)).includes(tok('good-secret-token')));
      return true;
    });
    state.fail = false;
    const { srv: hang } = await startIntrospection(1000);
    const t = createIntrospectionClient({
      endpoint: `${hang.url}/i`,
      clientId: 'rs',
      clientSecret: 's:cret',
      timeout: '100ms',
    });
    await assert.rejects(t.introspect(tok('good-x')), { code: 'ERR_INTROSPECTION_FAILED' });
  });
});
