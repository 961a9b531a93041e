/**
 * The store contract for federation (schema step 6): identity providers, (provider, upstream sub) links,
 * the `idp` of sessions and codes, and the two new pending kinds. Run by runStoreContract for every store.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  StoreConflictError,
  type IdentityLinkRecord,
  type IdentityProviderRecord,
  type Store,
} from '../../src/store/types.js';

const T0 = 1_767_225_600_000;
const isConflict = (err: unknown): boolean => err instanceof StoreConflictError;

export function providerFixture(
  id: string,
  overrides: Partial<IdentityProviderRecord> = {},
): IdentityProviderRecord {
  return {
    id,
    name: 'Corp SSO',
    issuer: 'https://sso.corp.example',
    clientId: 'tessera',
    encryptedClientSecret: '{"v":1}',
    scope: ['openid', 'email', 'profile'],
    claimsMap: '{"name":"name"}',
    allowedDomains: ['corp.example'],
    createdAt: T0,
    ...overrides,
  };
}

export function linkFixture(
  providerId: string,
  subject: string,
  overrides: Partial<IdentityLinkRecord> = {},
): IdentityLinkRecord {
  return { providerId, subject, userId: 'u1', createdAt: T0, ...overrides };
}

const user = (id: string, email: string) => ({
  id,
  email,
  name: null,
  emailVerified: true,
  disabled: false,
  claims: '{}',
  passwordHash: null,
  createdAt: T0,
  updatedAt: T0,
});

export function federationContract(
  withStore: (fn: (store: Store) => Promise<void>) => () => Promise<void>,
): void {
  describe('identity providers and links (schema step 6)', () => {
    it(
      'providers: create, read, list oldest first; a duplicate id is a conflict',
      withStore(async (store) => {
        const corp = providerFixture('corp');
        await store.createIdentityProvider(corp);
        await store.createIdentityProvider(
          providerFixture('b-idp', { createdAt: T0 + 1, allowedDomains: [] }),
        );
        await assert.rejects(store.createIdentityProvider(providerFixture('corp')), isConflict);
        assert.deepEqual(await store.getIdentityProvider('corp'), corp);
        assert.equal(await store.getIdentityProvider('nope'), undefined);
        assert.deepEqual(
          (await store.listIdentityProviders()).map((p) => [p.id, p.allowedDomains]),
          [
            ['corp', ['corp.example']],
            ['b-idp', []],
          ],
        );
      }),
    );

    it(
      'links: (provider, subject) is unique whoever it points to; read by both, list all or per user',
      withStore(async (store) => {
        await store.createIdentityProvider(providerFixture('corp'));
        const link = linkFixture('corp', 'sub-1');
        await store.createIdentityLink(link);
        await assert.rejects(
          store.createIdentityLink(linkFixture('corp', 'sub-1', { userId: 'u2' })),
          isConflict,
        );
        await store.createIdentityLink(linkFixture('corp', 'sub-2', { userId: 'u2', createdAt: T0 + 1 }));
        await store.createIdentityLink(linkFixture('other', 'sub-1', { userId: 'u2', createdAt: T0 + 2 }));
        assert.deepEqual(await store.getIdentityLink('corp', 'sub-1'), link);
        assert.equal(await store.getIdentityLink('corp', 'SUB-1'), undefined, 'subjects compare exactly');
        assert.equal(await store.getIdentityLink('corp', 'sub-3'), undefined);
        assert.deepEqual(
          (await store.listIdentityLinks()).map((l) => `${l.providerId}/${l.subject}`),
          ['corp/sub-1', 'corp/sub-2', 'other/sub-1'],
        );
        assert.deepEqual(
          (await store.listIdentityLinks('u2')).map((l) => `${l.providerId}/${l.subject}`),
          ['corp/sub-2', 'other/sub-1'],
        );
      }),
    );

    it(
      'deleting a provider removes its links (only its own); deleting a user removes their links',
      withStore(async (store) => {
        await store.createIdentityProvider(providerFixture('corp'));
        await store.createIdentityProvider(providerFixture('other'));
        await store.createUser(user('u1', 'a@corp.example'));
        await store.createUser(user('u2', 'b@corp.example'));
        await store.createIdentityLink(linkFixture('corp', 's1', { userId: 'u1' }));
        await store.createIdentityLink(linkFixture('other', 's1', { userId: 'u1' }));
        await store.createIdentityLink(linkFixture('other', 's2', { userId: 'u2' }));
        assert.equal(await store.deleteIdentityProvider('corp'), true);
        assert.equal(await store.deleteIdentityProvider('corp'), false);
        assert.equal(await store.getIdentityProvider('corp'), undefined);
        assert.equal(await store.getIdentityLink('corp', 's1'), undefined);
        assert.ok(await store.getIdentityLink('other', 's1'));
        assert.equal(await store.deleteUser('u1'), true);
        assert.equal(await store.getIdentityLink('other', 's1'), undefined);
        assert.deepEqual(
          (await store.listIdentityLinks()).map((l) => l.userId),
          ['u2'],
        );
      }),
    );

    it(
      "a session's and a code's idp round-trip; written without one they read back 'local'",
      withStore(async (store) => {
        const base = {
          secretHash: 'h-fed',
          userId: 'u1',
          authTime: T0,
          amr: ['fed'],
          acr: '1',
          createdAt: T0,
          idleExpiresAt: T0 + 3_600_000,
          absoluteExpiresAt: T0 + 7_200_000,
        };
        await store.createSession({ id: 's-fed', idp: 'corp', ...base });
        await store.createSession({ id: 's-pwd', ...base, secretHash: 'h-pwd' });
        assert.equal((await store.getSession('s-fed'))?.idp, 'corp');
        assert.equal((await store.getSessionBySecret('h-fed', T0))?.idp, 'corp');
        assert.equal((await store.getSession('s-pwd'))?.idp, 'local');
        const code = {
          clientId: 'web',
          redirectUri: 'https://app.example/cb',
          codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          nonce: null,
          userId: 'u1',
          sessionId: 's-fed',
          scope: ['openid'],
          authTime: T0,
          amr: ['fed'],
          acr: '1',
          createdAt: T0,
          expiresAt: T0 + 60_000,
          usedAt: null,
          accessTokenJti: null,
          accessTokenExpiresAt: null,
          refreshFamilyId: null,
        };
        await store.insertAuthCode({ hash: 'c-fed', idp: 'corp', ...code });
        await store.insertAuthCode({ hash: 'c-pwd', ...code });
        const fed = await store.redeemAuthCode('c-fed', T0 + 1);
        assert.equal(fed.status === 'redeemed' && fed.code.idp, 'corp');
        const pwd = await store.redeemAuthCode('c-pwd', T0 + 1);
        assert.equal(pwd.status === 'redeemed' && pwd.code.idp, 'local');
      }),
    );

    it(
      'the pending kinds idp_signin, idp_link and idp_continue are stored, kept apart and taken once',
      withStore(async (store) => {
        const record = (kind: 'idp_signin' | 'idp_link' | 'idp_continue') => ({
          hash: 'h1',
          kind,
          owner: 'corp',
          data: '{}',
          createdAt: T0,
          expiresAt: T0 + 60_000,
        });
        await store.insertPending(record('idp_signin'));
        await store.insertPending(record('idp_link'));
        await store.insertPending(record('idp_continue'));
        assert.deepEqual(await store.takePending('idp_signin', 'h1', T0), record('idp_signin'));
        assert.equal(await store.takePending('idp_signin', 'h1', T0), undefined);
        assert.deepEqual(await store.takePending('idp_link', 'h1', T0), record('idp_link'));
        assert.deepEqual(await store.takePending('idp_continue', 'h1', T0), record('idp_continue'));
      }),
    );
  });
}
