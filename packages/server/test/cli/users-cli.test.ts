/**
 * `tessera users create|list|show|disable|enable|delete|set-password|link` against the default SQLite state
 * of a data dir (issue 14, "Users"): what each prints, what it refuses (exit 1, the rule named, never the
 * password), and what disabling or deleting does to the user's sessions, refresh families and JWTs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/types.js';
import { hashToken } from '../../src/oauth/crypto.js';
import { verifyPassword } from '../../src/users/password.js';
import { findSetPasswordLink } from '../../src/users/links.js';
import { TESSERA_BIN } from '../helpers/processes.js';
import { redisUrl, TEST_REVOCATION_CHANNEL, testRedisArgs } from '../helpers/services.js';
import { createRedisRevocationTransport } from '@tessera/jwt';
import { setTimeout as sleep } from 'node:timers/promises';

const PASSWORD = 'correct horse battery staple';
const ISSUER = 'https://auth.example.org';

async function tessera(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? '');
  const code = await main(args, { stdout, stderr, stdin, env: options.env ?? {} });
  return { code, out, err };
}

describe('tessera users', async () => {
  let dir: string;
  let dd: string[];

  async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    const store = await openStore(undefined, { dataDir: dir });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }
  async function createJSON(args: string[], stdin?: string): Promise<Record<string, unknown>> {
    const res = await tessera(
      ['users', 'create', ...args, '--json', ...dd],
      stdin === undefined ? {} : { stdin },
    );
    assert.equal(res.code, 0, res.err);
    return JSON.parse(res.out) as Record<string, unknown>;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-users-'));
    dd = ['--data-dir', dir, '--issuer', ISSUER];
    assert.equal((await tessera(['keys', 'list', '--init', '--data-dir', dir])).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('create --password-stdin prints the user with its id; only an argon2id hash is stored', async () => {
    const res = await tessera(
      [
        'users',
        'create',
        '--email',
        ' Ada@Example.org ',
        '--name',
        'Ada Lovelace',
        '--claims',
        '{"tenant_id":"acme"}',
        '--email-verified',
        '--password-stdin',
        '--json',
        ...dd,
      ],
      { stdin: `${PASSWORD}\n` },
    );
    assert.equal(res.code, 0, res.err);
    const view = JSON.parse(res.out);
    assert.match(view.id, /^usr_[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(
      { ...view, id: 'ID', created_at: 'T', updated_at: 'T' },
      {
        id: 'ID',
        email: 'Ada@Example.org',
        name: 'Ada Lovelace',
        email_verified: true,
        disabled: false,
        claims: { tenant_id: 'acme' },
        has_password: true,
        created_at: 'T',
        updated_at: 'T',
      },
    );
    assert.ok(!res.out.includes(PASSWORD) && !res.err.includes(PASSWORD));
    await withStore(async (store) => {
      const user = await store.getUser(view.id);
      assert.match(user?.passwordHash ?? '', /^\$argon2id\$/);
      assert.equal((await verifyPassword(user!.passwordHash, PASSWORD)).ok, true, 'the newline was removed');
      const audit = JSON.stringify(await store.listAudit(20));
      assert.match(audit, /user\.created/);
      assert.ok(!audit.includes(PASSWORD) && !audit.includes('argon2'));
    });
  });

  it('create without a password prints a one-time set-password link under the issuer', async () => {
    const view = await createJSON(['--email', 'bob@example.org']);
    assert.equal(view.has_password, false);
    const url = String(view.set_password_url);
    assert.match(url, /^https:\/\/auth\.example\.org\/account\/set-password\?token=[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(String(view.set_password_expires_at));
    assert.ok(Math.abs(expires - (Date.now() + 24 * 3600_000)) < 60_000, 'valid 24 h');
    const token = new URL(url).searchParams.get('token')!;
    await withStore(async (store) => {
      assert.equal((await findSetPasswordLink(store, token, Date.now()))?.id, view.id);
      assert.equal(await store.getPending('set_password', token, Date.now()), undefined, 'stored hashed');
      assert.ok(await store.getPending('set_password', hashToken(token), Date.now()));
    });

    const human = await tessera(['users', 'create', '--email', 'carol@example.org', ...dd]);
    assert.equal(human.code, 0, human.err);
    assert.match(human.out, /^id: {13}usr_/);
    assert.match(human.out, /password: {7}not set/);
    assert.match(
      human.out,
      /set-password link \(one use, until .+\):\n {2}https:\/\/auth\.example\.org\/account\/set-password\?token=/,
    );
    assert.equal(human.err, '');
  });

  it('the link follows TESSERA_ISSUER, and the default issuer comes with a warning', async () => {
    const fromEnv = await tessera(
      ['users', 'create', '--email', 'dan@example.org', '--json', '--data-dir', dir],
      {
        env: { TESSERA_ISSUER: 'https://login.example.net' },
      },
    );
    assert.equal(fromEnv.code, 0, fromEnv.err);
    assert.match(
      JSON.parse(fromEnv.out).set_password_url,
      /^https:\/\/login\.example\.net\/account\/set-password\?/,
    );
    const byDefault = await tessera([
      'users',
      'create',
      '--email',
      'eve@example.org',
      '--json',
      '--data-dir',
      dir,
    ]);
    assert.match(
      JSON.parse(byDefault.out).set_password_url,
      /^http:\/\/127\.0\.0\.1:7070\/account\/set-password\?/,
    );
    assert.match(
      byDefault.err,
      /^tessera: warning: the link uses the default issuer http:\/\/127\.0\.0\.1:7070;/,
    );
  });

  it('list and show (by id or email, case-insensitively) never print a hash', async () => {
    const listed = await tessera(['users', 'list', '--json', ...dd]);
    assert.equal(listed.code, 0, listed.err);
    const users = JSON.parse(listed.out) as { id: string; email: string }[];
    assert.deepEqual(
      users.map((u) => u.email),
      ['Ada@Example.org', 'bob@example.org', 'carol@example.org', 'dan@example.org', 'eve@example.org'],
    );
    const ada = users[0]!;
    const byEmail = await tessera(['users', 'show', 'ada@EXAMPLE.org', '--json', ...dd]);
    assert.equal(byEmail.code, 0, byEmail.err);
    assert.equal(JSON.parse(byEmail.out).id, ada.id);
    const byId = await tessera(['users', 'show', ada.id, ...dd]);
    assert.match(byId.out, /email: {10}Ada@Example\.org \(verified\)/);
    assert.match(byId.out, /claims: {9}\{"tenant_id":"acme"\}/);
    const table = await tessera(['users', 'list', ...dd]);
    assert.match(table.out, /^ID +EMAIL +STATUS +PASSWORD +NAME\n/);
    assert.match(table.out, new RegExp(`${ada.id} +Ada@Example\\.org +active +set +Ada Lovelace`));
    for (const text of [listed.out, byEmail.out, byId.out, table.out])
      assert.ok(!/argon2|password_hash|passwordHash/.test(text));
  });

  it('an unknown user is "no user" and exit 1, for every subcommand that names one', async () => {
    for (const sub of ['show', 'disable', 'enable', 'delete', 'link']) {
      const res = await tessera(['users', sub, 'nobody@example.org', ...dd]);
      assert.equal(res.code, 1, sub);
      assert.equal(res.err, 'tessera: no user "nobody@example.org"\n', sub);
    }
    const res = await tessera(['users', 'set-password', 'usr_nobody', '--password-stdin', ...dd], {
      stdin: PASSWORD,
    });
    assert.equal(res.code, 1);
    assert.equal(res.err, 'tessera: no user "usr_nobody"\n');
  });

  it('create refuses a taken email (any case), bad emails and bad claims, naming the rule', async () => {
    const cases: [string[], string][] = [
      [['--email', 'ADA@example.org'], 'a user with the email "ADA@example.org" already exists'],
      [['--email', 'not-an-address'], 'an email address has exactly one "@"'],
      [['--email', 'ada@localhost'], 'the domain of an email address needs a dot (e.g. example.org)'],
      [
        ['--email', 'f@example.org', '--claims', '{"sub":"admin"}'],
        '"sub" is a registered claim and cannot be a custom claim',
      ],
      [
        ['--email', 'f@example.org', '--claims', '{"roles":["admin"]}'],
        '"roles" is a registered claim and cannot be a custom claim',
      ],
      [
        ['--email', 'f@example.org', '--claims', '{"api_key":"x"}'],
        '"api_key" looks sensitive and cannot go into a readable token',
      ],
      [
        ['--email', 'f@example.org', '--claims', '[1]'],
        'custom claims must be a JSON object, e.g. {"tenant_id":"acme"}',
      ],
      [
        ['--email', 'f@example.org', '--claims', '{"org":{"id":1}}'],
        'custom claim "org" must be a string, number, boolean or null, or an array of them',
      ],
    ];
    for (const [args, message] of cases) {
      const res = await tessera(['users', 'create', ...args, ...dd]);
      assert.equal(res.code, 1, args.join(' '));
      assert.equal(res.err, `tessera: ${message}\n`);
    }
    assert.equal((await tessera(['users', 'show', 'f@example.org', ...dd])).code, 1, 'nothing stored');
  });

  it('a password against the policy is refused by rule, never echoed; nothing is stored', async () => {
    const short = await tessera(['users', 'create', '--email', 'g@example.org', '--password-stdin', ...dd], {
      stdin: 'hunter2\n',
    });
    assert.equal(short.code, 1);
    assert.equal(short.err, 'tessera: a password needs at least 8 characters\n');
    assert.ok(!short.out.includes('hunter2'));
    const twoLines = await tessera(
      ['users', 'create', '--email', 'g@example.org', '--password-stdin', ...dd],
      {
        stdin: `${PASSWORD}\nsecond line\n`,
      },
    );
    assert.equal(twoLines.code, 1);
    assert.equal(twoLines.err, 'tessera: the password on standard input must be one line\n');
    assert.equal((await tessera(['users', 'show', 'g@example.org', ...dd])).code, 1);
  });

  it('a password is never taken as a flag (shell history, process lists)', async () => {
    const res = await tessera([
      'users',
      'create',
      '--email',
      'g@example.org',
      '--password',
      'SuperSecret123',
      ...dd,
    ]);
    assert.equal(res.code, 2);
    assert.match(res.err, /^tessera: Unknown option '--password'/);
    assert.ok(!res.err.includes('SuperSecret123'));
  });

  it('usage errors (exit 2) before the store is opened', async () => {
    const cases: [string[], RegExp][] = [
      [['users'], /expected a subcommand/],
      [['users', 'frobnicate'], /unknown subcommand "frobnicate"/],
      [['users', 'toString'], /unknown subcommand "toString"/],
      [['users', 'create'], /--email is required/],
      [['users', 'show'], /expected a user id or email/],
      [['users', 'list', '--email', 'a@b.example'], /list does not take --email/],
      [['users', 'disable', 'x', '--password-stdin'], /disable does not take --password-stdin/],
      [['users', 'set-password', 'x'], /pass --password-stdin/],
      [['users', 'link', 'x', '--link-ttl', '10'], /has no unit/],
      [['users', 'show', 'a', 'b'], /unexpected argument "b"/],
    ];
    const empty = mkdtempSync(join(tmpdir(), 'tessera-users-usage-'));
    try {
      for (const [args, message] of cases) {
        const res = await tessera([...args, '--data-dir', empty]);
        assert.equal(res.code, 2, args.join(' '));
        assert.match(res.err, message);
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("set-password --password-stdin replaces the password and ends the user's sessions", async () => {
    const user = await createJSON(['--email', 'hal@example.org']);
    const id = String(user.id);
    await withStore((store) => signIn(store, id, 'h'));
    const res = await tessera(['users', 'set-password', id, '--password-stdin', ...dd], {
      stdin: 'an entirely new passphrase\r\n',
    });
    assert.equal(res.code, 0, res.err);
    assert.equal(res.out, `set the password of user ${id} (hal@example.org); their sessions ended\n`);
    await withStore(async (store) => {
      const stored = await store.getUser(id);
      assert.equal((await verifyPassword(stored!.passwordHash, 'an entirely new passphrase')).ok, true);
      assert.equal(await store.getSession('sid-h'), undefined);
      const event = (await store.listAudit(1))[0];
      assert.deepEqual(event?.data, { userId: id, via: 'cli', sessions: 1 });
    });
    const refused = await tessera(['users', 'set-password', id, '--password-stdin', ...dd], {
      stdin: 'short',
    });
    assert.equal(refused.code, 1);
    assert.equal(refused.err, 'tessera: a password needs at least 8 characters\n');
  });

  it('disable ends sessions, revokes refresh families and adds a sub entry; enable keeps those revoked', async () => {
    const user = await createJSON(['--email', 'ivy@example.org'], `${PASSWORD}\n`);
    const id = String(user.id);
    await withStore((store) => signIn(store, id, 'i'));
    const res = await tessera(['users', 'disable', 'IVY@example.org', '--json', ...dd]);
    assert.equal(res.code, 0, res.err);
    const summary = JSON.parse(res.out);
    assert.deepEqual(
      { ...summary, revoked: { ...summary.revoked, jwts_issued_until: 'T' } },
      { id, disabled: true, ended_sessions: 1, revoked: { refresh_families: 1, jwts_issued_until: 'T' } },
    );
    await withStore(async (store) => {
      const now = Date.now();
      assert.equal((await store.getUser(id))?.disabled, true);
      assert.equal(await store.getSession('sid-i'), undefined);
      assert.equal((await store.getFamily('fam-i'))?.revokedReason, 'user_disabled');
      const entry = await store.getRevocation('sub', id, now);
      assert.equal(entry?.revokedAt, Date.parse(summary.revoked.jwts_issued_until));
      // The server maximum (1 h by default) plus 5 minutes of clock skew.
      assert.ok(entry!.expiresAt >= entry!.revokedAt + 3900_000);
    });
    const shown = await tessera(['users', 'show', id, ...dd]);
    assert.match(shown.out, /status: {9}disabled/);
    const link = await tessera(['users', 'link', id, ...dd]);
    assert.equal(link.code, 1);
    assert.equal(link.err, `tessera: user "${id}" is disabled; enable them first\n`);

    const enabled = await tessera(['users', 'enable', id, ...dd]);
    assert.equal(enabled.code, 0, enabled.err);
    assert.match(enabled.out, /status: {9}active/);
    assert.match(enabled.out, /Tokens revoked when the user was disabled stay revoked/);
    await withStore(async (store) => {
      assert.equal((await store.getUser(id))?.disabled, false);
      assert.equal(await store.isRevoked('sub', id, Date.now()), true);
      assert.equal((await store.getFamily('fam-i'))?.revokedAt !== null, true);
      const types = (await store.listAudit(3)).map((e) => e.type);
      assert.deepEqual(types.slice(0, 2), ['user.enabled', 'user.disabled']);
    });
  });

  it('delete removes the user and revokes like disable; a second delete is "no user"', async () => {
    const user = await createJSON(['--email', 'jo@example.org'], `${PASSWORD}\n`);
    const id = String(user.id);
    await withStore((store) => signIn(store, id, 'j'));
    const res = await tessera(['users', 'delete', id, ...dd]);
    assert.equal(res.code, 0, res.err);
    assert.match(
      res.out,
      new RegExp(
        `^deleted user ${id} \\(jo@example\\.org\\); ended 1 session\\(s\\), revoked 1 refresh family and every JWT issued to them until \\S+Z\\n$`,
      ),
    );
    await withStore(async (store) => {
      assert.equal(await store.getUser(id), undefined);
      assert.equal((await store.getFamily('fam-j'))?.revokedReason, 'user_deleted');
      assert.equal(await store.isRevoked('sub', id, Date.now()), true);
    });
    const again = await tessera(['users', 'delete', id, ...dd]);
    assert.equal(again.code, 1);
    assert.equal(again.err, `tessera: no user "${id}"\n`);
  });

  it('link prints a new one-time link; the older one keeps working until one is used', async () => {
    const user = await createJSON(['--email', 'kim@example.org']);
    const first = new URL(String(user.set_password_url)).searchParams.get('token')!;
    const res = await tessera(['users', 'link', 'kim@example.org', '--link-ttl', '1h', '--json', ...dd]);
    assert.equal(res.code, 0, res.err);
    const answer = JSON.parse(res.out);
    assert.equal(answer.id, user.id);
    const second = new URL(answer.set_password_url).searchParams.get('token')!;
    assert.notEqual(second, first);
    assert.ok(Math.abs(Date.parse(answer.set_password_expires_at) - (Date.now() + 3600_000)) < 60_000);
    await withStore(async (store) => {
      const now = Date.now();
      assert.equal((await findSetPasswordLink(store, first, now))?.id, user.id);
      assert.equal((await findSetPasswordLink(store, second, now))?.id, user.id);
      assert.equal(await findSetPasswordLink(store, second, now + 3600_000), undefined, 'after --link-ttl');
    });
  });

  it('the real binary reads the password from a pipe', () => {
    const res = spawnSync(
      process.execPath,
      [TESSERA_BIN, 'users', 'create', '--email', 'lee@example.org', '--password-stdin', '--json', ...dd],
      { input: `${PASSWORD}\n`, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
    );
    assert.equal(res.status, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout).has_password, true);
    assert.ok(!res.stdout.includes(PASSWORD));
  });
});

describe('tessera users disable --redis', async () => {
  const redis = await redisUrl();
  it(
    'pushes the sub revocation entry on the revocation channel of its --redis-prefix',
    {
      skip: redis === undefined && 'Redis not reachable',
    },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-users-push-'));
      const entries: { type?: string; value?: string; revoked_at?: number }[] = [];
      let subscribed!: () => void;
      const live = new Promise<void>((r) => (subscribed = r));
      const unsubscribe = createRedisRevocationTransport({
        url: redis!,
        channel: TEST_REVOCATION_CHANNEL,
      }).subscribe(
        (e) => entries.push(e as (typeof entries)[number]),
        () => subscribed(),
      );
      try {
        await live;
        const dd = ['--data-dir', dir];
        const created = await tessera([
          'users',
          'create',
          '--email',
          'push@example.org',
          '--json',
          '--init',
          ...dd,
        ]);
        assert.equal(created.code, 0, created.err);
        const id = String(JSON.parse(created.out).id);
        const disabled = await tessera(['users', 'disable', id, ...testRedisArgs(redis!), '--json', ...dd]);
        assert.equal(disabled.code, 0, disabled.err);
        const deadline = Date.now() + 5000;
        while (!entries.some((e) => e.value === id) && Date.now() < deadline) await sleep(20);
        const entry = entries.find((e) => e.value === id);
        assert.equal(entry?.type, 'sub');
        assert.equal(
          entry?.revoked_at,
          Math.floor(Date.parse(JSON.parse(disabled.out).revoked.jwts_issued_until) / 1000),
        );
      } finally {
        unsubscribe();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

/** A live session and refresh family of `userId`, as a sign-in would leave them. */
async function signIn(store: Store, userId: string, tag: string): Promise<void> {
  const now = Date.now();
  await store.createSession({
    id: `sid-${tag}`,
    secretHash: hashToken(`cookie-${tag}`),
    userId,
    authTime: now,
    amr: ['pwd'],
    acr: '1',
    createdAt: now,
    idleExpiresAt: now + 3600_000,
    absoluteExpiresAt: now + 7 * 86400_000,
  });
  await store.createFamily(
    {
      id: `fam-${tag}`,
      clientId: 'web',
      sub: userId,
      scope: ['openid'],
      claims: '{}',
      createdAt: now,
      absoluteExpiresAt: now + 7 * 86400_000,
      revokedAt: null,
      revokedReason: null,
      userId,
      sessionId: `sid-${tag}`,
    },
    {
      hash: hashToken(`refresh-${tag}`),
      familyId: `fam-${tag}`,
      createdAt: now,
      expiresAt: now + 86400_000,
      usedAt: null,
    },
  );
}
