/**
 * The rotation test from the issue: tokens signed continuously by the server's current signer are verified
 * by a @tessera/jwt verifier that caches the JWKS for its max-age, through several scheduled rotations and
 * an on-demand one. Zero valid tokens may be rejected. After a key is revoked, its tokens are rejected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createVerifier, type TesseraError } from '@tessera/jwt';
import { startServer } from '../../src/server/start.js';
import { revokeKey, rotateKeys } from '../../src/keys/key-manager.js';
import { cachingJWKS, sleep, tempDir, testConfig } from './helpers.js';

test('zero valid tokens rejected through scheduled and on-demand rotations; revoked key tokens rejected', async (t) => {
  const { dir, cleanup } = tempDir();
  const server = await startServer(
    testConfig(dir, {
      'rotation-interval': '2s',
      'jwks-max-age': '1s',
      'reload-interval': '200ms',
      'access-ttl': '30s',
      'max-access-ttl': '30s',
      'clock-tolerance': '1s',
    }),
  );
  t.after(async () => {
    await server.close();
    cleanup();
  });
  const { store, config } = server.ctx;
  const jwks = cachingJWKS(`${server.url}/.well-known/jwks.json`);
  const verifier = createVerifier({
    algorithms: ['ES256'],
    issuer: config.issuer,
    audience: 'api',
    keys: jwks.source,
    typ: 'at+jwt',
    clockTolerance: 1,
  });

  const issued: { token: string; kid: string }[] = [];
  const rejected: string[] = [];
  let verified = 0;
  const sign = () => {
    const signer = server.keys.signer();
    const now = Math.floor(Date.now() / 1000);
    const token = signer.sign(
      { iss: config.issuer, aud: 'api', sub: 'svc', exp: now + 30, jti: randomUUID(), client_id: 'c' },
      { typ: 'at+jwt' },
    );
    issued.push({ token, kid: signer.kid });
    return token;
  };
  const check = async (token: string) => {
    try {
      await verifier.verify(token);
      verified++;
    } catch (err) {
      rejected.push((err as TesseraError).code ?? String(err));
    }
  };

  const start = Date.now();
  let manualRotation = false;
  while (Date.now() - start < 9000) {
    await check(sign());
    // Re-verify a token from a while ago: its key may be retired by now and must still verify.
    if (issued.length > 50) await check(issued[issued.length - 50]!.token);
    if (!manualRotation && Date.now() - start > 4500) {
      manualRotation = true;
      // Forced: the scheduled rotations publish a next key every 2 s, younger than max-age + reload.
      await rotateKeys(store, server.kek, config, { force: true });
    }
    await sleep(15);
  }
  const kids = new Set(issued.map((i) => i.kid));
  assert.deepEqual(rejected, [], `rejected ${rejected.length} of ${verified + rejected.length}`);
  assert.ok(kids.size >= 4, `expected several rotations, saw ${kids.size} signing keys`);
  const activations = (await store.listAudit(200)).filter((e) => e.type === 'key.activated');
  assert.ok(activations.some((e) => e.data['trigger'] === 'manual'));
  assert.ok(activations.filter((e) => e.data['trigger'] === 'schedule').length >= 2);
  // Each retirement happened once: no kid was retired twice, by racing ticks or otherwise.
  const retiredKids = (await store.listAudit(200))
    .filter((e) => e.type === 'key.retired')
    .map((e) => e.data['kid']);
  assert.equal(new Set(retiredKids).size, retiredKids.length);

  // Emergency revocation of the key signing now: its tokens stop verifying once the verifier's cached JWKS
  // (max-age 1 s) expires; a verifier following the revocation feed would drop them at once.
  const victim = server.keys.signer().kid;
  const victimTokens = issued.filter((i) => i.kid === victim).map((i) => i.token);
  victimTokens.push(sign());
  await revokeKey(store, server.kek, config, victim);
  await sleep(config.reloadInterval * 1000 + config.jwksMaxAge * 1000 + 100);
  assert.notEqual(server.keys.signer().kid, victim);
  for (const token of victimTokens)
    await assert.rejects(verifier.verify(token), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  await verifier.verify(sign());
  const feed = await store.listRevocations(0, 100, Date.now());
  assert.ok(feed.some((e) => e.kind === 'kid' && e.value === victim));
});
