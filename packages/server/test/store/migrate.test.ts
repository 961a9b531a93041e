import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/cli/commands/migrate.js';
import type { CommandIO } from '../../src/cli/main.js';
import { openStore } from '../../src/store/open-store.js';
import { openSQLiteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { dropPgSchemas, pgUrl, randomSchema } from '../helpers/services.js';
import {
  clientFixture,
  codeFixture,
  familyFixture,
  keyFixture,
  opaqueFixture,
  pendingFixture,
  sessionFixture,
  tokenFixture,
  userFixture,
} from './contract.js';

// The command uses the real clock, so the fixtures are relative to it.
const NOW = Date.now();
const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'tessera-migrate-'));
const url = await pgUrl();
const schemas: string[] = [];
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (url) await dropPgSchemas(url, schemas);
});

let n = 0;
/** A fresh target: PostgreSQL when reachable, else (outside CI only, see pgUrl) another SQLite file. */
function targetSpec(): string {
  if (!url) return `sqlite:${join(dir, `target-${++n}.db`)}`;
  const schema = randomSchema();
  schemas.push(schema);
  const target = new URL(url);
  target.searchParams.set('schema', schema);
  return target.toString();
}

function captureIO(): CommandIO & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += String(c)));
  stderr.on('data', (c) => (err += String(c)));
  return { stdout, stderr, stdin: new PassThrough(), env: {}, out: () => out, err: () => err };
}

/** A source with every record kind, including things that must NOT be copied. */
async function seedSource(path: string): Promise<void> {
  const store = await openSQLiteStore({ path });
  const live = { absoluteExpiresAt: NOW + 7 * 24 * HOUR, createdAt: NOW - HOUR };
  await store.insertKey(keyFixture('k-current', { state: 'current', activatedAt: NOW - HOUR }));
  await store.insertKey(keyFixture('k-next', { createdAt: NOW }));
  await store.createClient(clientFixture('web'));
  await store.createClient(
    clientFixture('svc', { secretHash: null, authMethod: 'private_key_jwt', jwks: '{"keys":[]}' }),
  );
  // A live family rotated twice: t0 and t1 used, t2 current.
  await store.createFamily(
    familyFixture('fam-live', live),
    tokenFixture('t0', 'fam-live', { expiresAt: NOW + HOUR }),
  );
  await store.rotateRefreshToken(
    't0',
    { hash: 't1', createdAt: NOW - 50, expiresAt: NOW + HOUR, usedAt: null },
    NOW - 50,
  );
  await store.rotateRefreshToken(
    't1',
    { hash: 't2', createdAt: NOW - 40, expiresAt: NOW + HOUR, usedAt: null },
    NOW - 40,
  );
  await store.createFamily(familyFixture('fam-revoked', live), tokenFixture('r0', 'fam-revoked'));
  await store.revokeFamily('fam-revoked', 'logout', NOW - 10);
  await store.createFamily(
    familyFixture('fam-expired', { absoluteExpiresAt: NOW - 1 }),
    tokenFixture('e0', 'fam-expired'),
  );
  await store.addRevocation({ kind: 'jti', value: 'gone', expiresAt: NOW - 1, revokedAt: NOW - HOUR });
  await store.addRevocation({ kind: 'jti', value: 'j1', expiresAt: NOW + HOUR, revokedAt: NOW - 30 });
  await store.addRevocation({ kind: 'sub', value: 'user-9', expiresAt: NOW + HOUR, revokedAt: NOW - 20 });
  await store.insertOpaqueToken(opaqueFixture('o-live', { issuedAt: NOW, expiresAt: NOW + HOUR }));
  await store.insertOpaqueToken(opaqueFixture('o-dead', { issuedAt: NOW - HOUR, expiresAt: NOW - 1 }));
  // Sign-in records: users, consents and live sessions move; dead sessions, codes and pending do not.
  await store.createUser(
    userFixture('u1', { email: 'Ann@Example.com', passwordHash: 'phc', createdAt: NOW - 9 }),
  );
  await store.createUser(userFixture('u2', { disabled: true, createdAt: NOW - 8 }));
  await store.createPasskey({
    id: 'cred-1',
    userId: 'u1',
    publicKey: 'pQECAyYgASFYIA',
    counter: 7,
    transports: ['internal'],
    backedUp: false,
    name: 'Laptop',
    createdAt: NOW - 9,
    lastUsedAt: NOW - 3,
  });
  await store.grantConsent('u1', 'web', ['openid', 'profile'], NOW - 7);
  await store.grantConsent('u2', 'web', ['openid'], NOW - 6);
  const session = { createdAt: NOW - 5, idleExpiresAt: NOW + HOUR, absoluteExpiresAt: NOW + 24 * HOUR };
  await store.createSession(sessionFixture('s-live', { ...session, userId: 'u1' }));
  await store.createSession(sessionFixture('s-idle', { ...session, idleExpiresAt: NOW - 1 }));
  await store.insertAuthCode(codeFixture('code-1', { expiresAt: NOW + 60_000 }));
  await store.insertPending(pendingFixture('par-1', { expiresAt: NOW + 60_000 }));
  await store.appendAudit({ at: NOW - 3, type: 'key.created', data: { kid: 'k-current' } });
  await store.appendAudit({ at: NOW - 2, type: 'client.created', data: { id: 'web' } });
  await store.close();
}

describe(`tessera migrate: SQLite -> ${url ? 'PostgreSQL' : 'SQLite (PostgreSQL not reachable)'}`, () => {
  const sourcePath = join(dir, 'source.db');
  const source = `sqlite:${sourcePath}`;
  before(() => seedSource(sourcePath));

  it('copies every live record kind and prints counts', async () => {
    const to = targetSpec();
    const io = captureIO();
    assert.equal(await run(['--from', source, '--to', to, '--json'], io), 0, io.err());
    const report = JSON.parse(io.out()) as { counts: Record<string, number> };
    assert.deepEqual(report.counts, {
      keys: 2,
      clients: 2,
      refreshFamilies: 1,
      refreshTokens: 3,
      revocations: 2,
      opaqueTokens: 1,
      auditEvents: 2,
      users: 2,
      consents: 2,
      sessions: 1,
      identityProviders: 0,
      identityLinks: 0,
      passkeys: 1,
      skipped: 0,
    });

    const src = await openSQLiteStore({ path: sourcePath });
    const dst: Store = await openStore(to, { dataDir: dir });
    try {
      assert.deepEqual(await dst.listKeys(), await src.listKeys());
      assert.deepEqual(await dst.listClients(), await src.listClients());
      assert.deepEqual(await dst.listLiveFamilies(NOW), await src.listLiveFamilies(NOW));
      assert.deepEqual(await dst.listFamilyTokens('fam-live'), await src.listFamilyTokens('fam-live'));
      assert.equal(await dst.getFamily('fam-revoked'), undefined);
      assert.deepEqual(
        (await dst.listRevocations(0, 10, NOW)).map((r) => [r.kind, r.value, r.expiresAt, r.revokedAt]),
        [
          ['jti', 'j1', NOW + HOUR, NOW - 30],
          ['sub', 'user-9', NOW + HOUR, NOW - 20],
        ],
      );
      assert.deepEqual(await dst.getOpaqueToken('o-live'), await src.getOpaqueToken('o-live'));
      assert.equal(await dst.getOpaqueToken('o-dead'), undefined);
      assert.deepEqual(await dst.listUsers(), await src.listUsers());
      assert.equal((await dst.getUserByEmail('ann@example.com'))?.id, 'u1', 'email still unique by case');
      assert.deepEqual(await dst.listUserPasskeys('u1'), await src.listUserPasskeys('u1'), 'counter kept');
      assert.deepEqual(await dst.getConsent('u1', 'web'), await src.getConsent('u1', 'web'));
      assert.deepEqual(await dst.getConsent('u2', 'web'), await src.getConsent('u2', 'web'));
      assert.deepEqual(await dst.getSession('s-live'), await src.getSession('s-live'));
      assert.equal(await dst.getSession('s-idle'), undefined);
      assert.deepEqual(await dst.redeemAuthCode('code-1', NOW), { status: 'unknown' });
      assert.equal(await dst.getPending('par', 'par-1', NOW), undefined);
      const audit = await dst.listAudit(10);
      assert.equal(audit[0]?.type, 'store.migrated');
      assert.deepEqual(audit.slice(1), await src.listAudit(10));
      // Reuse detection survived: the used t1 is reuse, the current t2 rotates.
      const next = { hash: 'x', createdAt: NOW, expiresAt: NOW + HOUR, usedAt: null };
      assert.equal((await dst.rotateRefreshToken('t1', next, NOW)).status, 'reused');
      assert.equal((await dst.rotateRefreshToken('t2', next, NOW)).status, 'rotated');
    } finally {
      await src.close();
      await dst.close();
    }

    // A second run refuses (the target has keys); --force skips what is there and duplicates nothing.
    const again = captureIO();
    assert.equal(await run(['--from', source, '--to', to], again), 1);
    assert.match(again.err(), /already has signing keys/);
    const forced = captureIO();
    assert.equal(await run(['--from', source, '--to', to, '--force', '--json'], forced), 0, forced.err());
    const counts = (JSON.parse(forced.out()) as { counts: Record<string, number> }).counts;
    assert.equal(counts.keys, 0);
    assert.equal(counts.revocations, 0);
    assert.equal(counts.auditEvents, 0);
    assert.equal(counts.users, 0);
    assert.equal(counts.consents, 0);
    assert.equal(counts.sessions, 0);
    assert.equal(counts.passkeys, 0);
    assert.ok(counts.skipped >= 13, `skipped ${counts.skipped}`);
    const check = await openStore(to, { dataDir: dir });
    try {
      assert.equal((await check.listKeys()).length, 2);
      assert.equal((await check.listRevocations(0, 10, NOW)).length, 2);
    } finally {
      await check.close();
    }
  });

  it('prints a human summary by default', async () => {
    const io = captureIO();
    assert.equal(await run(['--from', source, '--to', targetSpec()], io), 0, io.err());
    assert.match(io.out(), /keys\s+2\n/);
    assert.match(io.out(), /refresh families\s+1 \(3 tokens\)/);
    assert.match(io.out(), /users\s+2\n\s+consents\s+2\n\s+sessions\s+1\n/);
  });

  it('documents itself and rejects bad usage', async () => {
    const help = captureIO();
    assert.equal(await run(['--help'], help), 0);
    assert.match(help.out(), /same\s+TESSERA_KEK/);
    assert.match(help.out(), /reset: true/);
    assert.equal(await run(['--from', source], captureIO()), 2, '--to is required');
    assert.equal(await run(['--from', source, '--to', 'mysql://x'], captureIO()), 2);
    assert.equal(await run(['--from', source, '--to', source], captureIO()), 2);
    const missing = captureIO();
    assert.equal(await run(['--from', `sqlite:${join(dir, 'nope.db')}`, '--to', targetSpec()], missing), 1);
    assert.match(missing.err(), /no database/);
  });
});
