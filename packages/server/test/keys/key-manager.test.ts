import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createVerifier } from '@tessera/jwt';
import pino from 'pino';
import { createMemoryStore } from '../../src/store/memory.js';
import { loadKEK, type KEK } from '../../src/keys/kek.js';
import { createKeyManager, revokeKey, rotateKeys, KeyOperationError } from '../../src/keys/key-manager.js';
import { loadConfig, type ServerConfig } from '../../src/server/config.js';
import type { Store } from '../../src/store/types.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'r', 't'];
const silent = pino({ level: 'silent' });
const S = 1000;

function setup(values: Record<string, string> = {}) {
  const config: ServerConfig = loadConfig({
    values: {
      'data-dir': '/tmp/unused',
      'rotation-interval': '100s',
      'jwks-max-age': '10s',
      'reload-interval': '1s',
      'max-access-ttl': '60s',
      'access-ttl': '60s',
      'clock-tolerance': '5s',
      ...values,
    },
  });
  const kek: KEK = loadKEK({ env: randomBytes(32).toString('base64url'), file: '/x', allowCreate: false });
  const store: Store = createMemoryStore();
  let now = 1_000_000 * S;
  const clock = () => now;
  const make = (instanceId = 'a') =>
    createKeyManager({ store, kek, config, log: silent, instanceId, clock, schedule: false });
  return { config, kek, store, make, advance: (ms: number) => (now += ms), clock };
}

test('first start creates one current and one next key; the JWKS lists both, current first', async () => {
  const { store, make } = setup();
  const km = await make();
  const keys = await store.listKeys();
  assert.deepEqual(keys.map((k) => k.state).sort(), ['current', 'next']);
  const jwks = km.published();
  assert.equal(jwks.keys.length, 2);
  assert.equal(jwks.keys[0]!.kid, km.signer().kid);
  assert.equal(jwks.maxAge, 10);
  assert.match(jwks.etag, /^"[A-Za-z0-9_-]+"$/);
  // A second start on the same store creates nothing.
  const again = await make('b');
  assert.equal((await store.listKeys()).length, 2);
  assert.equal(again.signer().kid, km.signer().kid);
  await km.close();
  await again.close();
});

for (const [alg, extra] of [
  ['ES256', {}],
  ['EdDSA', {}],
  ['RS256', { 'rsa-bits': '2048' }],
  ['PS256', { 'rsa-bits': '3072' }],
] as const) {
  test(`${alg}: kid is the RFC 7638 thumbprint, no private member is published, tokens verify`, async () => {
    const { make } = setup({ alg, ...extra });
    const km = await make();
    const body = km.published().body;
    for (const jwk of JSON.parse(body).keys) {
      for (const m of PRIVATE_MEMBERS) assert.equal(m in jwk, false, `${alg} JWKS leaks "${m}"`);
      assert.equal(jwk.alg, alg);
      assert.equal(jwk.use, 'sig');
    }
    const signer = km.signer();
    assert.equal(signer.alg, alg);
    const token = signer.sign(
      { iss: 'i', aud: 'a', exp: Math.floor(Date.now() / 1000) + 60 },
      { typ: 'at+jwt' },
    );
    const verifier = createVerifier({
      algorithms: [alg],
      issuer: 'i',
      audience: 'a',
      keys: km.keySource(),
      typ: 'at+jwt',
    });
    const { header } = await verifier.verify(token);
    assert.equal(header.kid, signer.kid);
    await km.close();
  });
}

test('scheduled rotation: promote after the interval once the next key is pre-published, retire, publish a new next', async () => {
  const { store, make, advance } = setup();
  const km = await make();
  const first = km.signer().kid;
  const next = km.published().keys.find((k) => k.kid !== first)!.kid;
  advance(99 * S);
  await km.tick();
  assert.equal(km.signer().kid, first);
  advance(1 * S);
  await km.tick();
  assert.equal(km.signer().kid, next);
  const keys = await store.listKeys();
  const retired = keys.find((k) => k.kid === first)!;
  assert.equal(retired.state, 'retired');
  // retiredAt + 60 s lifetime + 1 s reload + 5 s tolerance + 10 s max-age
  assert.equal(retired.removeAfter, retired.retiredAt! + 76 * S);
  assert.equal(keys.filter((k) => k.state === 'next').length, 1);
  // The retired key stays published until removeAfter, then goes.
  assert.ok(km.published().keys.some((k) => k.kid === first));
  advance(76 * S);
  await km.tick();
  assert.ok(!km.published().keys.some((k) => k.kid === first));
  assert.equal(await store.getKey(first), undefined);
  const audit = (await store.listAudit(50)).map((e) => e.type);
  for (const t of ['key.created', 'key.activated', 'key.retired', 'key.removed'])
    assert.ok(audit.includes(t), t);
  assert.doesNotMatch(JSON.stringify(await store.listAudit(50)), /"d"|encrypted|PRIVATE/);
  await km.close();
});

test('several instances ticking at once rotate exactly once (lease + compare-and-set)', async () => {
  const { store, make, advance } = setup();
  const managers = await Promise.all(['a', 'b', 'c', 'd'].map((id) => make(id)));
  advance(200 * S);
  await Promise.all(managers.map((m) => m.tick()));
  const keys = await store.listKeys();
  assert.deepEqual(keys.map((k) => k.state).sort(), ['current', 'next', 'retired']);
  const activations = (await store.listAudit(100)).filter((e) => e.type === 'key.activated');
  assert.equal(activations.length, 1, 'one rotation (the first key is created current)');
  for (const m of managers) {
    await m.reload();
    assert.equal(m.signer().kid, keys.find((k) => k.state === 'current')!.kid);
    await m.close();
  }
});

test('rotateKeys refuses a next key younger than one JWKS max-age (a second rotation within one cache lifetime) unless forced', async () => {
  const { store, kek, config, make, advance, clock } = setup();
  const km = await make();
  const before = km.signer().kid;
  const published = JSON.stringify(await store.listKeys());
  // The next key was published 0 s ago: verifiers with a cached JWKS have never seen it.
  await assert.rejects(
    rotateKeys(store, kek, config, { now: clock() }),
    (e: unknown) =>
      e instanceof KeyOperationError &&
      e.code === 'ERR_KEY_NOT_PREPUBLISHED' &&
      /published for 0s, less than the JWKS cache lifetime \(--jwks-max-age 10s\) plus the reload interval \(1s\)/.test(
        e.message,
      ) &&
      /Wait 11s .* --force/.test(e.message),
  );
  assert.equal(JSON.stringify(await store.listKeys()), published, 'nothing changed');
  const r1 = await rotateKeys(store, kek, config, { now: clock(), force: true });
  assert.match(r1.warning ?? '', /published for 0s, less than the JWKS cache lifetime/);
  assert.deepEqual(r1.retired, [before]);
  await km.reload();
  assert.equal(km.signer().kid, r1.promoted);
  // Run again at once: the key the first rotation just published is refused too.
  advance(5 * S);
  await assert.rejects(rotateKeys(store, kek, config, { now: clock() }), {
    code: 'ERR_KEY_NOT_PREPUBLISHED',
  });
  // Once max-age plus the reload interval has passed since it was published, it rotates without a warning.
  advance(6 * S);
  const r2 = await rotateKeys(store, kek, config, { now: clock() });
  assert.equal(r2.warning, undefined);
  assert.equal(r2.promoted, r1.next);
  await km.close();
});

test('rotateKeys without a next key needs force', async () => {
  const { store, kek, config, make, clock } = setup();
  const km = await make();
  const next = (await store.listKeys()).find((k) => k.state === 'next')!;
  await store.deleteKey(next.kid);
  await assert.rejects(
    rotateKeys(store, kek, config, { now: clock() }),
    (e: unknown) => e instanceof KeyOperationError && e.code === 'ERR_NO_SUCCESSOR',
  );
  const r = await rotateKeys(store, kek, config, { now: clock(), force: true });
  assert.ok(r.warning);
  await km.close();
});

test('revokeKey: out of the JWKS at once, a successor signs, a kid entry goes on the feed', async () => {
  const { store, kek, config, make, clock } = setup();
  const km = await make();
  const victim = km.signer().kid;
  const r = await revokeKey(store, kek, config, victim, { now: clock() });
  assert.equal(r.previousState, 'current');
  assert.ok(r.successor);
  await km.reload();
  assert.equal(km.signer().kid, r.successor);
  assert.ok(!km.published().keys.some((k) => k.kid === victim));
  const feed = await store.listRevocations(0, 10, clock());
  assert.equal(feed.length, 1);
  assert.equal(feed[0]!.kind, 'kid');
  assert.equal(feed[0]!.value, victim);
  // Tokens it signed live at most 60 s (+1 s reload +5 s tolerance); the entry must outlive them.
  assert.ok(feed[0]!.expiresAt >= clock() + 66 * S);
  // There is again a pre-published next key.
  assert.ok((await store.listKeys()).some((k) => k.state === 'next'));
  assert.equal((await revokeKey(store, kek, config, victim, { now: clock() })).alreadyRevoked, true);
  await assert.rejects(revokeKey(store, kek, config, 'nope', { now: clock() }), {
    code: 'ERR_KEY_NOT_FOUND',
  });
  await km.close();
});

test('reload keeps serving the last good key set while the store is down', async () => {
  const { store, make } = setup();
  const km = await make();
  const jwks = km.published();
  const original = store.listKeys.bind(store);
  store.listKeys = async () => {
    throw new Error('connection refused');
  };
  await km.reload();
  await km.tick();
  assert.equal(km.published(), jwks);
  assert.ok(km.signer());
  store.listKeys = original;
  await km.close();
});

test('a wrong KEK fails before anything is written', async () => {
  const { store, config, make } = setup();
  const km = await make();
  await km.close();
  const before = JSON.stringify(await store.listKeys());
  const wrong = loadKEK({ env: randomBytes(32).toString('base64url'), file: '/x', allowCreate: false });
  await assert.rejects(
    createKeyManager({ store, kek: wrong, config, log: silent, instanceId: 'z', schedule: false }),
    /the KEK does not match the one the keys were encrypted with/,
  );
  assert.equal(JSON.stringify(await store.listKeys()), before);
});
