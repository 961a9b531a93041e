import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  createRemoteJWKSet,
  describeFetchFailure,
  displayURL,
  FetchError,
  createSigner,
  createVerifier,
  InvalidOptions,
  type Fetcher,
  type JWKSCacheEntry,
  type TesseraEvent,
} from '../../src/index.js';
import { claims, codeOf, makeKey, startJWKSServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function setup(keys = [makeKey()]) {
  const srv = await startJWKSServer({ keys: keys.map((k) => k.jwk) });
  servers.push(srv);
  return srv;
}

/** An ES256 remote set on the server's `/jwks` at the test's clock (30 s cooldown), and a verifier over it. */
function remoteVerifier(srv: TestServer, clock: () => number) {
  const jwks = createRemoteJWKSet(`${srv.url}/jwks`, { algorithms: ['ES256'], clock, cooldown: 30 });
  const v = createVerifier({
    algorithms: ['ES256'],
    issuer: 'https://issuer.test',
    audience: 'api',
    keys: jwks,
  });
  return { jwks, v };
}

describe('createRemoteJWKSet', () => {
  it('issue 13: JWKS errors name the URL and the cause (status, timeout, size, network, JSON), never a token', async () => {
    const a = makeKey();
    const srv = await setup([a]);
    const url = `${srv.url}/jwks`;
    const token = a.signer.sign(claims({ sub: 'secret-subject' }));
    const failure = async (
      mode: typeof srv.state.mode,
      options: Parameters<typeof createRemoteJWKSet>[1] = {},
      target = `${url}?tenant=42`,
    ) => {
      srv.state.mode = mode;
      const jwks = createRemoteJWKSet(target, { timeout: 0.2, ...options });
      const v = createVerifier({
        algorithms: ['ES256'],
        issuer: 'https://issuer.test',
        audience: 'api',
        keys: jwks,
      });
      try {
        await v.verify(token);
        assert.fail('verified');
      } catch (err) {
        const message = String((err as Error).message);
        assert.ok(!message.includes(token.split('.')[1]!), 'no token data');
        assert.ok(!message.includes('tenant=42'), 'no query string');
        return message;
      } finally {
        jwks.close();
        srv.state.mode = 'ok';
      }
    };
    assert.equal(await failure('500'), `JWKS fetch from ${url} failed: HTTP 500`);
    assert.equal(await failure('hang'), `JWKS fetch from ${url} failed: timed out after 0.2 s`);
    assert.equal(
      await failure('huge', { maxBytes: 64 * 1024 }),
      `JWKS fetch from ${url} failed: response larger than 64 KiB`,
    );
    assert.equal(await failure('redirect'), `JWKS fetch from ${url} failed: HTTP 302`);
    assert.equal(await failure('garbage'), `JWKS from ${url} is not a JSON object`);
    const closed = await startJWKSServer({ keys: [] });
    const closedURL = `${closed.url}/jwks`;
    await closed.close();
    assert.equal(
      await failure('ok', {}, closedURL),
      `JWKS fetch from ${closedURL} failed: network: ECONNREFUSED`,
    );
  });

  it('describeFetchFailure names TLS failures by node code, and displayURL drops userinfo and query', () => {
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const wrapped = new FetchError('network', 'request failed', { cause: tls });
    assert.equal(describeFetchFailure(wrapped, 5000, 1024), 'TLS: DEPTH_ZERO_SELF_SIGNED_CERT');
    const altname = Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    assert.equal(
      describeFetchFailure(new FetchError('network', 'request failed', { cause: altname }), 5000, 1024),
      'TLS: ERR_TLS_CERT_ALTNAME_INVALID',
    );
    assert.equal(
      displayURL(new URL('https://u:p@auth.test:8443/jwks?key=1#f')),
      'https://auth.test:8443/jwks',
    );
  });

  it('refuses plain http to a non-loopback host, credentials in the URL, and relative URLs', () => {
    assert.throws(() => createRemoteJWKSet('http://auth.example.com/jwks'), InvalidOptions);
    assert.throws(() => createRemoteJWKSet('https://user:pw@auth.example.com/jwks'), InvalidOptions);
    assert.throws(() => createRemoteJWKSet('/jwks'), InvalidOptions);
    createRemoteJWKSet('https://auth.example.com/jwks').close();
    createRemoteJWKSet('http://localhost:1/jwks').close();
  });

  it('verifies through a remote set; rotation: a new kid is fetched once, a removed kid stops verifying', async () => {
    const a = makeKey();
    const b = makeKey();
    const srv = await setup([a]);
    let now = Date.now();
    const { jwks, v } = remoteVerifier(srv, () => now);
    const tokA = a.signer.sign(claims());
    const r = await v.verify(tokA);
    assert.equal(jwks.isTrusted(r.key), true);
    assert.equal(srv.requests.length, 1);
    assert.equal(srv.requests[0]!.headers.cookie, undefined);
    assert.equal(srv.requests[0]!.headers.authorization, undefined);
    // Rotation: B appears, A disappears. Past the cooldown, B's kid triggers one refetch.
    srv.state.jwks = { keys: [b.jwk] };
    now += 31_000;
    await v.verify(b.signer.sign(claims()));
    assert.equal(srv.requests.length, 2);
    assert.equal(jwks.isTrusted(r.key), false, 'a removed key is no longer trusted');
    // B's refetch found B, so A's kid may refetch once; it finds nothing and starts the cooldown.
    assert.equal(await codeOf(v.verify(tokA)), 'ERR_JWKS_NO_MATCHING_KEY');
    assert.equal(srv.requests.length, 3);
    assert.equal(await codeOf(v.verify(tokA)), 'ERR_JWKS_COOLDOWN');
    assert.equal(srv.requests.length, 3, 'cooldown: no request');
    jwks.close();
  });

  it('refreshes in the background before expiry, honouring max-age clamped to the bounds', async () => {
    const a = makeKey();
    const srv = await setup([a]);
    srv.state.cacheControl = 'public, max-age=5';
    let now = Date.now();
    const events: TesseraEvent[] = [];
    const jwks = createRemoteJWKSet(`${srv.url}/jwks`, {
      clock: () => now,
      minCacheAge: 60,
      maxCacheAge: 600,
      onEvent: (e) => events.push(e),
    });
    const v = createVerifier({
      algorithms: ['ES256'],
      issuer: 'https://issuer.test',
      audience: 'api',
      keys: jwks,
    });
    const tok = a.signer.sign(claims());
    await v.verify(tok);
    // max-age=5 is clamped up to 60 s: nothing at 40 s, a background refresh after 80% (48 s).
    now += 40_000;
    await v.verify(tok);
    assert.equal(srv.requests.length, 1);
    now += 10_000;
    srv.state.mode = 'slow'; // the issuer takes 300 ms: no verification may wait for it
    const t0 = performance.now();
    await v.verify(tok); // answered from the current set; the refresh runs behind it
    assert.ok(performance.now() - t0 < 250, 'verification did not wait for the refresh');
    await jwks.refresh(); // joins the refresh in flight
    assert.equal(srv.requests.length, 2);
    assert.equal(events.filter((e) => e.type === 'jwks_fetch' && e.reason === 'refresh').length, 1);
    jwks.close();
  });

  it('revalidates with ETag: 304 keeps the set and the key identity', async () => {
    const a = makeKey();
    const srv = await setup([a]);
    srv.state.etag = '"v1"';
    let now = Date.now();
    const jwks = createRemoteJWKSet(`${srv.url}/jwks`, { clock: () => now });
    const key = await jwks.resolve({ kid: a.kid, alg: 'ES256' });
    now += 3_600_000;
    await jwks.refresh();
    assert.equal(srv.requests[1]!.headers['if-none-match'], '"v1"');
    assert.equal(jwks.stats().not_modified, 1);
    assert.equal(jwks.isTrusted(key), true);
    assert.equal(await jwks.resolve({ kid: a.kid, alg: 'ES256' }), key);
    // A changed set with identical keys also keeps key identity (the token cache survives refreshes).
    srv.state.etag = '"v2"';
    await jwks.refresh();
    assert.equal(await jwks.resolve({ kid: a.kid, alg: 'ES256' }), key);
    jwks.close();
  });

  for (const [mode, expected] of [
    ['500', /failed: HTTP 500$/],
    ['garbage', /not a JSON object/],
    ['huge', /failed: response larger than 512 KiB$/],
    ['huge-declared', /failed: response larger than 512 KiB$/],
    ['redirect', /failed: HTTP 302$/],
  ] as const) {
    it(`fails cleanly on ${mode}`, async () => {
      const a = makeKey();
      const srv = await setup([a]);
      srv.state.mode = mode;
      srv.state.redirectTo = `${srv.url}/target`;
      const jwks = createRemoteJWKSet(`${srv.url}/jwks`);
      await assert.rejects(
        async () => jwks.resolve({ kid: a.kid, alg: 'ES256' }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, mode === 'garbage' ? 'ERR_JWKS_INVALID' : 'ERR_JWKS_FETCH_FAILED');
          assert.match(err.message, expected);
          return true;
        },
      );
      assert.equal(srv.requests.filter((r) => r.url === '/target').length, 0, 'redirect not followed');
      assert.equal(jwks.stats().failures, 1);
      jwks.close();
    });
  }

  it('times out a hanging endpoint', async () => {
    const a = makeKey();
    const srv = await setup([a]);
    srv.state.mode = 'hang';
    const jwks = createRemoteJWKSet(`${srv.url}/jwks`, { timeout: '200ms' });
    const t0 = Date.now();
    await assert.rejects(async () => jwks.resolve({ kid: a.kid, alg: 'ES256' }), /timed out/);
    assert.ok(Date.now() - t0 < 2000);
    jwks.close();
  });

  it('skips and counts unusable keys; more than 100 keys fail the set', async () => {
    const a = makeKey();
    const rsa = makeKey('EdDSA');
    const srv = await setup([a]);
    srv.state.jwks = { keys: [a.jwk, rsa.jwk, { kty: 'weird', kid: 'x' }, { ...makeKey().jwk, use: 'enc' }] };
    const jwks = createRemoteJWKSet(`${srv.url}/jwks`, { algorithms: ['ES256'] });
    await jwks.refresh();
    assert.equal(jwks.stats().keys, 1);
    assert.equal(jwks.stats().skipped_keys, 3);
    srv.state.jwks = { keys: Array.from({ length: 101 }, () => a.jwk) };
    const big = createRemoteJWKSet(`${srv.url}/jwks`);
    await assert.rejects(big.refresh(), { code: 'ERR_JWKS_INVALID' });
    jwks.close();
    big.close();
  });

  it('S12 JWKS cooldown: a key published right after a routine fetch verifies at once (one refetch, no 30 s wait)', async () => {
    const a = makeKey();
    const b = makeKey();
    const srv = await setup([a]);
    let now = Date.now();
    const { jwks, v } = remoteVerifier(srv, () => now);
    await v.verify(a.signer.sign(claims()));
    await jwks.refresh(); // the routine refresh, as the background timer runs it
    assert.equal(srv.requests.length, 2);
    // The issuer publishes B one second later; a token signed with B arrives at once.
    srv.state.jwks = { keys: [a.jwk, b.jwk] };
    now += 1000;
    const r = await v.verify(b.signer.sign(claims()));
    assert.equal(jwks.isTrusted(r.key), true);
    assert.equal(srv.requests.length, 3, 'exactly one extra fetch');
    jwks.close();
  });

  it('a flood of 1000 random kids costs at most one fetch per cooldown', async () => {
    const a = makeKey();
    const srv = await setup([a]);
    let now = Date.now();
    const jwks = createRemoteJWKSet(`${srv.url}/jwks`, { clock: () => now, cooldown: 30 });
    const v = createVerifier({
      algorithms: ['ES256'],
      issuer: 'https://issuer.test',
      audience: 'api',
      keys: jwks,
    });
    // The kid is looked up before the signature is checked, so one real signature serves every forged header.
    const [, payload, sig] = createSigner({ key: a.pair.privateKey, alg: 'ES256', kid: 'x' })
      .sign(claims())
      .split('.');
    const flood = () =>
      Promise.all(
        Array.from({ length: 1000 }, () => {
          const kid = `rnd-${Math.random().toString(36).slice(2)}`;
          const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid })).toString('base64url');
          return codeOf(v.verify(`${header}.${payload}.${sig}`));
        }),
      );
    const codes1 = await flood();
    assert.equal(srv.requests.length, 1, 'cold start: the initial fetch only');
    assert.ok(codes1.every((c) => c === 'ERR_JWKS_NO_MATCHING_KEY'));
    // The initial fetch was no unknown-kid refetch: the next flood costs one, which finds nothing and
    // starts the cooldown; every other kid of that flood joins it.
    const codes2 = await flood();
    assert.equal(srv.requests.length, 2);
    assert.ok(codes2.every((c) => c === 'ERR_JWKS_NO_MATCHING_KEY'));
    const codes3 = await flood();
    assert.equal(srv.requests.length, 2);
    assert.ok(codes3.every((c) => c === 'ERR_JWKS_COOLDOWN'));
    now += 31_000;
    await flood();
    assert.equal(srv.requests.length, 3, 'one refetch after the cooldown');
    await flood();
    assert.equal(srv.requests.length, 3);
    assert.ok(jwks.stats().cooldown_rejections >= 2000);
    // The known kid still verifies throughout.
    await v.verify(a.signer.sign(claims()));
    jwks.close();
  });

  it('issuer outage: the cached set keeps verifying within staleIfError, stale is visible, then it expires', async () => {
    const a = makeKey();
    const srv = await setup([a]);
    let now = Date.now();
    const events: TesseraEvent[] = [];
    const jwks = createRemoteJWKSet(`${srv.url}/jwks`, {
      clock: () => now,
      staleIfError: '1h',
      maxCacheAge: 60,
      onEvent: (e) => events.push(e),
    });
    const v = createVerifier({
      algorithms: ['ES256'],
      issuer: 'https://issuer.test',
      audience: 'api',
      keys: jwks,
      clock: () => now,
    });
    const tok = () =>
      a.signer.sign(claims({ iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 86400 }));
    await v.verify(tok());
    srv.state.mode = '500';
    now += 120_000; // past freshness
    await v.verify(tok()); // served from the stale set; triggers a background refresh that fails
    await jwks.refresh().catch(() => {});
    const stats = jwks.stats();
    assert.equal(stats.stale, true);
    assert.ok(stats.failures >= 1);
    assert.ok(events.some((e) => e.type === 'jwks_stale' && e.usable));
    now += 30 * 60_000;
    await v.verify(tok());
    now += 40 * 60_000; // beyond freshness + 1 h
    assert.equal(await codeOf(v.verify(tok())), 'ERR_JWKS_STALE');
    assert.ok(events.some((e) => e.type === 'jwks_stale' && !e.usable));
    // The issuer comes back: verification recovers.
    srv.state.mode = 'ok';
    now += 10_000;
    await v.verify(tok());
    assert.equal(jwks.stats().stale, false);
    jwks.close();
  });

  it('loads from and saves to an injected cache store', async () => {
    const a = makeKey();
    const srv = await setup([a]);
    const stored = new Map<string, JWKSCacheEntry>();
    const store = {
      get: (u: string) => stored.get(u),
      set: (u: string, e: JWKSCacheEntry) => void stored.set(u, e),
    };
    const first = createRemoteJWKSet(`${srv.url}/jwks`, { cache: store });
    await first.refresh();
    first.close();
    srv.state.mode = '500';
    const second = createRemoteJWKSet(`${srv.url}/jwks`, { cache: store });
    const key = await second.resolve({ kid: a.kid, alg: 'ES256' });
    assert.equal(key.kid, a.kid);
    assert.equal(srv.requests.length, 1);
    second.close();
  });

  it('takes an injected fetcher (https URL, no network) and clock', async () => {
    const a = makeKey();
    const calls: string[] = [];
    const fetcher: Fetcher = {
      async fetch(url) {
        calls.push(url.href);
        return {
          status: 200,
          headers: { 'cache-control': 'max-age=120' },
          body: Buffer.from(JSON.stringify({ keys: [a.jwk] })),
        };
      },
    };
    let now = 1_000_000;
    const jwks = createRemoteJWKSet('https://auth.example.com/jwks', { fetcher, clock: () => now });
    await jwks.resolve({ kid: a.kid, alg: 'ES256' });
    now += 60_000;
    await jwks.resolve({ kid: a.kid, alg: 'ES256' });
    assert.deepEqual(calls, ['https://auth.example.com/jwks']);
    now += 40_000; // 100 s > 80% of 120 s: background refresh
    await jwks.resolve({ kid: a.kid, alg: 'ES256' });
    await jwks.refresh();
    assert.equal(calls.length, 2);
    assert.equal(jwks.stats().age_ms, 0);
    jwks.close();
  });
});
