// The floor of a code redemption on SQLite: its store steps alone, in this process, one redemption at a
// time, on a fresh database in the same temp directory the server uses. Four commits per redemption
// (redeem the code, start the refresh family, record what was issued, the replay marker) at SQLite's
// default `synchronous = FULL`: each commit waits for the disk, which is what bounds the HTTP rate.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tempDataDir } from './tessera-server.mjs';

const storeModule = new URL('../../packages/server/dist/src/store/index.js', import.meta.url);

/** Redemptions/s of the store work alone, for `seconds` (codes prepared beforehand, untimed). */
export async function redeemStoreFloor(seconds, count) {
  const { openSQLiteStore } = await import(storeModule.href);
  const data = tempDataDir('tessera-floor-');
  const store = await openSQLiteStore({ path: join(data.dir, 'floor.db') });
  try {
    const now = Date.now();
    const hashes = [];
    for (let i = 0; i < count; i++) {
      const hash = randomBytes(32).toString('base64url');
      hashes.push(hash);
      await store.insertAuthCode({
        hash,
        clientId: 'bench-web',
        redirectUri: 'http://127.0.0.1:9/callback',
        codeChallenge: randomBytes(32).toString('base64url'),
        nonce: 'bench-nonce',
        userId: 'user-1',
        sessionId: 'session-1',
        scope: ['openid', 'profile', 'orders:read'],
        authTime: now,
        amr: ['pwd'],
        acr: '1',
        createdAt: now,
        expiresAt: now + 600_000,
        usedAt: null,
        accessTokenJti: null,
        accessTokenExpiresAt: null,
        refreshFamilyId: null,
      });
    }
    let done = 0;
    const start = performance.now();
    const deadline = start + seconds * 1000;
    while (done < hashes.length && performance.now() < deadline) {
      const hash = hashes[done++];
      const t = Date.now();
      const redeemed = await store.redeemAuthCode(hash, t);
      if (redeemed.status !== 'redeemed') throw new Error('floor: a fresh code was not redeemable');
      await store.getUser('user-1');
      await store.getSession('session-1');
      const familyId = randomBytes(16).toString('base64url');
      await store.createFamily(
        {
          id: familyId,
          clientId: 'bench-web',
          sub: 'user-1',
          scope: redeemed.code.scope,
          claims: '{"auth_time":0,"acr":"1","amr":["pwd"],"sid":"session-1"}',
          createdAt: t,
          absoluteExpiresAt: t + 7 * 86_400_000,
          revokedAt: null,
          revokedReason: null,
          userId: 'user-1',
          sessionId: 'session-1',
        },
        {
          hash: randomBytes(32).toString('base64url'),
          familyId,
          createdAt: t,
          expiresAt: t + 86_400_000,
          usedAt: null,
        },
      );
      await store.recordCodeTokens(hash, {
        accessTokenJti: randomBytes(16).toString('base64url'),
        accessTokenExpiresAt: t + 900_000,
        refreshFamilyId: familyId,
      });
      await store.consumeOnce('code-replay', hash, t + 120_000, t);
    }
    return done / ((performance.now() - start) / 1000);
  } finally {
    await store.close();
    data.remove();
  }
}
