import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  createOpaqueToken,
  OPAQUE_ACCESS_TOKEN_PREFIX,
  createCoreVerifier,
  createStaticRevocationList,
  createVerifier,
  InvalidOptions,
  type RemoteJWKSet,
  type TesseraEvent,
} from '../../src/index.js';
import { claims, codeOf, makeKey, startJWKSServer, startServer, type TestServer } from './helpers.js';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
const base = { algorithms: ['ES256'] as const, issuer: 'https://issuer.test', audience: 'api' };

describe('createVerifier', () => {
  it('returns the core verifier itself when no extra is used', async () => {
    const a = makeKey();
    const v = createVerifier({ ...base, keys: [a.pair.publicKey] });
    const core = createCoreVerifier({ ...base, keys: [a.pair.publicKey] });
    assert.equal('stats' in v, false);
    // The core verifier plus verifyRequest (which every createVerifier verifier has), nothing else.
    assert.deepEqual(Object.keys(v).sort(), [...Object.keys(core), 'verifyRequest'].sort());
    assert.equal((await v.verify(a.signer.sign(claims()))).payload.sub, 'user-1');
    assert.throws(() => createVerifier({ ...base }), InvalidOptions);
    assert.throws(
      () => createVerifier({ ...base, keys: [a.pair.publicKey], jwksUri: 'https://x.test/jwks' }),
      InvalidOptions,
    );
  });

  it('multi-issuer: iss selects the entry before any fetch; keys of A never verify a token claiming B', async () => {
    const a = makeKey();
    const b = makeKey();
    const srvA = await startJWKSServer({ keys: [a.jwk] });
    const srvB = await startJWKSServer({ keys: [b.jwk] });
    servers.push(srvA, srvB);
    const v = createVerifier({
      algorithms: ['ES256'],
      audience: 'api',
      issuer: [
        { issuer: 'https://a.test', jwksUri: `${srvA.url}/jwks` },
        { issuer: 'https://b.test', jwksUri: `${srvB.url}/jwks`, audience: 'api-b' },
      ],
    });
    // Unknown issuer: rejected with zero requests anywhere.
    assert.equal(
      await codeOf(v.verify(a.signer.sign(claims({ iss: 'https://evil.test' })))),
      'ERR_JWT_CLAIM_INVALID',
    );
    assert.equal(await codeOf(v.verify(a.signer.sign(claims({ iss: undefined })))), 'ERR_JWT_CLAIM_INVALID');
    assert.equal(srvA.requests.length + srvB.requests.length, 0);
    // Each issuer verifies its own tokens (with its own audience).
    assert.equal(
      (await v.verify(a.signer.sign(claims({ iss: 'https://a.test' })))).payload.iss,
      'https://a.test',
    );
    assert.equal(
      (await v.verify(b.signer.sign(claims({ iss: 'https://b.test', aud: 'api-b' })))).payload.iss,
      'https://b.test',
    );
    assert.equal(
      await codeOf(v.verify(b.signer.sign(claims({ iss: 'https://b.test', aud: 'api' })))),
      'ERR_JWT_CLAIM_INVALID',
    );
    const before = srvA.requests.length;
    // A token claiming B, signed with A's key and kid: B's set does not know that kid.
    const forged = a.signer.sign(claims({ iss: 'https://b.test', aud: 'api-b' }));
    assert.match(await codeOf(v.verify(forged)), /ERR_JWKS_(NO_MATCHING_KEY|COOLDOWN)/);
    assert.equal(srvA.requests.length, before, "A's JWKS is never consulted for B's tokens");
    assert.equal(v.stats!().jwks.length, 2);
    v.close();
  });

  it('token cache: hits, misses, ratio; a hit re-checks expiry with the injected clock', async () => {
    const a = makeKey();
    let now = Date.now();
    const v = createVerifier({
      ...base,
      keys: [a.pair.publicKey],
      cache: { maxEntries: 2 },
      clock: () => now,
      clockTolerance: 5,
    });
    const exp = Math.floor(now / 1000) + 60;
    const tok = a.signer.sign(claims({ exp }));
    const r1 = await v.verify(tok);
    const r2 = await v.verify(tok);
    assert.equal(r1, r2);
    let s = v.stats!();
    assert.equal(s.cache!.hits, 1);
    assert.equal(s.cache!.misses, 1);
    assert.equal(s.cache!.cache_hit_ratio, 0.5);
    // Within tolerance after exp: still served; past it: expired, and not from the cache.
    now = (exp + 4) * 1000;
    await v.verify(tok);
    now = (exp + 5) * 1000;
    assert.equal(await codeOf(v.verify(tok)), 'ERR_JWT_EXPIRED');
    // A token differing only in its signature is never a hit.
    now = Date.now();
    const t2 = a.signer.sign(claims());
    await v.verify(t2);
    const tampered = t2.slice(0, -2) + (t2.endsWith('AA') ? 'BA' : 'AA');
    assert.equal(await codeOf(v.verify(tampered)), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    // Bounded: LRU keeps at most maxEntries.
    await v.verify(a.signer.sign(claims()));
    await v.verify(a.signer.sign(claims()));
    s = v.stats!();
    assert.equal(s.cache!.size, 2);
    assert.equal(s.results.ERR_JWT_EXPIRED, 1);
  });

  it('token cache: revoking the jti evicts the cached token', async () => {
    const a = makeKey();
    const revocations = createStaticRevocationList();
    const v = createVerifier({ ...base, keys: [a.pair.publicKey], cache: { maxEntries: 100 }, revocations });
    const tok = a.signer.sign(claims({ jti: 'tok-1' }));
    await v.verify(tok);
    await v.verify(tok);
    assert.equal(v.stats!().cache!.hits, 1);
    revocations.add({ type: 'jti', value: 'tok-1', exp: Math.floor(Date.now() / 1000) + 600, revoked_at: 0 });
    assert.equal(await codeOf(v.verify(tok)), 'ERR_TOKEN_REVOKED');
    assert.equal(v.stats!().cache!.size, 0);
    // kid and sub revocations too.
    const t2 = a.signer.sign(claims({ sub: 'user-2' }));
    await v.verify(t2);
    revocations.add({
      type: 'sub',
      value: 'user-2',
      exp: Math.floor(Date.now() / 1000) + 600,
      revoked_at: Math.floor(Date.now() / 1000) + 1,
    });
    assert.equal(await codeOf(v.verify(t2)), 'ERR_TOKEN_REVOKED');
    const t3 = a.signer.sign(claims());
    revocations.add({ type: 'kid', value: a.kid, exp: Math.floor(Date.now() / 1000) + 600, revoked_at: 0 });
    assert.equal(await codeOf(v.verify(t3)), 'ERR_TOKEN_REVOKED');
  });

  it('token cache: removing the key from the JWKS evicts its tokens', async () => {
    const a = makeKey();
    const b = makeKey();
    const srv = await startJWKSServer({ keys: [a.jwk, b.jwk] });
    servers.push(srv);
    let now = Date.now();
    const v = createVerifier({
      ...base,
      jwksUri: `${srv.url}/jwks`,
      jwks: { clock: () => now },
      cache: { maxEntries: 100 },
    });
    const tok = a.signer.sign(claims());
    await v.verify(tok);
    await v.verify(tok);
    assert.equal(v.stats!().cache!.hits, 1);
    srv.state.jwks = { keys: [b.jwk] };
    now += 3_600_000;
    await (v.keySource as RemoteJWKSet).refresh();
    assert.notEqual(await codeOf(v.verify(tok)), 'resolved');
    assert.equal(v.stats!().cache!.hits, 1);
    await v.verify(b.signer.sign(claims()));
    v.close();
  });

  it('events: verify timings, codes, cached flag; listener errors never break verification', async () => {
    const a = makeKey();
    const events: TesseraEvent[] = [];
    const v = createVerifier({
      ...base,
      keys: [a.pair.publicKey],
      cache: { maxEntries: 10 },
      events: {
        onEvent: (e) => {
          events.push(e);
          throw new Error('exporter bug');
        },
      },
    });
    const tok = a.signer.sign(claims());
    await v.verify(tok);
    await v.verify(tok);
    await codeOf(v.verify('garbage'));
    const verifies = events.filter((e) => e.type === 'verify');
    assert.equal(verifies.length, 3);
    assert.equal(verifies[1]!.type === 'verify' && verifies[1]!.cached, true);
    assert.equal(verifies[2]!.type === 'verify' && verifies[2]!.code, 'ERR_JWS_INVALID');
    const s = v.stats!();
    assert.equal(s.token_validation_ms.count, 3);
    assert.equal(s.results.ok, 2);
    assert.equal(s.verifications, 3);
  });

  it('events from createVerifier reach the remote key set too (jwks_fetch)', async () => {
    const a = makeKey();
    const srv = await startJWKSServer({ keys: [a.jwk] });
    servers.push(srv);
    const events: TesseraEvent[] = [];
    const v = createVerifier({
      ...base,
      jwksUri: `${srv.url}/jwks`,
      events: { onEvent: (e) => events.push(e) },
    });
    await v.verify(a.signer.sign(claims()));
    const fetches = events.filter((e) => e.type === 'jwks_fetch');
    assert.equal(fetches.length, 1);
    assert.equal(fetches[0]!.type === 'jwks_fetch' && fetches[0]!.ok, true);
    const s = v.stats!();
    assert.equal(s.jwks[0]!.fetches, 1);
    assert.equal(s.jwks[0]!.keys, 1);
    v.close();
  });

  it('clock skew: nbf/iat in the future and exp in the past follow the injected clock and tolerance', async () => {
    const a = makeKey();
    const t = 1_800_000_000;
    const tok = a.signer.sign(claims({ iat: t + 20, nbf: t + 20, exp: t + 120 }));
    const strict = createVerifier({
      ...base,
      keys: [a.pair.publicKey],
      clock: () => t * 1000,
      cache: { maxEntries: 10 },
    });
    assert.equal(await codeOf(strict.verify(tok)), 'ERR_JWT_NOT_YET_VALID');
    const tolerant = createVerifier({
      ...base,
      keys: [a.pair.publicKey],
      clock: () => t * 1000,
      clockTolerance: 30,
    });
    await tolerant.verify(tok);
    const late = createVerifier({
      ...base,
      keys: [a.pair.publicKey],
      clock: () => (t + 140) * 1000,
      clockTolerance: '30s',
    });
    await late.verify(tok);
    const later = createVerifier({
      ...base,
      keys: [a.pair.publicKey],
      clock: () => (t + 150) * 1000,
      clockTolerance: '30s',
    });
    assert.equal(await codeOf(later.verify(tok)), 'ERR_JWT_EXPIRED');
  });

  it('routes opaque tokens to introspection and JWTs to local verification', async () => {
    const a = makeKey();
    const good = createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX);
    const bad = createOpaqueToken(OPAQUE_ACCESS_TOKEN_PREFIX);
    const srv = await startServer((_req, res, body) => {
      const token = new URLSearchParams(body).get('token');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          token === good
            ? {
                active: true,
                token_type: 'Bearer',
                sub: 'svc',
                scope: 'a b',
                iss: 'https://issuer.test',
                aud: 'api',
              }
            : { active: false },
        ),
      );
    });
    servers.push(srv);
    const v = createVerifier({
      ...base,
      keys: [a.pair.publicKey],
      introspection: { endpoint: `${srv.url}/introspect`, clientId: 'rs', clientSecret: 's3cret' },
    });
    const r = await v.verify(good);
    assert.equal(r.payload.sub, 'svc');
    assert.equal(r.key, undefined);
    assert.equal(await codeOf(v.verify(bad)), 'ERR_TOKEN_INACTIVE');
    const jwt = await v.verify(a.signer.sign(claims()));
    assert.ok(jwt.key);
    assert.equal(srv.requests.length, 2);
  });
});
