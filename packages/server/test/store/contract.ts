/**
 * The store contract: one suite every Store implementation runs (memory, SQLite, PostgreSQL). Each case
 * opens its own store through `open`, which must hand out an isolated, empty store every time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  StoreConflictError,
  type ClientRecord,
  type KeyRecord,
  type OpaqueTokenRecord,
  type RefreshFamilyRecord,
  type RefreshTokenRecord,
  type RevocationKind,
  type Store,
} from '../../src/store/types.js';

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z: a fixed clock, never Date.now()
const HOUR = 3_600_000;

export function keyFixture(kid: string, overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    kid,
    alg: 'ES256',
    state: 'next',
    publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}`, kid }),
    encryptedPrivateKey: `v1.iv.${kid}.tag`,
    createdAt: T0,
    publishedAt: T0,
    activatedAt: null,
    retiredAt: null,
    removeAfter: null,
    revokedAt: null,
    ...overrides,
  };
}

export function clientFixture(id: string, overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    id,
    secretHash: `hash-of-${id}`,
    authMethod: 'client_secret_basic',
    grants: ['client_credentials', 'refresh_token'],
    audience: ['https://api.example'],
    scope: ['read', 'write'],
    jwks: null,
    tokenFormat: 'jwt',
    accessTtl: 900,
    allowedClaims: ['tenant_id'],
    refreshAbsoluteTtl: 7 * 86400,
    refreshIdleTtl: 86400,
    createdAt: T0,
    introspectAudiences: [],
    redirectUris: [],
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    updatedAt: null,
    ...overrides,
  };
}

export function familyFixture(id: string, overrides: Partial<RefreshFamilyRecord> = {}): RefreshFamilyRecord {
  return {
    id,
    clientId: 'app',
    sub: 'user-1',
    scope: ['read'],
    claims: JSON.stringify({ tenant_id: 't1' }),
    createdAt: T0,
    absoluteExpiresAt: T0 + 7 * 24 * HOUR,
    revokedAt: null,
    revokedReason: null,
    ...overrides,
  };
}

export function tokenFixture(hash: string, familyId: string, overrides: Partial<RefreshTokenRecord> = {}) {
  return { hash, familyId, createdAt: T0, expiresAt: T0 + 24 * HOUR, usedAt: null, ...overrides };
}

export function opaqueFixture(hash: string, overrides: Partial<OpaqueTokenRecord> = {}): OpaqueTokenRecord {
  return {
    hash,
    clientId: 'app',
    sub: 'user-1',
    scope: ['read'],
    audience: ['https://api.example'],
    claims: '{}',
    jti: `jti-${hash}`,
    issuedAt: T0,
    expiresAt: T0 + HOUR,
    ...overrides,
  };
}

const isConflict = (err: unknown): boolean => err instanceof StoreConflictError;

export function runStoreContract(name: string, open: () => Promise<Store>): void {
  /** Each case gets a fresh store and always closes it. */
  const withStore = (fn: (store: Store) => Promise<void>) => async () => {
    const store = await open();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe(`store contract: ${name}`, () => {
    it(
      'answers ping and names its kind',
      withStore(async (store) => {
        await store.ping();
        assert.match(store.kind, /^(memory|sqlite|postgres)$/);
      }),
    );

    describe('keys', () => {
      it(
        'inserts, reads back every field and lists in creation order',
        withStore(async (store) => {
          const b = keyFixture('kid-b', { createdAt: T0 + 1, state: 'current', activatedAt: T0 + 5 });
          const a = keyFixture('kid-a', {
            alg: 'RS256',
            removeAfter: T0 + 9,
            retiredAt: T0 + 8,
            revokedAt: T0 + 7,
          });
          await store.insertKey(b);
          await store.insertKey(a);
          assert.deepEqual(await store.getKey('kid-a'), a);
          assert.deepEqual(await store.getKey('kid-b'), b);
          assert.equal(await store.getKey('missing'), undefined);
          assert.deepEqual(await store.listKeys(), [a, b]);
        }),
      );

      it(
        'rejects a duplicate kid with StoreConflictError and keeps the first',
        withStore(async (store) => {
          await store.insertKey(keyFixture('k1'));
          await assert.rejects(store.insertKey(keyFixture('k1', { alg: 'PS256' })), isConflict);
          assert.equal((await store.getKey('k1'))?.alg, 'ES256');
        }),
      );

      it(
        'transitionKey applies changes only from the expected state',
        withStore(async (store) => {
          await store.insertKey(keyFixture('k1'));
          assert.equal(
            await store.transitionKey('k1', 'current', { state: 'retired', retiredAt: T0 + 1 }),
            false,
          );
          assert.equal((await store.getKey('k1'))?.state, 'next');
          assert.equal(
            await store.transitionKey('k1', 'next', { state: 'current', activatedAt: T0 + 2 }),
            true,
          );
          const key = await store.getKey('k1');
          assert.deepEqual(key, keyFixture('k1', { state: 'current', activatedAt: T0 + 2 }));
          assert.equal(await store.transitionKey('missing', 'next', { state: 'current' }), false);
        }),
      );

      it(
        'of racing transitionKey calls exactly one wins',
        withStore(async (store) => {
          await store.insertKey(keyFixture('k1'));
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              store.transitionKey('k1', 'next', { state: 'current', activatedAt: T0 + i }),
            ),
          );
          assert.equal(results.filter(Boolean).length, 1);
          const winner = results.indexOf(true);
          assert.equal((await store.getKey('k1'))?.activatedAt, T0 + winner);
        }),
      );

      it(
        'deletes a key',
        withStore(async (store) => {
          await store.insertKey(keyFixture('k1'));
          await store.insertKey(keyFixture('k2'));
          await store.deleteKey('k1');
          await store.deleteKey('missing');
          assert.deepEqual(
            (await store.listKeys()).map((k) => k.kid),
            ['k2'],
          );
        }),
      );
    });

    describe('clients', () => {
      it(
        'creates, reads back every field, lists and deletes',
        withStore(async (store) => {
          const web = clientFixture('web', { createdAt: T0 + 1 });
          const svc = clientFixture('svc', {
            secretHash: null,
            authMethod: 'private_key_jwt',
            jwks: '{"keys":[]}',
            tokenFormat: 'opaque',
            grants: ['client_credentials'],
            audience: [],
            scope: [],
            allowedClaims: [],
          });
          await store.createClient(web);
          await store.createClient(svc);
          assert.deepEqual(await store.getClient('web'), web);
          assert.deepEqual(await store.getClient('svc'), svc);
          assert.deepEqual(await store.listClients(), [svc, web]);
          assert.equal(await store.deleteClient('web'), true);
          assert.equal(await store.deleteClient('web'), false);
          assert.equal(await store.getClient('web'), undefined);
        }),
      );

      it(
        'reads a record written without the lifecycle fields back with their defaults (no introspection permission)',
        withStore(async (store) => {
          const {
            introspectAudiences: _a,
            redirectUris: _r,
            previousSecretHash: _p,
            previousSecretExpiresAt: _e,
            updatedAt: _u,
            ...bare
          } = clientFixture('old');
          await store.createClient(bare);
          assert.deepEqual(await store.getClient('old'), clientFixture('old'));
        }),
      );

      it(
        'updateClient replaces every field but id and createdAt; false (and nothing created) for an unknown id',
        withStore(async (store) => {
          await store.createClient(clientFixture('web'));
          const changed = clientFixture('web', {
            secretHash: 'new-hash',
            audience: ['orders-api'],
            scope: ['read'],
            jwks: '{"keys":[]}',
            tokenFormat: 'opaque',
            accessTtl: 60,
            allowedClaims: [],
            introspectAudiences: ['orders-api', 'billing-api'],
            redirectUris: ['https://app.example/cb'],
            previousSecretHash: 'hash-of-web',
            previousSecretExpiresAt: T0 + HOUR,
            updatedAt: T0 + 5,
            createdAt: T0 + 99,
          });
          assert.equal(await store.updateClient(changed), true);
          assert.deepEqual(await store.getClient('web'), { ...changed, createdAt: T0 });
          assert.equal(await store.updateClient(clientFixture('ghost')), false);
          assert.equal(await store.getClient('ghost'), undefined);
          assert.equal((await store.listClients()).length, 1);
        }),
      );

      it(
        "revokeClientTokens deletes its opaque tokens and revokes its live families, nobody else's",
        withStore(async (store) => {
          await store.insertOpaqueToken(opaqueFixture('o1', { clientId: 'gone' }));
          await store.insertOpaqueToken(opaqueFixture('o2', { clientId: 'gone', expiresAt: T0 + 2 * HOUR }));
          await store.insertOpaqueToken(opaqueFixture('o3', { clientId: 'other' }));
          await store.createFamily(familyFixture('f1', { clientId: 'gone' }), tokenFixture('h1', 'f1'));
          await store.createFamily(familyFixture('f2', { clientId: 'gone' }), tokenFixture('h2', 'f2'));
          await store.createFamily(familyFixture('f3', { clientId: 'other' }), tokenFixture('h3', 'f3'));
          // Already revoked (reuse): keeps its own reason and time.
          await store.createFamily(familyFixture('f4', { clientId: 'gone' }), tokenFixture('h4', 'f4'));
          await store.revokeFamily('f4', 'reuse', T0 + 1);

          assert.deepEqual(await store.revokeClientTokens('gone', T0 + 10), {
            opaqueTokens: 2,
            refreshFamilies: 2,
          });
          assert.equal(await store.getOpaqueToken('o1'), undefined);
          assert.equal(await store.getOpaqueToken('o2'), undefined);
          assert.ok(await store.getOpaqueToken('o3'));
          for (const id of ['f1', 'f2']) {
            const family = await store.getFamily(id);
            assert.equal(family?.revokedAt, T0 + 10);
            assert.equal(family?.revokedReason, 'client_deleted');
          }
          assert.equal((await store.getFamily('f3'))?.revokedAt, null);
          assert.equal((await store.getFamily('f4'))?.revokedReason, 'reuse');
          assert.deepEqual(await store.revokeClientTokens('gone', T0 + 20), {
            opaqueTokens: 0,
            refreshFamilies: 0,
          });
        }),
      );

      it(
        'rejects a duplicate id with StoreConflictError',
        withStore(async (store) => {
          await store.createClient(clientFixture('web'));
          await assert.rejects(store.createClient(clientFixture('web', { accessTtl: 60 })), isConflict);
          assert.equal((await store.getClient('web'))?.accessTtl, 900);
        }),
      );
    });

    describe('refresh families', () => {
      it(
        'creates a family with its first token and reads both back',
        withStore(async (store) => {
          const family = familyFixture('f1');
          await store.createFamily(family, tokenFixture('h1', 'f1'));
          assert.deepEqual(await store.getFamily('f1'), family);
          assert.deepEqual(await store.getRefreshToken('h1'), tokenFixture('h1', 'f1'));
          assert.equal(await store.getFamily('nope'), undefined);
          assert.equal(await store.getRefreshToken('nope'), undefined);
        }),
      );

      it(
        'rejects a duplicate family as a whole (its token is not inserted either)',
        withStore(async (store) => {
          await store.createFamily(familyFixture('f1'), tokenFixture('h1', 'f1'));
          await assert.rejects(store.createFamily(familyFixture('f1'), tokenFixture('h2', 'f1')), isConflict);
          assert.equal(await store.getRefreshToken('h2'), undefined);
          await assert.rejects(store.createFamily(familyFixture('f2'), tokenFixture('h1', 'f2')), isConflict);
          assert.equal(await store.getFamily('f2'), undefined);
        }),
      );

      it(
        'rotates: marks the old token used, adds the next one; a second use is reuse; unknown is unknown',
        withStore(async (store) => {
          await store.createFamily(familyFixture('f1'), tokenFixture('h1', 'f1'));
          const next = { hash: 'h2', createdAt: T0 + 10, expiresAt: T0 + 10 + 24 * HOUR, usedAt: null };
          const first = await store.rotateRefreshToken('h1', next, T0 + 10);
          assert.equal(first.status, 'rotated');
          assert.deepEqual(first.family, familyFixture('f1'));
          assert.deepEqual(first.previous, tokenFixture('h1', 'f1', { usedAt: T0 + 10 }));
          assert.deepEqual(await store.getRefreshToken('h2'), { ...next, familyId: 'f1' });

          const again = await store.rotateRefreshToken('h1', { ...next, hash: 'h3' }, T0 + 20);
          assert.equal(again.status, 'reused');
          assert.equal(again.previous.usedAt, T0 + 10, 'reuse reports when the token was first used');
          assert.equal(await store.getRefreshToken('h3'), undefined);

          const chained = await store.rotateRefreshToken('h2', { ...next, hash: 'h4' }, T0 + 30);
          assert.equal(chained.status, 'rotated');
          assert.deepEqual(await store.rotateRefreshToken('nope', { ...next, hash: 'h5' }, T0), {
            status: 'unknown',
          });
          assert.equal(await store.getRefreshToken('h5'), undefined);
        }),
      );

      it(
        'of 20 concurrent rotations of one token exactly one rotates, the rest are reuse',
        withStore(async (store) => {
          await store.createFamily(familyFixture('f1'), tokenFixture('h0', 'f1'));
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              store.rotateRefreshToken(
                'h0',
                { hash: `next-${i}`, createdAt: T0 + 1, expiresAt: T0 + HOUR, usedAt: null },
                T0 + 1,
              ),
            ),
          );
          const statuses = results.map((r) => r.status);
          assert.equal(statuses.filter((s) => s === 'rotated').length, 1);
          assert.equal(statuses.filter((s) => s === 'reused').length, 19);
          const winner = statuses.indexOf('rotated');
          const tokens = await store.listFamilyTokens('f1');
          assert.deepEqual(tokens.map((t) => t.hash).sort(), ['h0', `next-${winner}`].sort());
        }),
      );

      it(
        'a rotation whose next hash collides changes nothing (one transaction)',
        withStore(async (store) => {
          await store.createFamily(familyFixture('f1'), tokenFixture('h1', 'f1'));
          await store.createFamily(familyFixture('f2'), tokenFixture('taken', 'f2'));
          await assert.rejects(
            store.rotateRefreshToken(
              'h1',
              { hash: 'taken', createdAt: T0, expiresAt: T0 + HOUR, usedAt: null },
              T0 + 1,
            ),
            isConflict,
          );
          assert.equal(
            (await store.getRefreshToken('h1'))?.usedAt,
            null,
            'the old token must still be unused',
          );
        }),
      );

      it(
        'revokeFamily: true once for a live family, false after, for unknown and for an expired family',
        withStore(async (store) => {
          await store.createFamily(familyFixture('f1'), tokenFixture('h1', 'f1'));
          await store.createFamily(
            familyFixture('old', { absoluteExpiresAt: T0 + 5 }),
            tokenFixture('h2', 'old'),
          );
          assert.equal(await store.revokeFamily('f1', 'reuse', T0 + 1), true);
          assert.equal(await store.revokeFamily('f1', 'logout', T0 + 2), false);
          const family = await store.getFamily('f1');
          assert.equal(family?.revokedAt, T0 + 1);
          assert.equal(family?.revokedReason, 'reuse');
          assert.equal(await store.revokeFamily('nope', 'x', T0), false);
          assert.equal(await store.revokeFamily('old', 'x', T0 + 10), false);
        }),
      );

      it(
        'listLiveFamilies skips revoked and expired families; listFamilyTokens lists in creation order',
        withStore(async (store) => {
          await store.createFamily(familyFixture('live2', { createdAt: T0 + 2 }), tokenFixture('a', 'live2'));
          await store.createFamily(familyFixture('live1', { createdAt: T0 + 1 }), tokenFixture('b', 'live1'));
          await store.createFamily(familyFixture('revoked'), tokenFixture('c', 'revoked'));
          await store.createFamily(
            familyFixture('expired', { absoluteExpiresAt: T0 + 100 }),
            tokenFixture('d', 'expired'),
          );
          await store.revokeFamily('revoked', 'logout', T0 + 50);
          assert.deepEqual(
            (await store.listLiveFamilies(T0 + 100)).map((f) => f.id),
            ['live1', 'live2'],
          );
          assert.deepEqual(
            (await store.listLiveFamilies(T0 + 99)).map((f) => f.id),
            ['expired', 'live1', 'live2'],
          );
          await store.rotateRefreshToken(
            'b',
            { hash: 'b2', createdAt: T0 + 5, expiresAt: T0 + HOUR, usedAt: null },
            T0 + 5,
          );
          await store.rotateRefreshToken(
            'b2',
            { hash: 'b3', createdAt: T0 + 6, expiresAt: T0 + HOUR, usedAt: null },
            T0 + 6,
          );
          assert.deepEqual(
            (await store.listFamilyTokens('live1')).map((t) => [t.hash, t.usedAt]),
            [
              ['b', T0 + 5],
              ['b2', T0 + 6],
              ['b3', null],
            ],
          );
          assert.deepEqual(await store.listFamilyTokens('nope'), []);
        }),
      );

      it(
        'purgeRefresh deletes expired tokens and dead families with their tokens, and counts them',
        withStore(async (store) => {
          const now = T0 + 2 * HOUR;
          await store.createFamily(
            familyFixture('live'),
            tokenFixture('old', 'live', { expiresAt: T0 + HOUR }),
          );
          await store.rotateRefreshToken(
            'old',
            { hash: 'fresh', createdAt: T0 + 1, expiresAt: T0 + 24 * HOUR, usedAt: null },
            T0 + 1,
          );
          await store.createFamily(familyFixture('revoked'), tokenFixture('r1', 'revoked'));
          await store.revokeFamily('revoked', 'logout', T0 + 1);
          await store.createFamily(
            familyFixture('expired', { absoluteExpiresAt: now }),
            tokenFixture('e1', 'expired'),
          );
          // old (expired) + r1 + e1 tokens, revoked + expired families
          assert.equal(await store.purgeRefresh(now), 5);
          assert.equal(await store.getRefreshToken('old'), undefined);
          assert.ok(await store.getRefreshToken('fresh'));
          assert.ok(await store.getFamily('live'));
          assert.equal(await store.getFamily('revoked'), undefined);
          assert.equal(await store.getFamily('expired'), undefined);
          assert.equal(await store.getRefreshToken('r1'), undefined);
          assert.equal(await store.purgeRefresh(now), 0);
        }),
      );
    });

    describe('revocations', () => {
      const entry = (value: string, expiresAt = T0 + HOUR, kind: RevocationKind = 'jti') => ({
        kind,
        value,
        expiresAt,
        revokedAt: T0,
      });

      it(
        'assigns increasing seqs and reports the latest',
        withStore(async (store) => {
          assert.equal(await store.latestRevocationSeq(), 0);
          const a = await store.addRevocation(entry('a'));
          const b = await store.addRevocation(entry('b', T0 + 2 * HOUR, 'sub'));
          assert.ok(a.seq > 0);
          assert.ok(b.seq > a.seq);
          assert.deepEqual(b, { seq: b.seq, ...entry('b', T0 + 2 * HOUR, 'sub') });
          assert.equal(await store.latestRevocationSeq(), b.seq);
        }),
      );

      it(
        'adding the same (kind, value) again returns the first entry; another kind is a new entry',
        withStore(async (store) => {
          const first = await store.addRevocation(entry('a'));
          const again = await store.addRevocation({ ...entry('a', T0 + 5 * HOUR), revokedAt: T0 + 1 });
          assert.deepEqual(again, first);
          assert.equal(await store.latestRevocationSeq(), first.seq);
          const other = await store.addRevocation(entry('a', T0 + HOUR, 'sub'));
          assert.ok(other.seq > first.seq);
          assert.equal((await store.listRevocations(0, 100, T0)).length, 2);
        }),
      );

      it(
        'a later `client` entry (client deleted, recreated, deleted again) replaces the live one under a new seq',
        withStore(async (store) => {
          const first = await store.addRevocation(entry('svc', T0 + 2 * HOUR, 'client'));
          const retried = await store.addRevocation(entry('svc', T0 + 2 * HOUR, 'client'));
          assert.deepEqual(retried, first, 'the same instant again is a retry, not a new entry');
          const later = await store.addRevocation({
            ...entry('svc', T0 + HOUR, 'client'),
            revokedAt: T0 + 50,
          });
          assert.ok(later.seq > first.seq);
          // The later instant covers more tokens; the entry lasts as long as either needed.
          assert.deepEqual(later, {
            seq: later.seq,
            kind: 'client',
            value: 'svc',
            revokedAt: T0 + 50,
            expiresAt: T0 + 2 * HOUR,
          });
          assert.deepEqual(await store.listRevocations(0, 10, T0), [later]);
          assert.deepEqual(await store.getRevocation('client', 'svc', T0), later);
          const earlier = await store.addRevocation({
            ...entry('svc', T0 + 3 * HOUR, 'client'),
            revokedAt: T0 + 1,
          });
          assert.deepEqual(earlier, later, 'an earlier instant covers nothing more');
        }),
      );

      it(
        'getRevocation returns the live entry of (kind, value), not an expired one or another kind',
        withStore(async (store) => {
          const a = await store.addRevocation(entry('svc', T0 + 10, 'client'));
          assert.deepEqual(await store.getRevocation('client', 'svc', T0), a);
          assert.equal(await store.getRevocation('client', 'svc', T0 + 10), undefined);
          assert.equal(await store.getRevocation('jti', 'svc', T0), undefined);
          assert.equal(await store.getRevocation('client', 'other', T0), undefined);
        }),
      );

      it(
        'lists entries after `since`, in seq order, at most `limit`, skipping expired ones',
        withStore(async (store) => {
          const added = [];
          for (const [i, value] of ['a', 'b', 'c', 'd', 'e'].entries()) {
            added.push(await store.addRevocation(entry(value, value === 'c' ? T0 + 10 : T0 + HOUR + i)));
          }
          assert.deepEqual(await store.listRevocations(0, 2, T0), added.slice(0, 2));
          assert.deepEqual(await store.listRevocations(added[1]!.seq, 10, T0), added.slice(2));
          const later = await store.listRevocations(0, 10, T0 + 10);
          assert.deepEqual(
            later.map((r) => r.value),
            ['a', 'b', 'd', 'e'],
          );
          assert.deepEqual(await store.listRevocations(added[4]!.seq, 10, T0), []);
          assert.deepEqual(await store.listRevocations(0, 0, T0), []);
        }),
      );

      it(
        'isRevoked matches kind and value until expiry',
        withStore(async (store) => {
          await store.addRevocation(entry('a', T0 + 100));
          assert.equal(await store.isRevoked('jti', 'a', T0 + 99), true);
          assert.equal(await store.isRevoked('jti', 'a', T0 + 100), false);
          assert.equal(await store.isRevoked('sub', 'a', T0), false);
          assert.equal(await store.isRevoked('jti', 'b', T0), false);
        }),
      );

      it(
        'purge drops expired entries without moving the cursor back; an expired value can be revoked anew',
        withStore(async (store) => {
          const a = await store.addRevocation(entry('a', T0 + 10));
          const b = await store.addRevocation(entry('b', T0 + 20));
          assert.equal(await store.purgeRevocations(T0 + 15), 1);
          assert.equal(await store.latestRevocationSeq(), b.seq);
          assert.deepEqual(await store.listRevocations(0, 10, T0), [b]);
          await store.purgeRevocations(T0 + 30);
          assert.equal(await store.latestRevocationSeq(), b.seq, 'seq must survive purging every row');
          const c = await store.addRevocation({ ...entry('c'), revokedAt: T0 + 30 });
          assert.ok(c.seq > b.seq, 'a purged seq is never handed out again');
          // Not purged yet, but expired at its revokedAt: the new revocation gets a new entry.
          const d = await store.addRevocation(entry('d', T0 + 10));
          const d2 = await store.addRevocation({ ...entry('d', T0 + HOUR), revokedAt: T0 + 20 });
          assert.ok(d2.seq > d.seq && d2.seq > a.seq);
          assert.equal(await store.isRevoked('jti', 'd', T0 + 30), true);
        }),
      );

      it(
        'concurrent adds get distinct seqs and all appear in order',
        withStore(async (store) => {
          const added = await Promise.all(
            Array.from({ length: 15 }, (_, i) => store.addRevocation(entry(`v${i}`))),
          );
          const seqs = added.map((r) => r.seq);
          assert.equal(new Set(seqs).size, 15);
          const listed = await store.listRevocations(0, 100, T0);
          assert.deepEqual(
            listed.map((r) => r.seq),
            [...seqs].sort((x, y) => x - y),
          );
          assert.equal(await store.latestRevocationSeq(), Math.max(...seqs));
        }),
      );
    });

    describe('opaque tokens', () => {
      it(
        'inserts, reads back, lists unexpired, deletes and rejects duplicates',
        withStore(async (store) => {
          const a = opaqueFixture('a', { scope: ['read', 'write'], claims: '{"tenant_id":"t1"}' });
          const b = opaqueFixture('b', { issuedAt: T0 + 1, expiresAt: T0 + 10 });
          await store.insertOpaqueToken(a);
          await store.insertOpaqueToken(b);
          await assert.rejects(store.insertOpaqueToken(opaqueFixture('a', { sub: 'other' })), isConflict);
          assert.deepEqual(await store.getOpaqueToken('a'), a);
          assert.equal(await store.getOpaqueToken('zz'), undefined);
          assert.deepEqual(await store.listOpaqueTokens(T0), [a, b]);
          assert.deepEqual(await store.listOpaqueTokens(T0 + 10), [a]);
          assert.equal(await store.deleteOpaqueToken('a'), true);
          assert.equal(await store.deleteOpaqueToken('a'), false);
          assert.equal(await store.getOpaqueToken('a'), undefined);
        }),
      );

      it(
        'purges expired tokens',
        withStore(async (store) => {
          await store.insertOpaqueToken(opaqueFixture('a', { expiresAt: T0 + 10 }));
          await store.insertOpaqueToken(opaqueFixture('b', { expiresAt: T0 + 20 }));
          assert.equal(await store.purgeOpaqueTokens(T0 + 10), 1);
          assert.equal(await store.getOpaqueToken('a'), undefined);
          assert.ok(await store.getOpaqueToken('b'));
        }),
      );
    });

    describe('used ids', () => {
      it(
        'consumeOnce is true once per (namespace, id) until expiry, then the id may be reused',
        withStore(async (store) => {
          assert.equal(await store.consumeOnce('jti', 'x', T0 + 100, T0), true);
          assert.equal(await store.consumeOnce('jti', 'x', T0 + 100, T0 + 50), false);
          assert.equal(await store.consumeOnce('code', 'x', T0 + 100, T0), true, 'namespaces are separate');
          assert.equal(
            await store.consumeOnce('jti', 'x', T0 + 200, T0 + 100),
            true,
            'expired: usable again',
          );
          assert.equal(await store.consumeOnce('jti', 'x', T0 + 300, T0 + 150), false, 'and remembered anew');
        }),
      );

      it(
        'of 20 concurrent consumeOnce calls exactly one is true',
        withStore(async (store) => {
          const results = await Promise.all(
            Array.from({ length: 20 }, () => store.consumeOnce('jti', 'race', T0 + 100, T0)),
          );
          assert.equal(results.filter(Boolean).length, 1);
        }),
      );

      it(
        'purges expired ids',
        withStore(async (store) => {
          await store.consumeOnce('jti', 'a', T0 + 10, T0);
          await store.consumeOnce('jti', 'b', T0 + 20, T0);
          assert.equal(await store.purgeUsedIds(T0 + 10), 1);
          assert.equal(await store.consumeOnce('jti', 'b', T0 + 20, T0 + 15), false);
        }),
      );
    });

    describe('audit', () => {
      it(
        'lists newest first, limited, with data intact',
        withStore(async (store) => {
          await store.appendAudit({ at: T0 + 1, type: 'key.created', data: { kid: 'k1', nested: { n: 1 } } });
          await store.appendAudit({ at: T0 + 3, type: 'key.rotated', data: { from: 'k1', to: 'k2' } });
          await store.appendAudit({ at: T0 + 3, type: 'client.created', data: { id: 'web' } });
          await store.appendAudit({ at: T0 + 2, type: 'key.published', data: {} });
          assert.deepEqual(await store.listAudit(10), [
            { at: T0 + 3, type: 'client.created', data: { id: 'web' } },
            { at: T0 + 3, type: 'key.rotated', data: { from: 'k1', to: 'k2' } },
            { at: T0 + 2, type: 'key.published', data: {} },
            { at: T0 + 1, type: 'key.created', data: { kid: 'k1', nested: { n: 1 } } },
          ]);
          assert.deepEqual(
            (await store.listAudit(2)).map((e) => e.type),
            ['client.created', 'key.rotated'],
          );
        }),
      );
    });

    describe('leases', () => {
      it(
        'the holder renews; another holder is blocked until expiry or release',
        withStore(async (store) => {
          assert.equal(await store.tryAcquireLease('rotation', 'a', 1000, T0), true);
          assert.equal(await store.tryAcquireLease('rotation', 'b', 1000, T0 + 500), false);
          assert.equal(await store.tryAcquireLease('rotation', 'a', 1000, T0 + 900), true, 'renewal');
          assert.equal(
            await store.tryAcquireLease('rotation', 'b', 1000, T0 + 1500),
            false,
            'renewal extended it',
          );
          assert.equal(await store.tryAcquireLease('other', 'b', 1000, T0), true, 'leases are independent');
          assert.equal(
            await store.tryAcquireLease('rotation', 'b', 1000, T0 + 1900),
            true,
            'expired: taken over',
          );
          await store.releaseLease('rotation', 'a'); // not the holder any more: no effect
          assert.equal(await store.tryAcquireLease('rotation', 'a', 1000, T0 + 2000), false);
          await store.releaseLease('rotation', 'b');
          assert.equal(await store.tryAcquireLease('rotation', 'a', 1000, T0 + 2000), true);
        }),
      );

      it(
        'of racing holders exactly one gets a free lease',
        withStore(async (store) => {
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) => store.tryAcquireLease('rotation', `h${i}`, 1000, T0)),
          );
          assert.equal(results.filter(Boolean).length, 1);
        }),
      );
    });
  });
}
