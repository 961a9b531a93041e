/**
 * Two server instances on one PostgreSQL store and one Redis (issue 5): refresh rotation and single-use
 * assertion ids hold across instances because they rely only on the store's atomic operations. Skipped
 * outside CI when the services are not reachable (test/helpers/services.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JWT_BEARER_GRANT } from '../../src/oauth/grants/index.js';
import { pgUrl, randomSchema, redisUrl, TEST_REDIS_PREFIX } from '../helpers/services.js';
import {
  basic,
  makeClientKey,
  signAssertion,
  startHarness,
  type ClientKey,
  type Harness,
} from './harness.js';

const pg = await pgUrl();
const redis = await redisUrl();
const ISSUER = 'http://tessera.test';

describe(
  'two instances on PostgreSQL and Redis',
  { skip: (!pg || !redis) && 'PostgreSQL or Redis not reachable' },
  () => {
    let a: Harness;
    let b: Harness;
    let dataDir: string;
    let key: ClientKey;
    let auth: string;

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'tessera-multi-'));
      const store = new URL(pg!);
      store.searchParams.set('schema', randomSchema());
      // Instances behind one load balancer share one issuer.
      const values = {
        issuer: ISSUER,
        store: store.toString(),
        redis: redis!,
        'redis-prefix': TEST_REDIS_PREFIX,
        'rate-limit-client': '0',
        'rate-limit-ip': '0',
      };
      a = await startHarness(values, { dataDir });
      b = await startHarness(values, { dataDir });
      key = await makeClientKey();
      const { secret } = await a.addClient({
        id: 'login',
        grants: [JWT_BEARER_GRANT, 'refresh_token'],
        jwks: key.jwks,
      });
      auth = basic('login', secret!);
    });
    after(async () => {
      await a?.close();
      await b?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('a grant assertion is accepted by exactly one instance', async () => {
      const assertion = await signAssertion(key, { iss: 'login', sub: 'u1', aud: ISSUER });
      const form = { grant_type: JWT_BEARER_GRANT, assertion };
      const results = await Promise.all(
        [a, b, a, b].map((h) => h.post('/oauth/token', form, { authorization: auth })),
      );
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 400, 400, 400]);
    });

    it('of concurrent refreshes spread over both instances exactly one succeeds; the family is revoked', async () => {
      const assertion = await signAssertion(key, { iss: 'login', sub: 'u2', aud: `${ISSUER}/oauth/token` });
      const first = await a.post(
        '/oauth/token',
        { grant_type: JWT_BEARER_GRANT, assertion },
        { authorization: auth },
      );
      const token = String(first.json().refresh_token);
      const form = { grant_type: 'refresh_token', refresh_token: token };
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? a : b).post('/oauth/token', form, { authorization: auth }),
        ),
      );
      const winners = results.filter((r) => r.status === 200);
      assert.equal(winners.length, 1);
      const next = String(winners[0]!.json().refresh_token);
      const after = await b.post(
        '/oauth/token',
        { grant_type: 'refresh_token', refresh_token: next },
        { authorization: auth },
      );
      assert.equal(after.json().error, 'invalid_grant');
    });

    it('a JWT revoked on one instance is inactive on the other', async () => {
      const { secret } = await b.addClient({ id: 'svc', grants: ['client_credentials'] });
      const svcAuth = basic('svc', secret!);
      const token = String(
        (
          await a.post('/oauth/token', { grant_type: 'client_credentials' }, { authorization: svcAuth })
        ).json().access_token,
      );
      assert.equal(
        (await b.post('/oauth/introspect', { token }, { authorization: svcAuth })).json().active,
        true,
      );
      await b.post('/oauth/revoke', { token }, { authorization: svcAuth });
      assert.deepEqual((await a.post('/oauth/introspect', { token }, { authorization: svcAuth })).json(), {
        active: false,
      });
    });
  },
);
