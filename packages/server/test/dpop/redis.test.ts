/**
 * Two server instances sharing Redis (and one data dir): a DPoP proof accepted by one is a replay at the
 * other, because the jti record lives in Redis (`SET NX PX`), not in either process. Skipped outside CI when
 * Redis is not reachable (test/helpers/services.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { randomPrefix, redisUrl } from '../helpers/services.js';
import { basic, startHarness, type Harness } from '../oauth/harness.js';
import { makeProof, makeProofKey } from './proofs.js';

const redis = await redisUrl();
const ISSUER = 'http://tessera.test';

describe(
  'DPoP proof replay across two instances sharing Redis',
  { skip: !redis && 'Redis not reachable' },
  () => {
    let a: Harness;
    let b: Harness;
    let dataDir: string;
    let auth: string;
    let prefix: string;

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'tessera-dpop-redis-'));
      prefix = randomPrefix();
      // Instances behind one load balancer share one issuer: proofs name its token endpoint.
      const values = {
        issuer: ISSUER,
        redis: redis!,
        'redis-prefix': prefix,
        'rate-limit-client': '0',
        'rate-limit-ip': '0',
      };
      a = await startHarness(values, { dataDir });
      b = await startHarness(values, { dataDir });
      const { secret } = await a.addClient({ id: 'svc', grants: ['client_credentials'] });
      auth = basic('svc', secret!);
    });
    after(async () => {
      await a?.close();
      await b?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('a proof accepted by instance A is refused by instance B (invalid_dpop_proof); the record is in Redis', async () => {
      const key = await makeProofKey();
      const jti = `replay-${Date.now()}`;
      const proof = await makeProof(key, { htu: `${ISSUER}/oauth/token`, jti });
      const form = { grant_type: 'client_credentials' };
      const first = await a.post('/oauth/token', form, { authorization: auth, dpop: proof });
      assert.equal(first.status, 200, first.body);
      assert.equal(first.json().token_type, 'DPoP');
      const replay = await b.post('/oauth/token', form, { authorization: auth, dpop: proof });
      assert.equal(replay.status, 400);
      assert.equal(replay.json().error, 'invalid_dpop_proof');
      assert.equal(replay.json().access_token, undefined);

      const id = createHash('sha256').update(key.jkt).update('\0').update(jti).digest('base64url');
      const client = new Redis(redis!, { lazyConnect: true });
      await client.connect();
      try {
        const ttl = await client.pttl(`${prefix}once:dpop_jti:${id}`);
        // Remembered for the whole acceptance span: 2 × 60 s window + 30 s clock tolerance.
        assert.ok(ttl > 100_000 && ttl <= 150_000, `ttl ${ttl}`);
      } finally {
        client.disconnect();
      }
    });

    it('concurrent use of one proof at both instances: exactly one token', async () => {
      const key = await makeProofKey();
      const proof = await makeProof(key, { htu: `${ISSUER}/oauth/token` });
      const form = { grant_type: 'client_credentials' };
      const results = await Promise.all(
        [a, b, a, b].map((h) => h.post('/oauth/token', form, { authorization: auth, dpop: proof })),
      );
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 400, 400, 400]);
    });
  },
);
