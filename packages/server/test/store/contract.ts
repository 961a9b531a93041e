/**
 * The store contract: one suite every Store implementation runs (memory, SQLite, PostgreSQL). Each case
 * opens its own store through `open`, which must hand out an isolated, empty store every time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  StoreConflictError,
  type AuthCodeRecord,
  type ClientRecord,
  type KeyRecord,
  type OpaqueTokenRecord,
  type PasskeyRecord,
  type PendingRecord,
  type RefreshFamilyRecord,
  type RefreshTokenRecord,
  type RevocationKind,
  type SessionRecord,
  type Store,
  type UserRecord,
} from '../../src/store/types.js';
import { federationContract } from './contract-federation.js';

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
    postLogoutRedirectUris: [],
    firstParty: false,
    requirePar: false,
    dpopBoundAccessTokens: false,
    exchangeAudiences: [],
    exchangeTrustIssuers: [],
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
    userId: null,
    sessionId: null,
    dpopJkt: null,
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

export function userFixture(id: string, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id,
    email: `${id}@example.com`,
    name: `User ${id}`,
    emailVerified: false,
    disabled: false,
    claims: '{}',
    passwordHash: null,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function sessionFixture(id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    secretHash: `secret-of-${id}`,
    userId: 'u1',
    authTime: T0,
    amr: ['pwd'],
    acr: '0',
    idp: 'local',
    createdAt: T0,
    idleExpiresAt: T0 + HOUR,
    absoluteExpiresAt: T0 + 7 * 24 * HOUR,
    ...overrides,
  };
}

export function codeFixture(hash: string, overrides: Partial<AuthCodeRecord> = {}): AuthCodeRecord {
  return {
    hash,
    clientId: 'web',
    redirectUri: 'https://app.example/cb',
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    nonce: null,
    userId: 'u1',
    sessionId: 's1',
    scope: ['openid', 'profile'],
    authTime: T0,
    amr: ['pwd'],
    acr: '0',
    idp: 'local',
    createdAt: T0,
    expiresAt: T0 + 60_000,
    usedAt: null,
    accessTokenJti: null,
    accessTokenExpiresAt: null,
    refreshFamilyId: null,
    dpopJkt: null,
    ...overrides,
  };
}

export function pendingFixture(hash: string, overrides: Partial<PendingRecord> = {}): PendingRecord {
  return {
    hash,
    kind: 'par',
    owner: 'web',
    data: JSON.stringify({ redirect_uri: 'https://app.example/cb' }),
    createdAt: T0,
    expiresAt: T0 + 60_000,
    ...overrides,
  };
}

export function passkeyFixture(id: string, overrides: Partial<PasskeyRecord> = {}): PasskeyRecord {
  return {
    id,
    userId: 'u1',
    publicKey: 'pQECAyYgASFYIBx',
    counter: 0,
    transports: ['internal', 'hybrid'],
    backedUp: false,
    name: 'Laptop',
    createdAt: T0,
    lastUsedAt: null,
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
            postLogoutRedirectUris: _l,
            firstParty: _f,
            requirePar: _q,
            dpopBoundAccessTokens: _d,
            exchangeAudiences: _x,
            exchangeTrustIssuers: _t,
            ...bare
          } = clientFixture('old');
          await store.createClient(bare);
          assert.deepEqual(await store.getClient('old'), clientFixture('old'));
        }),
      );

      it(
        'keeps the token exchange fields (schema step 5 "exchange"): audiences and trusted issuers, in order',
        withStore(async (store) => {
          const exchanging = clientFixture('orders-svc', {
            exchangeAudiences: ['payments-api', 'https://inventory.example'],
            exchangeTrustIssuers: [
              { issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks.json' },
              { issuer: 'https://b.example', jwksUri: 'https://b.example/keys?v=1' },
            ],
          });
          await store.createClient(exchanging);
          assert.deepEqual(await store.getClient('orders-svc'), exchanging);
          const cleared = { ...exchanging, exchangeAudiences: [], exchangeTrustIssuers: [] };
          assert.equal(await store.updateClient(cleared), true);
          assert.deepEqual(await store.getClient('orders-svc'), cleared);
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
            postLogoutRedirectUris: ['https://app.example/bye'],
            firstParty: true,
            requirePar: true,
            dpopBoundAccessTokens: true,
            exchangeAudiences: ['payments-api'],
            exchangeTrustIssuers: [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks' }],
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

      for (const [kind, why] of [
        ['client', 'client deleted, recreated, deleted again'],
        ['sub', 'user disabled, enabled, disabled again'],
      ] as const) {
        it(
          `a later \`${kind}\` entry (${why}) replaces the live one under a new seq`,
          withStore(async (store) => {
            const first = await store.addRevocation(entry('svc', T0 + 2 * HOUR, kind));
            const retried = await store.addRevocation(entry('svc', T0 + 2 * HOUR, kind));
            assert.deepEqual(retried, first, 'the same instant again is a retry, not a new entry');
            const later = await store.addRevocation({
              ...entry('svc', T0 + HOUR, kind),
              revokedAt: T0 + 50,
            });
            assert.ok(later.seq > first.seq);
            // The later instant covers more tokens; the entry lasts as long as either needed.
            assert.deepEqual(later, {
              seq: later.seq,
              kind,
              value: 'svc',
              revokedAt: T0 + 50,
              expiresAt: T0 + 2 * HOUR,
            });
            assert.deepEqual(await store.listRevocations(0, 10, T0), [later]);
            assert.deepEqual(await store.getRevocation(kind, 'svc', T0), later);
            const earlier = await store.addRevocation({
              ...entry('svc', T0 + 3 * HOUR, kind),
              revokedAt: T0 + 1,
            });
            assert.deepEqual(earlier, later, 'an earlier instant covers nothing more');
          }),
        );
      }

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

    describe('users', () => {
      it(
        'creates, reads back every field by id and by email (any case), lists oldest first',
        withStore(async (store) => {
          const ann = userFixture('u1', {
            email: 'Ann.Smith@Example.com',
            emailVerified: true,
            claims: '{"tenant_id":"acme"}',
            passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
            createdAt: T0 + 1,
          });
          const bob = userFixture('u2', { name: null, disabled: true });
          await store.createUser(ann);
          await store.createUser(bob);
          assert.deepEqual(await store.getUser('u1'), ann);
          assert.deepEqual(await store.getUser('u2'), bob);
          assert.deepEqual(await store.getUserByEmail('ann.smith@example.COM'), ann);
          assert.equal(await store.getUserByEmail('ann.smith@example.org'), undefined);
          assert.equal(await store.getUser('nope'), undefined);
          assert.deepEqual(await store.listUsers(), [bob, ann]);
        }),
      );

      it(
        'rejects a duplicate id, and an email that differs only in case, with StoreConflictError',
        withStore(async (store) => {
          await store.createUser(userFixture('u1', { email: 'ann@example.com' }));
          await assert.rejects(
            store.createUser(userFixture('u1', { email: 'other@example.com' })),
            isConflict,
          );
          await assert.rejects(store.createUser(userFixture('u2', { email: 'ANN@Example.com' })), isConflict);
          // Unicode case too (SQL lower() alone would fold ASCII only): one account, whatever the store.
          await store.createUser(userFixture('u3', { email: 'Émile@example.com' }));
          await assert.rejects(
            store.createUser(userFixture('u4', { email: 'émile@example.com' })),
            isConflict,
          );
          assert.equal((await store.getUserByEmail('ÉMILE@EXAMPLE.COM'))?.id, 'u3');
          assert.deepEqual(
            (await store.listUsers()).map((u) => u.id),
            ['u1', 'u3'],
          );
        }),
      );

      it(
        'updateUser replaces every field but id and createdAt; false for an unknown id; conflict on a taken email',
        withStore(async (store) => {
          await store.createUser(userFixture('u1', { email: 'ann@example.com' }));
          await store.createUser(userFixture('u2', { email: 'bob@example.com' }));
          const changed = userFixture('u1', {
            email: 'Ann@Example.org',
            name: 'Ann',
            emailVerified: true,
            disabled: true,
            claims: '{"tenant_id":"t2"}',
            passwordHash: 'phc',
            createdAt: T0 + 99,
            updatedAt: T0 + 5,
          });
          assert.equal(await store.updateUser(changed), true);
          assert.deepEqual(await store.getUser('u1'), { ...changed, createdAt: T0 });
          assert.equal((await store.getUserByEmail('ann@example.org'))?.id, 'u1');
          assert.equal(await store.getUserByEmail('ann@example.com'), undefined, 'the old email is free');
          // Keeping one's own email (in another case) is no conflict.
          assert.equal(await store.updateUser({ ...changed, email: 'ANN@example.org' }), true);
          await assert.rejects(
            store.updateUser(userFixture('u1', { email: 'BOB@example.com', name: 'taken' })),
            isConflict,
          );
          assert.equal((await store.getUser('u1'))?.email, 'ANN@example.org', 'nothing changed');
          assert.equal(await store.updateUser(userFixture('ghost')), false);
          assert.equal(await store.getUser('ghost'), undefined);
        }),
      );

      it(
        'deleteUser deletes the user with their sessions and consents, nobody else’s',
        withStore(async (store) => {
          await store.createUser(userFixture('u1'));
          await store.createUser(userFixture('u2'));
          await store.createSession(sessionFixture('s1', { userId: 'u1' }));
          await store.createSession(sessionFixture('s2', { userId: 'u2' }));
          await store.grantConsent('u1', 'web', ['openid'], T0);
          await store.grantConsent('u2', 'web', ['openid'], T0);
          assert.equal(await store.deleteUser('u1'), true);
          assert.equal(await store.getUser('u1'), undefined);
          assert.equal(await store.getSession('s1'), undefined);
          assert.equal(await store.getConsent('u1', 'web'), undefined);
          assert.ok(await store.getSession('s2'));
          assert.ok(await store.getConsent('u2', 'web'));
          assert.equal(await store.deleteUser('u1'), false);
          // The email is free again.
          await store.createUser(userFixture('u3', { email: 'u1@example.com' }));
        }),
      );
    });

    describe('sessions', () => {
      it(
        'creates and reads back by id and by secret hash; duplicate id or secret is a conflict',
        withStore(async (store) => {
          const s1 = sessionFixture('s1', { amr: ['pwd', 'mfa'], acr: 'urn:x:2' });
          await store.createSession(s1);
          assert.deepEqual(await store.getSession('s1'), s1);
          assert.deepEqual(await store.getSessionBySecret('secret-of-s1', T0), s1);
          assert.equal(await store.getSessionBySecret('secret-of-nope', T0), undefined);
          assert.equal(await store.getSession('nope'), undefined);
          await assert.rejects(
            store.createSession(sessionFixture('s1', { secretHash: 'other' })),
            isConflict,
          );
          await assert.rejects(
            store.createSession(sessionFixture('s2', { secretHash: 'secret-of-s1' })),
            isConflict,
          );
          assert.equal(await store.getSession('s2'), undefined);
        }),
      );

      it(
        'getSessionBySecret does not return a session past its idle or its absolute expiry',
        withStore(async (store) => {
          await store.createSession(sessionFixture('idle', { idleExpiresAt: T0 + HOUR }));
          await store.createSession(
            sessionFixture('abs', { idleExpiresAt: T0 + 3 * HOUR, absoluteExpiresAt: T0 + 2 * HOUR }),
          );
          assert.ok(await store.getSessionBySecret('secret-of-idle', T0 + HOUR - 1));
          assert.equal(await store.getSessionBySecret('secret-of-idle', T0 + HOUR), undefined);
          assert.ok(await store.getSessionBySecret('secret-of-abs', T0 + 2 * HOUR - 1));
          assert.equal(await store.getSessionBySecret('secret-of-abs', T0 + 2 * HOUR), undefined);
        }),
      );

      it(
        'touchSession slides the idle expiry, capped by the absolute one; false when gone',
        withStore(async (store) => {
          await store.createSession(
            sessionFixture('s1', { idleExpiresAt: T0 + HOUR, absoluteExpiresAt: T0 + 3 * HOUR }),
          );
          assert.equal(await store.touchSession('s1', T0 + 2 * HOUR), true);
          assert.equal((await store.getSession('s1'))?.idleExpiresAt, T0 + 2 * HOUR);
          assert.equal(await store.touchSession('s1', T0 + 10 * HOUR), true);
          assert.equal((await store.getSession('s1'))?.idleExpiresAt, T0 + 3 * HOUR, 'capped');
          assert.equal(await store.getSessionBySecret('secret-of-s1', T0 + 3 * HOUR), undefined);
          assert.equal(await store.touchSession('nope', T0 + HOUR), false);
        }),
      );

      it(
        'deleteSession and deleteUserSessions (returns the ids it deleted, only that user’s)',
        withStore(async (store) => {
          await store.createSession(sessionFixture('a1', { userId: 'u1' }));
          await store.createSession(sessionFixture('a2', { userId: 'u1' }));
          await store.createSession(sessionFixture('b1', { userId: 'u2' }));
          assert.equal(await store.deleteSession('a1'), true);
          assert.equal(await store.deleteSession('a1'), false);
          await store.createSession(sessionFixture('a3', { userId: 'u1' }));
          assert.deepEqual((await store.deleteUserSessions('u1')).sort(), ['a2', 'a3']);
          assert.deepEqual(await store.deleteUserSessions('u1'), []);
          assert.equal(await store.getSession('a2'), undefined);
          assert.ok(await store.getSession('b1'));
        }),
      );

      it(
        'purgeSessions deletes idle- and absolutely-expired sessions and counts them',
        withStore(async (store) => {
          const now = T0 + 2 * HOUR;
          await store.createSession(sessionFixture('idle', { idleExpiresAt: now }));
          await store.createSession(
            sessionFixture('abs', { idleExpiresAt: now + HOUR, absoluteExpiresAt: now }),
          );
          await store.createSession(sessionFixture('live', { idleExpiresAt: now + 1 }));
          assert.equal(await store.purgeSessions(now), 2);
          assert.equal(await store.getSession('idle'), undefined);
          assert.equal(await store.getSession('abs'), undefined);
          assert.ok(await store.getSession('live'));
          assert.equal(await store.purgeSessions(now), 0);
        }),
      );
    });

    describe('authorization codes', () => {
      it(
        'redeems once: redeemed (with every field), then reused, unknown for an unknown code',
        withStore(async (store) => {
          const code = codeFixture('c1', { nonce: 'n-1', amr: ['pwd', 'otp'] });
          await store.insertAuthCode(code);
          assert.deepEqual(await store.redeemAuthCode('c1', T0 + 5), {
            status: 'redeemed',
            code: { ...code, usedAt: T0 + 5 },
          });
          assert.deepEqual(await store.redeemAuthCode('c1', T0 + 9), {
            status: 'reused',
            code: { ...code, usedAt: T0 + 5 },
          });
          assert.deepEqual(await store.redeemAuthCode('nope', T0), { status: 'unknown' });
          await assert.rejects(store.insertAuthCode(codeFixture('c1')), isConflict);
        }),
      );

      it(
        'of 20 concurrent redemptions of one code exactly one is redeemed, the rest reused',
        withStore(async (store) => {
          await store.insertAuthCode(codeFixture('c1'));
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => store.redeemAuthCode('c1', T0 + 1 + i)),
          );
          const statuses = results.map((r) => r.status);
          assert.equal(statuses.filter((s) => s === 'redeemed').length, 1);
          assert.equal(statuses.filter((s) => s === 'reused').length, 19);
          const winner = results.find((r) => r.status === 'redeemed');
          for (const r of results) {
            assert.ok(r.status !== 'unknown');
            assert.equal(r.code.usedAt, winner?.status === 'redeemed' ? winner.code.usedAt : -1);
          }
        }),
      );

      it(
        'recordCodeTokens is visible on a later reused result (so a replay can revoke them)',
        withStore(async (store) => {
          await store.insertAuthCode(codeFixture('c1'));
          await store.redeemAuthCode('c1', T0 + 1);
          const issued = { accessTokenJti: 'jti-1', accessTokenExpiresAt: T0 + HOUR, refreshFamilyId: 'f1' };
          await store.recordCodeTokens('c1', issued);
          const replay = await store.redeemAuthCode('c1', T0 + 2);
          assert.equal(replay.status, 'reused');
          assert.deepEqual(replay.status === 'reused' && replay.code, {
            ...codeFixture('c1'),
            usedAt: T0 + 1,
            ...issued,
          });
          await store.insertAuthCode(codeFixture('c2'));
          await store.redeemAuthCode('c2', T0 + 1);
          await store.recordCodeTokens('c2', { ...issued, refreshFamilyId: null });
          const noRefresh = await store.redeemAuthCode('c2', T0 + 2);
          assert.equal(noRefresh.status === 'reused' && noRefresh.code.refreshFamilyId, null);
          await store.recordCodeTokens('nope', issued); // no effect, no error
          assert.deepEqual(await store.redeemAuthCode('nope', T0), { status: 'unknown' });
        }),
      );

      it(
        'purgeAuthCodes keeps a code until a day past its expiry',
        withStore(async (store) => {
          const DAY = 24 * HOUR;
          await store.insertAuthCode(codeFixture('old', { expiresAt: T0 }));
          await store.insertAuthCode(codeFixture('newer', { expiresAt: T0 + 1 }));
          assert.equal(await store.purgeAuthCodes(T0 + DAY - 1), 0);
          assert.equal((await store.redeemAuthCode('old', T0 + DAY - 1)).status, 'redeemed');
          assert.equal(await store.purgeAuthCodes(T0 + DAY), 1);
          assert.deepEqual(await store.redeemAuthCode('old', T0 + DAY), { status: 'unknown' });
          assert.equal((await store.redeemAuthCode('newer', T0 + DAY)).status, 'redeemed');
        }),
      );
    });

    describe('consents', () => {
      it(
        'grantConsent creates, then unions scopes (first-granted order); revokeConsent deletes',
        withStore(async (store) => {
          assert.equal(await store.getConsent('u1', 'web'), undefined);
          const first = await store.grantConsent('u1', 'web', ['openid', 'profile', 'openid'], T0);
          assert.deepEqual(first, {
            userId: 'u1',
            clientId: 'web',
            scope: ['openid', 'profile'],
            createdAt: T0,
            updatedAt: T0,
          });
          const second = await store.grantConsent('u1', 'web', ['email', 'profile'], T0 + 10);
          assert.deepEqual(second, { ...first, scope: ['openid', 'profile', 'email'], updatedAt: T0 + 10 });
          assert.deepEqual(await store.getConsent('u1', 'web'), second);
          assert.equal(await store.getConsent('u1', 'other'), undefined);
          assert.equal(await store.getConsent('u2', 'web'), undefined);
          assert.equal(await store.revokeConsent('u1', 'web'), true);
          assert.equal(await store.revokeConsent('u1', 'web'), false);
          assert.equal(await store.getConsent('u1', 'web'), undefined);
        }),
      );

      it(
        'concurrent grants for one user and client all end up in the union',
        withStore(async (store) => {
          const scopes = Array.from({ length: 8 }, (_, i) => `s${i}`);
          await Promise.all(scopes.map((scope, i) => store.grantConsent('u1', 'web', [scope], T0 + i)));
          assert.deepEqual((await store.getConsent('u1', 'web'))?.scope.sort(), scopes);
        }),
      );
    });

    describe('pending requests', () => {
      it(
        'get reads without consuming, take reads once, delete deletes; kinds are separate',
        withStore(async (store) => {
          const par = pendingFixture('h1');
          await store.insertPending(par);
          await store.insertPending(pendingFixture('h1', { kind: 'interaction', owner: 'other' }));
          await assert.rejects(store.insertPending(pendingFixture('h1')), isConflict);
          assert.deepEqual(await store.getPending('par', 'h1', T0), par);
          assert.deepEqual(await store.getPending('par', 'h1', T0), par, 'get does not consume');
          assert.deepEqual(await store.takePending('par', 'h1', T0), par);
          assert.equal(await store.takePending('par', 'h1', T0), undefined, 'single use');
          assert.equal(await store.getPending('par', 'h1', T0), undefined);
          assert.equal((await store.getPending('interaction', 'h1', T0))?.owner, 'other');
          assert.equal(await store.deletePending('interaction', 'h1'), true);
          assert.equal(await store.deletePending('interaction', 'h1'), false);
          assert.equal(await store.getPending('set_password', 'h1', T0), undefined);
        }),
      );

      it(
        'an expired record is neither read nor taken; purgePending deletes expired records and counts them',
        withStore(async (store) => {
          await store.insertPending(pendingFixture('old', { expiresAt: T0 + 10 }));
          await store.insertPending(pendingFixture('live', { kind: 'set_password', expiresAt: T0 + 11 }));
          await store.insertPending(pendingFixture('gone', { expiresAt: T0 + 10 }));
          assert.ok(await store.getPending('par', 'old', T0 + 9));
          assert.equal(await store.getPending('par', 'old', T0 + 10), undefined);
          assert.equal(await store.takePending('par', 'gone', T0 + 10), undefined);
          assert.equal(await store.purgePending(T0 + 10), 1, 'only "old" was left to purge');
          assert.ok(await store.getPending('set_password', 'live', T0 + 10));
          assert.equal(await store.purgePending(T0 + 10), 0);
        }),
      );

      it(
        'of 20 concurrent takes of one record exactly one gets it',
        withStore(async (store) => {
          await store.insertPending(pendingFixture('h1', { kind: 'set_password', owner: 'u1' }));
          const results = await Promise.all(
            Array.from({ length: 20 }, () => store.takePending('set_password', 'h1', T0)),
          );
          assert.equal(results.filter((r) => r !== undefined).length, 1);
          assert.deepEqual(
            results.find((r) => r !== undefined),
            pendingFixture('h1', { kind: 'set_password', owner: 'u1' }),
          );
        }),
      );
    });

    describe('passkeys (schema step 7)', () => {
      it(
        'create, get, list per user oldest first; a credential id is unique across users',
        withStore(async (store) => {
          const a = passkeyFixture('cred-a', { backedUp: true, lastUsedAt: T0 + 5 });
          const b = passkeyFixture('cred-b', { createdAt: T0 - 1, transports: [] });
          await store.createPasskey(a);
          await store.createPasskey(b);
          await store.createPasskey(passkeyFixture('cred-c', { userId: 'u2' }));
          await assert.rejects(store.createPasskey(passkeyFixture('cred-a', { userId: 'u2' })), isConflict);
          assert.deepEqual(await store.getPasskey('cred-a'), a);
          assert.equal(await store.getPasskey('CRED-A'), undefined, 'ids compare exactly');
          assert.deepEqual(await store.listUserPasskeys('u1'), [b, a]);
          assert.deepEqual(await store.listUserPasskeys('nobody'), []);
        }),
      );

      it(
        'usePasskey moves the counter only forwards; an equal or lower counter is refused and changes nothing',
        withStore(async (store) => {
          await store.createPasskey(passkeyFixture('cred', { counter: 5 }));
          assert.equal(await store.usePasskey('cred', 5, true, T0 + 1), false, 'equal counter');
          assert.equal(await store.usePasskey('cred', 4, true, T0 + 1), false, 'lower counter');
          assert.deepEqual(await store.getPasskey('cred'), passkeyFixture('cred', { counter: 5 }));
          assert.equal(await store.usePasskey('cred', 6, true, T0 + 2), true);
          assert.deepEqual(
            await store.getPasskey('cred'),
            passkeyFixture('cred', { counter: 6, backedUp: true, lastUsedAt: T0 + 2 }),
          );
          assert.equal(await store.usePasskey('cred', 0, false, T0 + 3), false, 'back to zero');
          assert.equal(await store.usePasskey('missing', 9, false, T0), false);
        }),
      );

      it(
        'an authenticator without a counter (0 and 0) is accepted every time, but never after a counter was seen',
        withStore(async (store) => {
          await store.createPasskey(passkeyFixture('zero'));
          assert.equal(await store.usePasskey('zero', 0, false, T0 + 1), true);
          assert.equal(await store.usePasskey('zero', 0, false, T0 + 2), true);
          assert.equal((await store.getPasskey('zero'))?.lastUsedAt, T0 + 2);
          assert.equal(await store.usePasskey('zero', 1, false, T0 + 3), true);
          assert.equal(await store.usePasskey('zero', 0, false, T0 + 4), false);
        }),
      );

      it(
        'of 20 concurrent uses with the same counter exactly one passes (a cloned authenticator racing)',
        withStore(async (store) => {
          await store.createPasskey(passkeyFixture('cred', { counter: 10 }));
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => store.usePasskey('cred', 11, false, T0 + i)),
          );
          assert.equal(results.filter(Boolean).length, 1);
          assert.equal((await store.getPasskey('cred'))?.counter, 11);
        }),
      );

      it(
        "deletePasskey deletes only the named user's credential; deleteUser deletes all of theirs",
        withStore(async (store) => {
          await store.createUser(userFixture('u1', { email: 'one@example.com' }));
          await store.createUser(userFixture('u2', { email: 'two@example.com' }));
          await store.createPasskey(passkeyFixture('a1'));
          await store.createPasskey(passkeyFixture('a2'));
          await store.createPasskey(passkeyFixture('b1', { userId: 'u2' }));
          assert.equal(await store.deletePasskey('u2', 'a1'), false, "another user's credential");
          assert.ok(await store.getPasskey('a1'));
          assert.equal(await store.deletePasskey('u1', 'a1'), true);
          assert.equal(await store.deletePasskey('u1', 'a1'), false);
          assert.equal(await store.deleteUser('u1'), true);
          assert.equal(await store.getPasskey('a2'), undefined, 'went with the user');
          assert.deepEqual(await store.listUserPasskeys('u1'), []);
          assert.ok(await store.getPasskey('b1'), "nobody else's");
        }),
      );

      it(
        'the passkey pending kinds are stored and taken like the others',
        withStore(async (store) => {
          const challenge = pendingFixture('c1', { kind: 'passkey_challenge', owner: '' });
          const link = pendingFixture('c1', { kind: 'passkey_link', owner: 'u1' });
          await store.insertPending(challenge);
          await store.insertPending(link);
          assert.deepEqual(await store.takePending('passkey_challenge', 'c1', T0), challenge);
          assert.equal(await store.takePending('passkey_challenge', 'c1', T0), undefined);
          assert.deepEqual(await store.getPending('passkey_link', 'c1', T0), link);
        }),
      );
    });

    describe('DPoP bindings (schema step 4)', () => {
      const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
      it(
        "a client's dpop_bound_access_tokens round-trips through create and update",
        withStore(async (store) => {
          await store.createClient(clientFixture('bound', { dpopBoundAccessTokens: true }));
          assert.equal((await store.getClient('bound'))?.dpopBoundAccessTokens, true);
          await store.updateClient(clientFixture('bound', { dpopBoundAccessTokens: false }));
          assert.equal((await store.getClient('bound'))?.dpopBoundAccessTokens, false);
        }),
      );

      it(
        "a family's dpopJkt round-trips; a family written without it reads back null",
        withStore(async (store) => {
          const bound = familyFixture('f1', { dpopJkt: JKT });
          await store.createFamily(bound, tokenFixture('h1', 'f1'));
          const { dpopJkt: _j, ...bare } = familyFixture('f2');
          await store.createFamily(bare, tokenFixture('h2', 'f2'));
          assert.deepEqual(await store.getFamily('f1'), bound);
          assert.deepEqual(await store.getFamily('f2'), familyFixture('f2'));
          const rotated = await store.rotateRefreshToken(
            'h1',
            { hash: 'h3', createdAt: T0 + 1, expiresAt: T0 + HOUR, usedAt: null },
            T0 + 1,
          );
          assert.equal(rotated.status === 'rotated' && rotated.family.dpopJkt, JKT);
        }),
      );

      it(
        "an authorization code's dpopJkt comes back on redemption; a code written without it reads back null",
        withStore(async (store) => {
          await store.insertAuthCode(codeFixture('c1', { dpopJkt: JKT }));
          const redeemed = await store.redeemAuthCode('c1', T0 + 1);
          assert.equal(redeemed.status === 'redeemed' && redeemed.code.dpopJkt, JKT);
          const { dpopJkt: _j, ...bare } = codeFixture('c2');
          await store.insertAuthCode(bare);
          const plain = await store.redeemAuthCode('c2', T0 + 1);
          assert.equal(plain.status === 'redeemed' && plain.code.dpopJkt, null);
        }),
      );
    });

    describe('refresh families of signed-in users', () => {
      it(
        'userId and sessionId round-trip; a family written without them reads back null',
        withStore(async (store) => {
          const signedIn = familyFixture('f1', { userId: 'u1', sessionId: 's1' });
          await store.createFamily(signedIn, tokenFixture('h1', 'f1'));
          const { userId: _u, sessionId: _s, ...bare } = familyFixture('f2');
          await store.createFamily(bare, tokenFixture('h2', 'f2'));
          assert.deepEqual(await store.getFamily('f1'), signedIn);
          assert.deepEqual(await store.getFamily('f2'), familyFixture('f2'));
          assert.deepEqual(await store.listLiveFamilies(T0), [signedIn, familyFixture('f2')]);
        }),
      );

      it(
        'revokeFamilies by session and by user revokes only live matching families and returns their ids',
        withStore(async (store) => {
          const make = (id: string, overrides: Partial<RefreshFamilyRecord>) =>
            store.createFamily(familyFixture(id, overrides), tokenFixture(`h-${id}`, id));
          await make('s1a', { userId: 'u1', sessionId: 's1' });
          await make('s1b', { userId: 'u1', sessionId: 's1' });
          await make('s2', { userId: 'u1', sessionId: 's2' });
          await make('other', { userId: 'u2', sessionId: 's3' });
          await make('s1-dead', { userId: 'u1', sessionId: 's1' });
          await store.revokeFamily('s1-dead', 'reuse', T0 + 1);
          await make('s1-expired', { userId: 'u1', sessionId: 's1', absoluteExpiresAt: T0 + 5 });
          await make('client-credentials', {});

          assert.deepEqual((await store.revokeFamilies({ sessionId: 's1' }, 'logout', T0 + 10)).sort(), [
            's1a',
            's1b',
          ]);
          assert.equal((await store.getFamily('s1a'))?.revokedReason, 'logout');
          assert.equal((await store.getFamily('s1a'))?.revokedAt, T0 + 10);
          assert.equal((await store.getFamily('s1-dead'))?.revokedReason, 'reuse', 'keeps its own reason');
          assert.equal((await store.getFamily('s1-expired'))?.revokedAt, null);
          assert.equal((await store.getFamily('s2'))?.revokedAt, null);
          assert.deepEqual(await store.revokeFamilies({ sessionId: 's1' }, 'logout', T0 + 11), []);

          assert.deepEqual(await store.revokeFamilies({ userId: 'u1' }, 'user_deleted', T0 + 20), ['s2']);
          assert.equal((await store.getFamily('s2'))?.revokedReason, 'user_deleted');
          assert.equal((await store.getFamily('other'))?.revokedAt, null);
          assert.equal((await store.getFamily('client-credentials'))?.revokedAt, null);
          assert.deepEqual(await store.revokeFamilies({ userId: 'nobody' }, 'x', T0 + 20), []);
        }),
      );
    });

    federationContract(withStore);

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
