import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, parseDuration, readStdin, usageFailure } from '../args.js';
import {
  configArgSpec,
  configHelp,
  loadConfig,
  STORAGE_FLAGS,
  type ServerConfig,
} from '../../server/config.js';
import { openCommandState } from '../state.js';
import { passkeyIdentity } from '../../passkeys/settings.js';
import { pushRevocation } from '../push-revocation.js';
import type { Store } from '../../store/types.js';
import { PasswordPolicyError } from '../../users/password.js';
import { createSetPasswordLink, SET_PASSWORD_LINK_TTL } from '../../users/links.js';
import { createPasskeyLink } from '../../passkeys/links.js';
import {
  createUser,
  deleteUser,
  describeUser,
  disableUser,
  enableUser,
  listUserViews,
  requireUser,
  setUserPassword,
  UserNotFoundError,
  UserValidationError,
  type CreateUserInput,
  type UserTokensRevoked,
  type UserView,
} from '../../users/users.js';

export const summary =
  'Create, list, show, disable, enable and delete users; set their passwords; passkey enrolment links';

/** The storage flags, plus the issuer: set-password links are URLs under it. */
const CONFIG_FLAGS = [...STORAGE_FLAGS, 'issuer'] as const;

const HELP = `Usage:
  tessera users create --email E [--name N] [--claims JSON] [--email-verified] [--password-stdin]
                       [--passkey-link]
  tessera users list [--json]
  tessera users show ID|EMAIL [--json]
  tessera users disable ID|EMAIL [--json]
  tessera users enable ID|EMAIL [--json]
  tessera users delete ID|EMAIL [--json]
  tessera users set-password ID|EMAIL --password-stdin [--json]
  tessera users link ID|EMAIL [--link-ttl 24h] [--json]
  tessera users passkey-link ID|EMAIL [--link-ttl 24h] [--json]

create options:
  --email E                the user's email (unique, compared case-insensitively)
  --name N                 display name (the "name" claim with the profile scope)
  --claims JSON            custom claims, a JSON object such as '{"tenant_id":"acme"}' (at most
                           1 KiB; strings, numbers, booleans, null or arrays of them; no registered or
                           sensitive-looking names). They reach access tokens only through a client's
                           --claims allowlist.
  --email-verified         the email is known to be the user's (the "email_verified" claim)
  --password-stdin         read the password from standard input (one line; on a terminal, end it
                           with Ctrl-D); without it, create prints a one-time set-password link
  --passkey-link           also print a one-time passkey enrolment link (instead of the
                           set-password link when no password is given: a passkey-only user)
  --link-ttl DURATION      how long a link works (create, link, passkey-link; default 24h)
  --json                   print JSON

The user's "id" (usr_…) is the "sub" of their tokens; it never changes. Passwords follow NIST SP 800-63B:
at least 8 characters, at most 256, no composition rules; only an argon2id hash is stored. A password is
never accepted as a flag (it would land in shell history and process lists).

disable and delete end the user's sessions, revoke their refresh tokens, and add a "sub" revocation entry
that stops their JWT access tokens at verifiers following the revocation feed (with --redis, pushed at
once). enable lets the user sign in again; tokens revoked when they were disabled stay revoked.
set-password ends the user's browser sessions. link prints a new one-time set-password link
(earlier links keep working until one is used). passkey-link prints a one-time link
({issuer}/account/passkey?token=…) whose opener registers one passkey for the user; it needs an
issuer where browsers allow passkeys (https, or http://localhost).

Options (every subcommand):
${configHelp(CONFIG_FLAGS)}

Exit codes: 0 ok, 1 refused or not found, 2 usage.`;

const OPTIONS = {
  ...configArgSpec(CONFIG_FLAGS),
  email: { type: 'string' },
  name: { type: 'string' },
  claims: { type: 'string' },
  'email-verified': { type: 'boolean' },
  'password-stdin': { type: 'boolean' },
  'link-ttl': { type: 'string' },
  'passkey-link': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** Which subcommand takes which of its own options; any other is refused, not ignored. */
const TAKES: Record<string, string[]> = {
  create: ['email', 'name', 'claims', 'email-verified', 'password-stdin', 'link-ttl', 'passkey-link'],
  list: [],
  show: [],
  disable: [],
  enable: [],
  delete: [],
  'set-password': ['password-stdin'],
  link: ['link-ttl'],
  'passkey-link': ['link-ttl'],
};
const USER_OPTIONS = [
  'email',
  'name',
  'claims',
  'email-verified',
  'password-stdin',
  'link-ttl',
  'passkey-link',
];
const READ_ONLY = ['list', 'show'];

function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The password from standard input: one line, its line ending removed. Never echoed, not even in an error
 * message; a second line is refused (a pasted file, or two passwords, is more likely a mistake than a
 * password with a newline).
 */
async function readPassword(io: CommandIO): Promise<string> {
  const text = (await readStdin(io)).replace(/\r?\n$/, '');
  if (/[\r\n]/.test(text)) throw new UserValidationError('the password on standard input must be one line');
  return text;
}

function linkTtl(values: Record<string, unknown>): number {
  const text = str(values, 'link-ttl');
  if (text === undefined) return SET_PASSWORD_LINK_TTL;
  const seconds = parseDuration(text);
  if (seconds < 60) throw new UsageError('--link-ttl must be at least 1m');
  return seconds;
}

function printUser(io: CommandIO, view: UserView): void {
  const claims = Object.keys(view.claims).length === 0 ? '(none)' : JSON.stringify(view.claims);
  io.stdout.write(
    [
      `id:             ${view.id}`,
      `email:          ${view.email}${view.email_verified ? ' (verified)' : ''}`,
      `name:           ${view.name ?? '(none)'}`,
      `status:         ${view.disabled ? 'disabled' : 'active'}`,
      `password:       ${view.has_password ? 'set' : 'not set'}`,
      `claims:         ${claims}`,
      `created:        ${view.created_at}`,
      `updated:        ${view.updated_at}`,
    ].join('\n') + '\n',
  );
}

/** The link is a URL under the issuer: say so when the issuer is only the default (the link may not open). */
function warnDefaultIssuer(io: CommandIO, config: ServerConfig): void {
  if (config.issuerIsDefault)
    io.stderr.write(
      `tessera: warning: the link uses the default issuer ${config.issuer}; pass the server's --issuer ` +
        '(or set TESSERA_ISSUER) for a link the user can open\n',
    );
}

function printLink(io: CommandIO, url: string, expiresAt: number): void {
  io.stdout.write(
    [
      `set-password link (one use, until ${new Date(expiresAt).toISOString()}):`,
      `  ${url}`,
      'Give it to the user over a channel you trust: whoever opens it sets the password.',
    ].join('\n') + '\n',
  );
}

function printPasskeyLink(io: CommandIO, url: string, expiresAt: number): void {
  io.stdout.write(
    [
      `passkey link (one use, until ${new Date(expiresAt).toISOString()}):`,
      `  ${url}`,
      'Give it to the user over a channel you trust: whoever opens it adds a passkey to this account.',
    ].join('\n') + '\n',
  );
}

/** Passkeys need an issuer browsers accept as a WebAuthn relying party: refuse a link that could never work. */
function requirePasskeyIssuer(config: ServerConfig): void {
  if (passkeyIdentity(config.issuer) === undefined)
    throw new UserValidationError(
      `passkeys need an https issuer (or http://localhost); ${config.issuer} cannot be a WebAuthn relying party`,
    );
}

async function runPasskeyLink(
  io: CommandIO,
  store: Store,
  config: ServerConfig,
  key: string,
  values: Record<string, unknown>,
) {
  requirePasskeyIssuer(config);
  const user = await requireUser(store, key);
  const ttl = linkTtl(values);
  const now = Date.now();
  warnDefaultIssuer(io, config);
  const url = await createPasskeyLink(store, config.issuer, user.id, ttl, now);
  await store.appendAudit({
    at: now,
    type: 'passkey.link_created',
    data: { userId: user.id, ttlSeconds: ttl },
  });
  const expiresAt = new Date(now + ttl * 1000).toISOString();
  if (values.json)
    io.stdout.write(JSON.stringify({ id: user.id, passkey_url: url, passkey_expires_at: expiresAt }) + '\n');
  else printPasskeyLink(io, url, now + ttl * 1000);
  return 0;
}

async function runCreate(io: CommandIO, store: Store, config: ServerConfig, values: Record<string, unknown>) {
  const email = str(values, 'email');
  if (email === undefined) throw new UsageError('--email is required');
  const input: CreateUserInput = { email, emailVerified: values['email-verified'] === true };
  const name = str(values, 'name');
  if (name !== undefined) input.name = name;
  const claims = str(values, 'claims');
  if (claims !== undefined) input.claims = claims;
  if (values['password-stdin'] === true) input.password = await readPassword(io);
  const now = Date.now();
  const user = await createUser(store, input, now);
  const view = describeUser(user);
  let link: { url: string; expiresAt: number } | undefined;
  let passkey: { url: string; expiresAt: number } | undefined;
  if (values['passkey-link'] === true) {
    const ttl = linkTtl(values);
    warnDefaultIssuer(io, config);
    passkey = {
      url: await createPasskeyLink(store, config.issuer, user.id, ttl, now),
      expiresAt: now + ttl * 1000,
    };
    await store.appendAudit({
      at: now,
      type: 'passkey.link_created',
      data: { userId: user.id, ttlSeconds: ttl },
    });
  } else if (user.passwordHash === null) {
    const ttl = linkTtl(values);
    warnDefaultIssuer(io, config);
    link = {
      url: await createSetPasswordLink(store, config.issuer, user.id, ttl, now),
      expiresAt: now + ttl * 1000,
    };
  }
  if (values.json) {
    const out = {
      ...view,
      ...(link !== undefined && {
        set_password_url: link.url,
        set_password_expires_at: new Date(link.expiresAt).toISOString(),
      }),
      ...(passkey !== undefined && {
        passkey_url: passkey.url,
        passkey_expires_at: new Date(passkey.expiresAt).toISOString(),
      }),
    };
    io.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    printUser(io, view);
    if (link !== undefined) printLink(io, link.url, link.expiresAt);
    if (passkey !== undefined) printPasskeyLink(io, passkey.url, passkey.expiresAt);
  }
  return 0;
}

async function runList(io: CommandIO, store: Store, json: boolean) {
  const views = await listUserViews(store);
  if (json) {
    io.stdout.write(JSON.stringify(views, null, 2) + '\n');
    return 0;
  }
  if (views.length === 0) {
    io.stdout.write('no users\n');
    return 0;
  }
  const rows = views.map((v) => [
    v.id,
    v.email,
    v.disabled ? 'disabled' : 'active',
    v.has_password ? 'set' : 'none',
    v.name ?? '',
  ]);
  const header = ['ID', 'EMAIL', 'STATUS', 'PASSWORD', 'NAME'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    io.stdout.write(
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd() + '\n',
    );
  return 0;
}

async function runShow(io: CommandIO, store: Store, key: string, json: boolean) {
  const view = describeUser(await requireUser(store, key));
  if (json) io.stdout.write(JSON.stringify(view, null, 2) + '\n');
  else printUser(io, view);
  return 0;
}

/** disable and delete: what was revoked, and the `sub` entry pushed to subscribed verifiers. */
async function reportRevoked(
  io: CommandIO,
  config: ServerConfig,
  action: 'disabled' | 'deleted',
  result: UserTokensRevoked,
  json: boolean,
) {
  await pushRevocation(io, config, result.revocation);
  const until = new Date(result.revocation.revokedAt).toISOString();
  const summary = {
    id: result.user.id,
    [action]: true,
    ended_sessions: result.sessions.length,
    revoked: { refresh_families: result.refreshFamilies.length, jwts_issued_until: until },
  };
  if (json) io.stdout.write(JSON.stringify(summary) + '\n');
  else {
    const families = result.refreshFamilies.length;
    io.stdout.write(
      `${action} user ${result.user.id} (${result.user.email}); ended ${result.sessions.length} session(s), ` +
        `revoked ${families} refresh famil${families === 1 ? 'y' : 'ies'} and every JWT issued to them ` +
        `until ${until}\n`,
    );
  }
  return 0;
}

async function runSetPassword(io: CommandIO, store: Store, key: string, values: Record<string, unknown>) {
  const password = await readPassword(io);
  const user = await setUserPassword(store, key, password, Date.now(), 'cli');
  if (values.json) io.stdout.write(JSON.stringify({ id: user.id, password_set: true }) + '\n');
  else io.stdout.write(`set the password of user ${user.id} (${user.email}); their sessions ended\n`);
  return 0;
}

async function runLink(
  io: CommandIO,
  store: Store,
  config: ServerConfig,
  key: string,
  values: Record<string, unknown>,
) {
  const user = await requireUser(store, key);
  const ttl = linkTtl(values);
  const now = Date.now();
  warnDefaultIssuer(io, config);
  const url = await createSetPasswordLink(store, config.issuer, user.id, ttl, now);
  await store.appendAudit({ at: now, type: 'user.link_created', data: { userId: user.id, ttlSeconds: ttl } });
  if (values.json)
    io.stdout.write(
      JSON.stringify({
        id: user.id,
        set_password_url: url,
        set_password_expires_at: new Date(now + ttl * 1000).toISOString(),
      }) + '\n',
    );
  else printLink(io, url, now + ttl * 1000);
  return 0;
}

/** `tessera users create|list|show|disable|enable|delete|set-password|link|passkey-link` */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  let values: Record<string, unknown>;
  let positionals: string[];
  let config: ServerConfig;
  try {
    ({ values, positionals } = parseCommandArgs(argv, OPTIONS));
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    const settings = Object.fromEntries(
      Object.entries(values).filter(([name]) => (CONFIG_FLAGS as readonly string[]).includes(name)),
    );
    config = loadConfig({ values: settings, env: io.env });
  } catch (err) {
    return usageFailure(io, err, HELP);
  }
  const [sub, key, ...extra] = positionals;
  const json = values.json === true;
  let store: Store | undefined;
  try {
    if (sub === undefined || !Object.hasOwn(TAKES, sub))
      throw new UsageError(sub === undefined ? 'expected a subcommand' : `unknown subcommand "${sub}"`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if ((sub === 'create' || sub === 'list') && key !== undefined)
      throw new UsageError(`${sub} takes no positional argument`);
    if (sub !== 'create' && sub !== 'list' && key === undefined)
      throw new UsageError('expected a user id or email');
    // Usage errors before the store is opened; an option the subcommand does not take is refused.
    const stray = Object.keys(values).find(
      (name) => USER_OPTIONS.includes(name) && !TAKES[sub]!.includes(name),
    );
    if (stray !== undefined) throw new UsageError(`${sub} does not take --${stray}`);
    if (sub === 'create' && str(values, 'email') === undefined) throw new UsageError('--email is required');
    if (sub === 'passkey-link' || values['passkey-link'] === true) requirePasskeyIssuer(config);
    if (sub === 'set-password' && values['password-stdin'] !== true)
      throw new UsageError('set-password reads the password from standard input: pass --password-stdin');
    linkTtl(values);
    store = await openCommandState(config, {
      write: !READ_ONLY.includes(sub),
      init: values.init === true,
      io,
    });
    // A client registered before the server maximum was lowered may still issue longer-lived tokens.
    const limits =
      sub === 'disable' || sub === 'delete'
        ? {
            maxAccessTtl: Math.max(
              config.maxAccessTtl,
              ...(await store.listClients()).map((c) => c.accessTtl),
            ),
          }
        : { maxAccessTtl: config.maxAccessTtl };
    switch (sub) {
      case 'create':
        return await runCreate(io, store, config, values);
      case 'list':
        return await runList(io, store, json);
      case 'show':
        return await runShow(io, store, key!, json);
      case 'disable':
        return await reportRevoked(
          io,
          config,
          'disabled',
          await disableUser(store, key!, limits, Date.now()),
          json,
        );
      case 'enable': {
        const view = describeUser(await enableUser(store, key!, Date.now()));
        if (json) io.stdout.write(JSON.stringify(view, null, 2) + '\n');
        else {
          printUser(io, view);
          io.stdout.write('Tokens revoked when the user was disabled stay revoked; they sign in again.\n');
        }
        return 0;
      }
      case 'delete':
        return await reportRevoked(
          io,
          config,
          'deleted',
          await deleteUser(store, key!, limits, Date.now()),
          json,
        );
      case 'set-password':
        return await runSetPassword(io, store, key!, values);
      case 'passkey-link':
        return await runPasskeyLink(io, store, config, key!, values);
      default:
        return await runLink(io, store, config, key!, values);
    }
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    if (err instanceof UserNotFoundError) {
      io.stderr.write(`tessera: no user "${key ?? ''}"\n`);
      return 1;
    }
    if (err instanceof UserValidationError || err instanceof PasswordPolicyError) {
      io.stderr.write(`tessera: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await store?.close();
  }
}
