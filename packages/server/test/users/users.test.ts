/**
 * The user domain against the memory store (the reference semantics): email and claim rules, uniqueness,
 * what disabling and deleting a user does to their sessions, refresh families and JWT access tokens, and the
 * one-time set-password links (issue 14, "Users").
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store, UserRecord } from '../../src/store/types.js';
import { hashToken } from '../../src/oauth/crypto.js';
import { PasswordPolicyError, verifyPassword } from '../../src/users/password.js';
import {
  createUser,
  deleteUser,
  describeUser,
  disableUser,
  enableUser,
  findUser,
  listUserViews,
  normaliseEmail,
  parseUserClaims,
  setUserPassword,
  UserNotFoundError,
  UserValidationError,
} from '../../src/users/users.js';
import {
  createSetPasswordLink,
  findSetPasswordLink,
  SET_PASSWORD_LINK_TTL,
  useSetPasswordLink,
} from '../../src/users/links.js';

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const LIMITS = { maxAccessTtl: 3600 };
const GOOD = 'correct horse battery staple';

function invalid(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UserValidationError, String(err));
    assert.match((err as Error).message, pattern);
    return true;
  };
}

/** A live session and a live refresh family (with one token) of `userId`. */
async function signedIn(store: Store, userId: string, tag: string) {
  await store.createSession({
    id: `sid-${tag}`,
    secretHash: hashToken(`secret-${tag}`),
    userId,
    authTime: NOW,
    amr: ['pwd'],
    acr: '1',
    createdAt: NOW,
    idleExpiresAt: NOW + 3600_000,
    absoluteExpiresAt: NOW + 7 * 86400_000,
  });
  await store.createFamily(
    {
      id: `fam-${tag}`,
      clientId: 'web',
      sub: userId,
      scope: ['openid'],
      claims: '{}',
      createdAt: NOW,
      absoluteExpiresAt: NOW + 7 * 86400_000,
      revokedAt: null,
      revokedReason: null,
      userId,
      sessionId: `sid-${tag}`,
    },
    {
      hash: hashToken(`refresh-${tag}`),
      familyId: `fam-${tag}`,
      createdAt: NOW,
      expiresAt: NOW + 86400_000,
      usedAt: null,
    },
  );
  await store.grantConsent(userId, 'web', ['openid'], NOW);
}

describe('emails', () => {
  it('are trimmed and kept as entered', () => {
    assert.equal(normaliseEmail('  Ada.Lovelace+tessera@Example.org \n'), 'Ada.Lovelace+tessera@Example.org');
  });

  it('refuse what is not an address, naming the rule', () => {
    const cases: [string, RegExp][] = [
      ['', /required/],
      ['   ', /required/],
      ['ada.example.org', /exactly one "@"/],
      ['ada@lovelace@example.org', /exactly one "@"/],
      ['@example.org', /before "@" must be 1-64/],
      [`${'a'.repeat(65)}@example.org`, /before "@" must be 1-64/],
      ['ada@localhost', /needs a dot/],
      ['ada@example.', /needs a dot/],
      ['ada@.example.org', /needs a dot/],
      ['ada@exa..mple.org', /needs a dot/],
      ['ada lovelace@example.org', /spaces or control/],
      ['ada@exam\u0000ple.org', /spaces or control/],
      [`a@${'b'.repeat(250)}.org`, /at most 254/],
    ];
    for (const [email, message] of cases) assert.throws(() => normaliseEmail(email), invalid(message), email);
  });

  it('254 characters is the longest accepted', () => {
    const email = `${'a'.repeat(64)}@${'b'.repeat(185)}.org`;
    assert.equal(email.length, 254);
    assert.equal(normaliseEmail(email), email);
  });

  it('are unique case-insensitively; the second create is refused and nothing is stored', async () => {
    const store = createMemoryStore();
    const first = await createUser(store, { email: 'Ada@Example.org' }, NOW);
    await assert.rejects(
      createUser(store, { email: ' ada@example.ORG ' }, NOW),
      invalid(/a user with the email "ada@example\.ORG" already exists/),
    );
    assert.deepEqual(
      (await store.listUsers()).map((u) => u.id),
      [first.id],
    );
    assert.equal((await findUser(store, 'ADA@EXAMPLE.ORG'))?.id, first.id);
    assert.equal((await findUser(store, first.id))?.email, 'Ada@Example.org');
    assert.equal(await findUser(store, 'nobody@example.org'), undefined);
  });
});

describe('custom claims', () => {
  it('accept an object of primitives and arrays of primitives', () => {
    assert.deepEqual(
      parseUserClaims('{"tenant_id":"acme","level":3,"beta":true,"team":null,"regions":["eu",1,false]}'),
      { tenant_id: 'acme', level: 3, beta: true, team: null, regions: ['eu', 1, false] },
    );
    assert.deepEqual(parseUserClaims(undefined), {});
    assert.deepEqual(parseUserClaims({ 'urn:example:dept': 'r&d' }), { 'urn:example:dept': 'r&d' });
  });

  it('refuse anything but a JSON object', () => {
    assert.throws(() => parseUserClaims('{tenant_id: acme}'), invalid(/valid JSON/));
    for (const text of ['[]', '"acme"', 'null', '3'])
      assert.throws(() => parseUserClaims(text), invalid(/must be a JSON object/), text);
  });

  it('refuse every registered JWT/OIDC claim name and the scope-like ones', () => {
    const names = [
      'iss',
      'sub',
      'aud',
      'exp',
      'nbf',
      'iat',
      'jti',
      'client_id',
      'scope',
      'auth_time',
      'acr',
      'amr',
      'sid',
      'nonce',
      'azp',
      'at_hash',
      'email',
      'email_verified',
      'name',
      'cnf',
      'act',
      'may_act',
      'scp',
      'roles',
      'permissions',
      'groups',
      'entitlements',
    ];
    for (const name of names)
      assert.throws(
        () => parseUserClaims({ [name]: 'x' }),
        invalid(new RegExp(`"${name}" is a registered claim`)),
        name,
      );
  });

  it('refuse sensitive-looking names and values, naming the claim but not the value', () => {
    for (const name of ['password', 'api_secret', 'ssn', 'privateKey'])
      assert.throws(() => parseUserClaims({ [name]: 'x' }), invalid(/looks sensitive/), name);
    let message = '';
    try {
      parseUserClaims({ badge: '4111 1111 1111 1111' });
    } catch (err) {
      message = (err as Error).message;
    }
    assert.match(message, /look sensitive.*badge/);
    assert.ok(!message.includes('4111'));
  });

  it('refuse nested values, odd names and prototype keys', () => {
    assert.throws(() => parseUserClaims({ org: { id: 1 } }), invalid(/"org" must be a string, number/));
    assert.throws(() => parseUserClaims({ org: [{ id: 1 }] }), invalid(/"org" must be a string, number/));
    assert.throws(() => parseUserClaims({ 'tenant id': 1 }), invalid(/invalid custom claim name/));
    assert.throws(() => parseUserClaims({ ['x'.repeat(65)]: 1 }), invalid(/invalid custom claim name/));
    assert.throws(
      () => parseUserClaims('{"__proto__":{"admin":true}}'),
      invalid(/invalid custom claim name/),
    );
    assert.throws(() => parseUserClaims({ constructor: 1 }), invalid(/invalid custom claim name/));
  });

  it('are at most 1 KiB serialised', () => {
    // {"t":"…"} is 8 bytes around the value.
    assert.deepEqual(Object.keys(parseUserClaims({ t: 'a'.repeat(1016) })), ['t']);
    assert.throws(
      () => parseUserClaims({ t: 'a'.repeat(1017) }),
      invalid(/1025 bytes serialised, above the limit of 1024/),
    );
  });
});

describe('createUser', () => {
  it('gives a random usr_ id (128 bits), never derived from the email', async () => {
    const store = createMemoryStore();
    const a = await createUser(store, { email: 'a@example.org' }, NOW);
    const b = await createUser(store, { email: 'b@example.org' }, NOW);
    for (const user of [a, b]) {
      assert.match(user.id, /^usr_[A-Za-z0-9_-]{22}$/);
      assert.equal(Buffer.from(user.id.slice(4), 'base64url').length, 16);
    }
    assert.notEqual(a.id, b.id);
  });

  it('stores an argon2id hash of a password, and the view never shows it', async () => {
    const store = createMemoryStore();
    const user = await createUser(
      store,
      {
        email: 'ada@example.org',
        name: ' Ada ',
        password: GOOD,
        claims: '{"tenant_id":"acme"}',
        emailVerified: true,
      },
      NOW,
    );
    const stored = (await store.getUser(user.id)) as UserRecord;
    assert.match(stored.passwordHash ?? '', /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal((await verifyPassword(stored.passwordHash, GOOD)).ok, true);
    const view = describeUser(stored);
    assert.deepEqual(view, {
      id: user.id,
      email: 'ada@example.org',
      name: 'Ada',
      email_verified: true,
      disabled: false,
      claims: { tenant_id: 'acme' },
      has_password: true,
      created_at: new Date(NOW).toISOString(),
      updated_at: new Date(NOW).toISOString(),
    });
    const listed = JSON.stringify(await listUserViews(store));
    assert.ok(!listed.includes('argon2') && !listed.includes(GOOD));
    const audit = await store.listAudit(10);
    assert.deepEqual(audit, [
      {
        at: NOW,
        type: 'user.created',
        data: { userId: user.id, emailVerified: true, hasPassword: true },
      },
    ]);
  });

  it('without a password: no hash, not verified by default', async () => {
    const store = createMemoryStore();
    const user = await createUser(store, { email: 'b@example.org' }, NOW);
    assert.equal(user.passwordHash, null);
    assert.equal(user.emailVerified, false);
    assert.equal(describeUser(user).has_password, false);
  });

  it('refuses a password against the NIST policy before storing anything, without echoing it', async () => {
    const store = createMemoryStore();
    await assert.rejects(
      createUser(store, { email: 'c@example.org', password: 'short12' }, NOW),
      (err: unknown) =>
        err instanceof PasswordPolicyError &&
        err.message === 'a password needs at least 8 characters' &&
        !err.message.includes('short12'),
    );
    await assert.rejects(
      createUser(store, { email: 'c@example.org', password: 'x'.repeat(257) }, NOW),
      PasswordPolicyError,
    );
    assert.deepEqual(await store.listUsers(), []);
  });
});

describe('disable, enable, delete', () => {
  async function setup() {
    const store = createMemoryStore();
    const user = await createUser(store, { email: 'ada@example.org', password: GOOD }, NOW);
    const other = await createUser(store, { email: 'bob@example.org' }, NOW);
    await signedIn(store, user.id, 'a1');
    await signedIn(store, user.id, 'a2');
    await signedIn(store, other.id, 'b1');
    return { store, user, other };
  }

  it('disable ends sessions, revokes refresh families and adds a sub entry covering every access token', async () => {
    const { store, user } = await setup();
    const at = NOW + 1000;
    const result = await disableUser(store, user.id, LIMITS, at);
    assert.equal((await store.getUser(user.id))?.disabled, true);
    assert.deepEqual(result.sessions.sort(), ['sid-a1', 'sid-a2']);
    assert.deepEqual(result.refreshFamilies.sort(), ['fam-a1', 'fam-a2']);
    for (const id of ['fam-a1', 'fam-a2']) {
      const family = await store.getFamily(id);
      assert.equal(family?.revokedReason, 'user_disabled');
      assert.equal(family?.revokedAt, at);
    }
    assert.equal(await store.getSession('sid-a1'), undefined);
    // The other user keeps everything.
    assert.ok(await store.getSession('sid-b1'));
    assert.equal((await store.getFamily('fam-b1'))?.revokedAt, null);
    // sub entry: kept for the longest access-token lifetime plus the default 300 s of skew.
    assert.deepEqual(
      {
        kind: result.revocation.kind,
        value: result.revocation.value,
        revokedAt: result.revocation.revokedAt,
      },
      { kind: 'sub', value: user.id, revokedAt: at },
    );
    assert.equal(result.revocation.expiresAt, at + (3600 + 300) * 1000);
    assert.deepEqual(await store.listRevocations(0, 10, at), [result.revocation]);
    const event = (await store.listAudit(1))[0]!;
    assert.deepEqual(event, {
      at,
      type: 'user.disabled',
      data: { userId: user.id, sessions: 2, refreshFamilies: 2, revocationSeq: result.revocation.seq },
    });
  });

  it('disable by email works; an unknown user is "no user"', async () => {
    const { store, user } = await setup();
    assert.equal((await disableUser(store, 'ADA@example.org', LIMITS, NOW)).user.id, user.id);
    await assert.rejects(
      disableUser(store, 'usr_nobody', LIMITS, NOW),
      (err: unknown) => err instanceof UserNotFoundError && err.message === 'no user "usr_nobody"',
    );
    await assert.rejects(enableUser(store, 'usr_nobody', NOW), UserNotFoundError);
    await assert.rejects(deleteUser(store, 'nobody@example.org', LIMITS, NOW), UserNotFoundError);
  });

  it('enable lets the user in again but does not lift the revocation of tokens already issued', async () => {
    const { store, user } = await setup();
    const { revocation } = await disableUser(store, user.id, LIMITS, NOW);
    const enabled = await enableUser(store, user.id, NOW + 5000);
    assert.equal(enabled.disabled, false);
    assert.equal(enabled.updatedAt, NOW + 5000);
    assert.equal((await store.getUser(user.id))?.disabled, false);
    assert.equal(await store.isRevoked('sub', user.id, NOW + 5000), true);
    assert.equal((await store.getRevocation('sub', user.id, NOW + 5000))?.revokedAt, revocation.revokedAt);
    assert.equal((await store.getFamily('fam-a1'))?.revokedReason, 'user_disabled');
    assert.equal((await store.listAudit(1))[0]?.type, 'user.enabled');
  });

  it('disable, enable, disable again: the second sub entry covers the tokens issued in between', async () => {
    const { store, user } = await setup();
    await disableUser(store, user.id, LIMITS, NOW);
    await enableUser(store, user.id, NOW + 60_000);
    const again = await disableUser(store, user.id, LIMITS, NOW + 120_000);
    assert.equal(again.revocation.revokedAt, NOW + 120_000);
    assert.equal((await store.getRevocation('sub', user.id, NOW + 120_000))?.revokedAt, NOW + 120_000);
  });

  it('delete removes the user, their sessions and consents, and revokes like disable', async () => {
    const { store, user, other } = await setup();
    const result = await deleteUser(store, user.id, { maxAccessTtl: 900, clockSkewSeconds: 60 }, NOW);
    assert.equal(await store.getUser(user.id), undefined);
    assert.equal(await store.getConsent(user.id, 'web'), undefined);
    assert.ok(await store.getConsent(other.id, 'web'));
    assert.deepEqual(result.sessions.sort(), ['sid-a1', 'sid-a2']);
    assert.equal((await store.getFamily('fam-a2'))?.revokedReason, 'user_deleted');
    assert.equal(result.revocation.expiresAt, NOW + (900 + 60) * 1000);
    assert.equal(await store.isRevoked('sub', user.id, NOW), true);
    assert.equal((await store.listAudit(1))[0]?.type, 'user.deleted');
    // The email is free again; the new account is someone else (another id, not covered by old links).
    const again = await createUser(store, { email: 'ada@example.org' }, NOW + 1);
    assert.notEqual(again.id, user.id);
  });
});

describe('setUserPassword', () => {
  it('checks the policy first (nothing changes), then hashes, ends sessions and audits without the password', async () => {
    const store = createMemoryStore();
    const user = await createUser(store, { email: 'ada@example.org', password: GOOD }, NOW);
    await signedIn(store, user.id, 's');
    await assert.rejects(setUserPassword(store, user.id, 'seven77', NOW), PasswordPolicyError);
    assert.equal((await store.getUser(user.id))?.passwordHash, user.passwordHash);
    assert.ok(await store.getSession('sid-s'));

    const updated = await setUserPassword(store, user.id, 'a much longer passphrase', NOW + 10);
    assert.equal((await verifyPassword(updated.passwordHash, 'a much longer passphrase')).ok, true);
    assert.equal((await verifyPassword(updated.passwordHash, GOOD)).ok, false);
    assert.equal(await store.getSession('sid-s'), undefined);
    assert.equal((await store.getFamily('fam-s'))?.revokedAt, null, 'refresh families stay');
    const event = (await store.listAudit(1))[0]!;
    assert.deepEqual(event, {
      at: NOW + 10,
      type: 'user.password_set',
      data: { userId: user.id, via: 'cli', sessions: 1 },
    });
    await assert.rejects(setUserPassword(store, 'usr_nobody', GOOD, NOW), UserNotFoundError);
  });
});

describe('set-password links', () => {
  const ISSUER = 'https://auth.example.org';
  async function setup() {
    const store = createMemoryStore();
    const user = await createUser(store, { email: 'ada@example.org' }, NOW);
    const url = await createSetPasswordLink(store, ISSUER, user.id, SET_PASSWORD_LINK_TTL, NOW);
    const token = new URL(url).searchParams.get('token')!;
    return { store, user, url, token };
  }

  it('are URLs under the issuer with a 256-bit token; the store holds only its SHA-256', async () => {
    const { store, user, url, token } = await setup();
    assert.match(url, /^https:\/\/auth\.example\.org\/account\/set-password\?token=[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    const record = await store.getPending('set_password', hashToken(token), NOW);
    assert.equal(record?.owner, user.id);
    assert.equal(record?.expiresAt, NOW + 24 * 3600_000);
    assert.ok(!JSON.stringify(record).includes(token));
    assert.equal(await store.getPending('set_password', token, NOW), undefined);
    // A trailing slash on the issuer does not double.
    const other = await createSetPasswordLink(store, `${ISSUER}/`, user.id, 60, NOW);
    assert.ok(other.startsWith(`${ISSUER}/account/set-password?token=`));
    assert.notEqual(other, url);
  });

  it('find does not use the link up; a too-short password keeps it; the link works once', async () => {
    const { store, user, token } = await setup();
    assert.equal((await findSetPasswordLink(store, token, NOW))?.id, user.id);
    assert.equal((await findSetPasswordLink(store, token, NOW))?.id, user.id);
    await assert.rejects(useSetPasswordLink(store, token, 'short', NOW), PasswordPolicyError);
    assert.equal((await findSetPasswordLink(store, token, NOW))?.id, user.id, 'kept after a policy failure');

    const updated = await useSetPasswordLink(store, token, GOOD, NOW + 1);
    assert.equal(updated?.id, user.id);
    assert.equal((await verifyPassword((await store.getUser(user.id))!.passwordHash, GOOD)).ok, true);
    assert.equal((await store.listAudit(1))[0]?.data.via, 'link');

    assert.equal(await useSetPasswordLink(store, token, 'another good passphrase', NOW + 2), undefined);
    assert.equal(await findSetPasswordLink(store, token, NOW + 2), undefined);
    assert.equal((await verifyPassword((await store.getUser(user.id))!.passwordHash, GOOD)).ok, true);
  });

  it('expire after their lifetime (24 h by default)', async () => {
    const { store, user, token } = await setup();
    const end = NOW + 24 * 3600_000;
    assert.equal((await findSetPasswordLink(store, token, end - 1))?.id, user.id);
    assert.equal(await findSetPasswordLink(store, token, end), undefined);
    assert.equal(await useSetPasswordLink(store, token, GOOD, end), undefined);
    assert.equal((await store.getUser(user.id))?.passwordHash, null);

    const short = await createSetPasswordLink(store, ISSUER, user.id, 600, NOW);
    const shortToken = new URL(short).searchParams.get('token')!;
    assert.equal(await findSetPasswordLink(store, shortToken, NOW + 600_000), undefined);
  });

  it('an older link dies once the password is set another way (no overwriting a newer password)', async () => {
    const { store, user, token } = await setup();
    const second = new URL(await createSetPasswordLink(store, ISSUER, user.id, 3600, NOW)).searchParams.get(
      'token',
    )!;
    assert.ok(await useSetPasswordLink(store, second, GOOD, NOW));
    assert.equal(await findSetPasswordLink(store, token, NOW), undefined);
    assert.equal(await useSetPasswordLink(store, token, 'attacker chosen pass', NOW), undefined);
    assert.equal((await verifyPassword((await store.getUser(user.id))!.passwordHash, GOOD)).ok, true);
  });

  it('do nothing for a disabled or deleted user, an unknown or malformed token', async () => {
    const { store, user, token } = await setup();
    await disableUser(store, user.id, LIMITS, NOW);
    assert.equal(await findSetPasswordLink(store, token, NOW), undefined);
    await assert.rejects(
      createSetPasswordLink(store, ISSUER, user.id, 60, NOW),
      invalid(new RegExp(`^user "${user.id}" is disabled; enable them first$`)),
    );
    await enableUser(store, user.id, NOW);
    assert.equal((await findSetPasswordLink(store, token, NOW))?.id, user.id);
    await deleteUser(store, user.id, LIMITS, NOW);
    assert.equal(await useSetPasswordLink(store, token, GOOD, NOW), undefined);
    for (const bad of ['', 'abc', `${token}x`, token.replace(/.$/, '!')])
      assert.equal(await findSetPasswordLink(store, bad, NOW), undefined, bad);
    await assert.rejects(createSetPasswordLink(store, ISSUER, user.id, 60, NOW), UserNotFoundError);
  });
});
