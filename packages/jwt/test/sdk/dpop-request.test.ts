/**
 * verifier.verifyRequest with DPoP (RFC 9449 §7): one test per attack, each asserting the exact error code,
 * plus the behaviour around them (cache hits still verify the proof, the URL behind a proxy, replay stores,
 * nonces). Keys are generated at test time; every verifier runs on a fixed clock.
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  accessTokenHash,
  calculateJWKThumbprint,
  createDpopNonces,
  createDpopProof,
  createMemoryDpopReplayStore,
  createRedisDpopReplayStore,
  createVerifier,
  TesseraError,
  type DpopOptions,
  type JWK,
  type JWTPayload,
  type VerifierOptions,
} from '../../src/index.js';
import { makeKey } from './helpers.js';

const NOW = 1_760_000_000_000;
const IAT = NOW / 1000;
const URL_ = 'https://api.example.com/orders';
const issuer = makeKey('ES256');
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const thief = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwkOf = (k: KeyObject) => k.export({ format: 'jwk' }) as JWK;
const jkt = calculateJWKThumbprint(jwkOf(client.publicKey));

const base = {
  algorithms: ['ES256'] as const,
  issuer: 'https://issuer.test',
  audience: 'orders-api',
  keys: [issuer.pair.publicKey],
  clock: () => NOW,
};
const claims = (extra: JWTPayload = {}): JWTPayload => ({
  iss: 'https://issuer.test',
  aud: 'orders-api',
  sub: 'user-1',
  iat: IAT,
  exp: IAT + 3600,
  jti: randomUUID(),
  ...extra,
});
const boundToken = (extra: JWTPayload = {}) => issuer.signer.sign(claims({ cnf: { jkt }, ...extra }));
const bearerToken = () => issuer.signer.sign(claims());

function verifier(
  dpop: 'allowed' | 'required' = 'allowed',
  dpopOptions?: DpopOptions,
  extra: Partial<VerifierOptions> = {},
) {
  return createVerifier({ ...base, dpop, ...(dpopOptions && { dpopOptions }), ...extra });
}

const proofFor = (
  token: string,
  o: { htm?: string; htu?: string; iat?: number; nonce?: string; key?: KeyObject } = {},
) =>
  createDpopProof({
    privateKey: o.key ?? client.privateKey,
    htm: o.htm ?? 'GET',
    htu: o.htu ?? URL_,
    accessToken: token,
    iat: o.iat ?? IAT,
    ...(o.nonce !== undefined && { nonce: o.nonce }),
  });

const dpopRequest = (
  token: string,
  proof: string | undefined,
  extra: { method?: string; url?: string; headers?: Record<string, string> } = {},
) => ({
  method: extra.method ?? 'GET',
  url: extra.url ?? URL_,
  headers: { authorization: `DPoP ${token}`, ...(proof !== undefined && { dpop: proof }), ...extra.headers },
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TesseraError, `expected a TesseraError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a rejection');
}

/** A proof signed by hand (ES256 over R‖S with the client key unless told otherwise). */
function handProof(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign?: (i: Buffer) => Buffer,
) {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = sign
    ? sign(Buffer.from(input))
    : cryptoSign('sha256', Buffer.from(input), { key: client.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

describe('verifyRequest: a DPoP-bound token with its proof', () => {
  test('is accepted, with the proof and the scheme', async () => {
    const v = verifier();
    const token = boundToken();
    const r = await v.verifyRequest(dpopRequest(token, proofFor(token)));
    assert.equal(r.scheme, 'DPoP');
    assert.equal(r.result.payload.sub, 'user-1');
    assert.equal(r.dpop?.jkt, jkt);
    assert.equal(r.token, token);
  });

  test('a plain bearer token still works with dpop: allowed', async () => {
    const v = verifier();
    const token = bearerToken();
    const r = await v.verifyRequest({
      method: 'GET',
      url: URL_,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(r.scheme, 'Bearer');
    assert.equal(r.dpop, undefined);
  });
});

describe('verifyRequest: one test per attack', () => {
  test('a replayed proof (same jti) is refused', async () => {
    const v = verifier();
    const token = boundToken();
    const proof = proofFor(token);
    await v.verifyRequest(dpopRequest(token, proof));
    assert.equal(await codeOf(v.verifyRequest(dpopRequest(token, proof))), 'ERR_DPOP_PROOF_REPLAYED');
  });

  test('a proof for another method', async () => {
    const token = boundToken();
    const proof = proofFor(token, { htm: 'GET' });
    assert.equal(
      await codeOf(verifier().verifyRequest(dpopRequest(token, proof, { method: 'DELETE' }))),
      'ERR_DPOP_HTM_MISMATCH',
    );
  });

  test('a proof for another URL', async () => {
    const token = boundToken();
    const proof = proofFor(token, { htu: 'https://api.example.com/orders/other' });
    assert.equal(await codeOf(verifier().verifyRequest(dpopRequest(token, proof))), 'ERR_DPOP_HTU_MISMATCH');
    const otherHost = proofFor(token, { htu: 'https://other.example.com/orders' });
    assert.equal(
      await codeOf(verifier().verifyRequest(dpopRequest(token, otherHost))),
      'ERR_DPOP_HTU_MISMATCH',
    );
  });

  test('a stale iat and a future iat', async () => {
    const token = boundToken();
    assert.equal(
      await codeOf(verifier().verifyRequest(dpopRequest(token, proofFor(token, { iat: IAT - 61 })))),
      'ERR_DPOP_IAT_OUT_OF_WINDOW',
    );
    assert.equal(
      await codeOf(verifier().verifyRequest(dpopRequest(token, proofFor(token, { iat: IAT + 61 })))),
      'ERR_DPOP_IAT_OUT_OF_WINDOW',
    );
    const tight = verifier('allowed', { maxAgeSeconds: 5 });
    assert.equal(
      await codeOf(tight.verifyRequest(dpopRequest(token, proofFor(token, { iat: IAT - 6 })))),
      'ERR_DPOP_IAT_OUT_OF_WINDOW',
    );
  });

  test('a proof signed by another key than the bound one (a stolen token with the thief’s key)', async () => {
    const token = boundToken();
    const proof = proofFor(token, { key: thief.privateKey });
    assert.equal(
      await codeOf(verifier().verifyRequest(dpopRequest(token, proof))),
      'ERR_DPOP_BINDING_MISMATCH',
    );
  });

  test('a proof whose ath is of another token', async () => {
    const token = boundToken();
    const proof = proofFor(boundToken());
    assert.equal(await codeOf(verifier().verifyRequest(dpopRequest(token, proof))), 'ERR_DPOP_ATH_MISMATCH');
  });

  test('a bound token sent as Bearer', async () => {
    const token = boundToken();
    const request = { method: 'GET', url: URL_, headers: { authorization: `Bearer ${token}` } };
    assert.equal(await codeOf(verifier().verifyRequest(request)), 'ERR_DPOP_BOUND_TOKEN_AS_BEARER');
    // Also with DPoP switched off: a bound token is never a bearer token.
    assert.equal(await codeOf(createVerifier(base).verifyRequest(request)), 'ERR_DPOP_BOUND_TOKEN_AS_BEARER');
  });

  test('an HMAC proof and an unsecured (none) proof', async () => {
    const token = boundToken();
    const secret = Buffer.alloc(32, 1);
    const payload = { jti: randomUUID(), htm: 'GET', htu: URL_, iat: IAT };
    const hmac = handProof(
      { typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: secret.toString('base64url') } },
      payload,
      (i) => createHmac('sha256', secret).update(i).digest(),
    );
    assert.equal(
      await codeOf(verifier().verifyRequest(dpopRequest(token, hmac))),
      'ERR_DPOP_ALG_NOT_ALLOWED',
    );
    const none = handProof({ typ: 'dpop+jwt', alg: 'none', jwk: jwkOf(client.publicKey) }, payload, () =>
      Buffer.alloc(0),
    );
    assert.equal(
      await codeOf(verifier().verifyRequest(dpopRequest(token, none))),
      'ERR_DPOP_ALG_NOT_ALLOWED',
    );
  });

  test('a proof carrying private key members', async () => {
    const token = boundToken();
    const payload = { jti: randomUUID(), htm: 'GET', htu: URL_, iat: IAT, ath: accessTokenHash(token) };
    const proof = handProof(
      { typ: 'dpop+jwt', alg: 'ES256', jwk: client.privateKey.export({ format: 'jwk' }) },
      payload,
    );
    assert.equal(await codeOf(verifier().verifyRequest(dpopRequest(token, proof))), 'ERR_DPOP_JWK_PRIVATE');
  });

  test('nonce missing, then stale: use_dpop_nonce naming the current nonce; the current one passes', async () => {
    let now = NOW;
    const nonces = createDpopNonces({ rotationSeconds: 60, clock: () => now });
    const v = verifier('allowed', { nonce: nonces });
    const token = boundToken();
    const missing = await v.verifyRequest(dpopRequest(token, proofFor(token))).catch((e: unknown) => e);
    assert.ok(missing instanceof TesseraError);
    assert.equal(missing.code, 'ERR_DPOP_USE_NONCE');
    const first = (missing as { nonce?: string }).nonce!;
    assert.equal(first, nonces.current());
    await v.verifyRequest(dpopRequest(token, proofFor(token, { nonce: first })));
    now += 121_000; // two rotations: the first nonce is stale
    const stale = await v
      .verifyRequest(dpopRequest(token, proofFor(token, { nonce: first })))
      .catch((e: unknown) => e);
    assert.equal((stale as TesseraError).code, 'ERR_DPOP_USE_NONCE');
    assert.notEqual((stale as { nonce?: string }).nonce, first);
  });

  test('dpop: required refuses Bearer', async () => {
    const request = { method: 'GET', url: URL_, headers: { authorization: `Bearer ${bearerToken()}` } };
    assert.equal(await codeOf(verifier('required').verifyRequest(request)), 'ERR_DPOP_REQUIRED');
  });

  test('the DPoP scheme without a proof, and an unbound token sent as DPoP', async () => {
    const token = boundToken();
    assert.equal(
      await codeOf(verifier().verifyRequest(dpopRequest(token, undefined))),
      'ERR_DPOP_PROOF_MISSING',
    );
    const plain = bearerToken();
    assert.equal(
      await codeOf(verifier().verifyRequest(dpopRequest(plain, proofFor(plain)))),
      'ERR_DPOP_BINDING_MISMATCH',
    );
    const several = {
      method: 'GET',
      url: URL_,
      headers: { authorization: `DPoP ${token}`, dpop: [proofFor(token), proofFor(token)] },
    };
    assert.equal(await codeOf(verifier().verifyRequest(several)), 'ERR_DPOP_PROOF_MISSING');
  });

  test('DPoP switched off: the DPoP scheme is no credentials at all', async () => {
    const token = boundToken();
    assert.equal(
      await codeOf(createVerifier(base).verifyRequest(dpopRequest(token, proofFor(token)))),
      'ERR_AUTHORIZATION_MISSING',
    );
  });
});

describe('createVerifier: DPoP options are checked once, at construction', () => {
  test('each misconfiguration is an options error', () => {
    const bad: Partial<VerifierOptions>[] = [
      { dpop: 'sometimes' as 'allowed' },
      { dpopOptions: {} }, // options without dpop
      { dpop: 'allowed', dpopOptions: { algorithms: ['HS256'] } },
      { dpop: 'allowed', dpopOptions: { algorithms: ['none'] } },
      { dpop: 'allowed', dpopOptions: { algorithms: [] } },
      { dpop: 'allowed', dpopOptions: { maxAgeSeconds: 0 } },
      { dpop: 'allowed', dpopOptions: { maxAgeSeconds: Number.NaN } },
      { dpop: 'allowed', dpopOptions: { origin: 'https://api.example.com/v1' } },
      { dpop: 'allowed', dpopOptions: { origin: 'ftp://api.example.com' } },
      { dpop: 'allowed', dpopOptions: { replayStore: {} as never } },
      { dpop: 'allowed', dpopOptions: { nonce: { current: () => 'n' } as never } },
    ];
    for (const extra of bad) {
      assert.throws(
        () => createVerifier({ ...base, ...extra }),
        (err: unknown) => err instanceof TesseraError && err.code === 'ERR_INVALID_OPTIONS',
        JSON.stringify(extra),
      );
    }
  });
});

describe('verifyRequest: the verified-token cache and the proof', () => {
  test('a cache hit still verifies the proof, every time', async () => {
    const v = verifier('allowed', undefined, { cache: { maxEntries: 100 } });
    const token = boundToken();
    await v.verifyRequest(dpopRequest(token, proofFor(token)));
    await v.verifyRequest(dpopRequest(token, proofFor(token)));
    const stats = v.stats!();
    assert.equal(stats.cache?.hits, 1);
    assert.equal(
      await codeOf(v.verifyRequest(dpopRequest(token, proofFor(token, { key: thief.privateKey })))),
      'ERR_DPOP_BINDING_MISMATCH',
    );
    assert.equal(
      await codeOf(v.verifyRequest(dpopRequest(token, proofFor(token, { htm: 'POST' })))),
      'ERR_DPOP_HTM_MISMATCH',
    );
    assert.equal(await codeOf(v.verifyRequest(dpopRequest(token, undefined))), 'ERR_DPOP_PROOF_MISSING');
    assert.equal(
      await codeOf(
        v.verifyRequest({ method: 'GET', url: URL_, headers: { authorization: `Bearer ${token}` } }),
      ),
      'ERR_DPOP_BOUND_TOKEN_AS_BEARER',
    );
    assert.ok(v.stats!().cache!.hits >= 4);
  });
});

describe('verifyRequest: the URL as the client addressed it', () => {
  const token = boundToken();
  test('origin-form URL with Host; https when the socket is TLS', async () => {
    const req = dpopRequest(token, proofFor(token), {
      url: '/orders?page=2',
      headers: { host: 'api.example.com' },
    });
    await verifier().verifyRequest({ ...req, encrypted: true });
    const plain = dpopRequest(token, proofFor(token), {
      url: '/orders',
      headers: { host: 'api.example.com' },
    });
    assert.equal(await codeOf(verifier().verifyRequest(plain)), 'ERR_DPOP_HTU_MISMATCH');
  });

  test('X-Forwarded-Proto/Host only with trustForwarded', async () => {
    const headers = {
      host: '10.0.0.5:8080',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
    };
    const req = () => dpopRequest(token, proofFor(token), { url: '/orders', headers });
    assert.equal(await codeOf(verifier().verifyRequest(req())), 'ERR_DPOP_HTU_MISMATCH');
    await verifier('allowed', { trustForwarded: true }).verifyRequest(req());
  });

  test('a fixed public origin wins over every header', async () => {
    const v = verifier('allowed', { origin: 'https://api.example.com' });
    await v.verifyRequest(
      dpopRequest(token, proofFor(token), { url: '/orders', headers: { host: 'evil.example' } }),
    );
    assert.throws(() => verifier('allowed', { origin: 'https://api.example.com/path' }), /origin/);
  });
});

describe('replay stores', () => {
  test('memory: bounded, expiry-aware, atomic per key', () => {
    let now = 0;
    const store = createMemoryDpopReplayStore({ max: 10, clock: () => now });
    assert.equal(store.claim('a', 1000), true);
    assert.equal(store.claim('a', 1000), false);
    now = 1001;
    assert.equal(
      store.claim('a', 3000),
      true,
      'an expired identifier may come again (its proof is stale anyway)',
    );
    for (let i = 0; i < 30; i++) store.claim(`k${i}`, 5000);
    assert.ok(store.size <= 10);
    assert.ok(store.evicted > 0);
    now = 6000;
    store.claim('late', 9000);
    for (let i = 0; i < 5; i++) store.claim(`m${i}`, 9000);
    assert.ok(store.size <= 10);
  });

  test('redis: SET NX PX through a client (real Redis)', async (t) => {
    const url =
      process.env.TESSERA_TEST_REDIS_URL ??
      (process.env.CI === 'true' ? undefined : 'redis://127.0.0.1:6379/15');
    if (!url) {
      if (process.env.CI === 'true') assert.fail('TESSERA_TEST_REDIS_URL must be set in CI');
      t.skip('Redis not configured');
      return;
    }
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const prefix = `tessera:test:dpop:${randomUUID()}:`;
      const store = createRedisDpopReplayStore({ client: redis, prefix });
      assert.equal(await store.claim('jkt:jti-1', Date.now() + 5000), true);
      assert.equal(await store.claim('jkt:jti-1', Date.now() + 5000), false);
      const ttl = await redis.pttl(`${prefix}jkt:jti-1`);
      assert.ok(ttl > 0 && ttl <= 5000, `ttl ${ttl}`);
      // Through verifyRequest: two verifiers (two instances of a service) sharing the store see one replay.
      const live = {
        ...base,
        clock: Date.now,
        dpop: 'allowed' as const,
        dpopOptions: { replayStore: store },
      };
      const [va, vb] = [createVerifier(live), createVerifier(live)];
      const nowS = Math.floor(Date.now() / 1000);
      const liveToken = issuer.signer.sign(claims({ cnf: { jkt }, iat: nowS, exp: nowS + 60 }));
      const liveProof = proofFor(liveToken, { iat: nowS });
      await va.verifyRequest(dpopRequest(liveToken, liveProof));
      assert.equal(
        await codeOf(vb.verifyRequest(dpopRequest(liveToken, liveProof))),
        'ERR_DPOP_PROOF_REPLAYED',
      );
    } finally {
      redis.disconnect();
    }
  });

  test('redis: a failing client fails closed with ERR_DPOP_REPLAY_CHECK_FAILED', async () => {
    const store = createRedisDpopReplayStore({
      client: { set: () => Promise.reject(new Error('ECONNREFUSED')) },
    });
    const v = verifier('allowed', { replayStore: store });
    const token = boundToken();
    assert.equal(
      await codeOf(v.verifyRequest(dpopRequest(token, proofFor(token)))),
      'ERR_DPOP_REPLAY_CHECK_FAILED',
    );
  });
});
