import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, readStdin, usageFailure } from '../args.js';
import {
  configArgSpec,
  configHelp,
  loadConfig,
  STORAGE_FLAGS,
  type ServerConfig,
} from '../../server/config.js';
import { openReadableState, openWritableState } from '../state.js';
import { derivePepper } from '../../keys/kek.js';
import type { Store } from '../../store/types.js';
import { RelyingPartyError } from '../../relying-party/index.js';
import { FederationError } from '../../federation/errors.js';
import {
  addIdentityProvider,
  callbackUri,
  DEFAULT_SCOPE,
  deleteIdentityProvider,
  describeProvider,
  requireProvider,
  type ProviderView,
} from '../../federation/providers.js';

export const summary = 'Add, list, show and delete upstream identity providers (OpenID Connect federation)';

/** The storage flags, plus the issuer: the redirect URI to register upstream is under it. */
const CONFIG_FLAGS = [...STORAGE_FLAGS, 'issuer'] as const;

const HELP = `Usage:
  tessera idps add --id ID --issuer URL --client-id ID --client-secret-stdin [--scope "${DEFAULT_SCOPE}"]
                   [--name "Corp SSO"] [--claims-map JSON] [--allowed-domains example.com] [--json]
  tessera idps list [--json]
  tessera idps show ID [--json]
  tessera idps delete ID [--json]

add options:
  --id ID                  a short slug (a-z 0-9 -, at most 32; not "local"): the "idp" claim of tokens
                           and the path of the callback
  --issuer URL             the upstream's issuer; its /.well-known/openid-configuration is read now and
                           must name exactly this issuer (https; http only on loopback)
  --client-id ID           our client id at the upstream
  --client-secret-stdin    read our client secret from standard input (one line); stored encrypted
                           under the KEK, never printed
  --scope S                scopes asked of the upstream (must include openid; default "${DEFAULT_SCOPE}")
  --name N                 the button text: "Continue with N" (default: the id)
  --claims-map JSON        upstream claim → "name" | "email" | "claims.<custom>", e.g.
                           '{"upn":"email","department":"claims.department"}'
  --allowed-domains D,...  email domains whose users are created on their first sign-in (exact
                           match); without it nobody is provisioned: only existing links sign in
  --json                   print JSON

add prints the redirect URI to register at the upstream: {issuer}/signin/idp/{id}/callback.
delete removes the provider and its links; the linked users keep their accounts.

Options (every subcommand):
${configHelp(CONFIG_FLAGS)}

Exit codes: 0 ok, 1 refused, unreachable or not found, 2 usage.`;

const OPTIONS = {
  ...configArgSpec(CONFIG_FLAGS),
  id: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-stdin': { type: 'boolean' },
  scope: { type: 'string' },
  name: { type: 'string' },
  'claims-map': { type: 'string' },
  'allowed-domains': { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;
const ADD_OPTIONS = [
  'id',
  'client-id',
  'client-secret-stdin',
  'scope',
  'name',
  'claims-map',
  'allowed-domains',
];
const SUBCOMMANDS = ['add', 'list', 'show', 'delete'];

function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function printProvider(io: CommandIO, view: ProviderView): void {
  const map = Object.keys(view.claims_map).length === 0 ? '(default)' : JSON.stringify(view.claims_map);
  io.stdout.write(
    [
      `id:               ${view.id}`,
      `name:             ${view.name}`,
      `issuer:           ${view.issuer}`,
      `client id:        ${view.client_id}`,
      `scope:            ${view.scope}`,
      `claims map:       ${map}`,
      `allowed domains:  ${view.allowed_domains.length === 0 ? '(none: no provisioning)' : view.allowed_domains.join(', ')}`,
      `created:          ${view.created_at}`,
    ].join('\n') + '\n',
  );
}

async function runAdd(io: CommandIO, config: ServerConfig, values: Record<string, unknown>) {
  const secret = (await readStdin(io)).replace(/\r?\n$/, '');
  if (/[\r\n]/.test(secret))
    throw new FederationError('ERR_IDP_INVALID', 'the client secret on standard input must be one line');
  const { store, kek } = await openWritableState(config, { init: values.init === true, io });
  try {
    const domains = values['allowed-domains'];
    const { record } = await addIdentityProvider(
      store,
      derivePepper(kek),
      {
        id: str(values, 'id')!,
        issuer: str(values, 'issuer-url')!,
        clientId: str(values, 'client-id')!,
        clientSecret: secret,
        ...(str(values, 'scope') !== undefined && { scope: str(values, 'scope')! }),
        ...(str(values, 'name') !== undefined && { name: str(values, 'name')! }),
        ...(str(values, 'claims-map') !== undefined && { claimsMap: str(values, 'claims-map')! }),
        ...(Array.isArray(domains) && { allowedDomains: domains as string[] }),
      },
      { now: Date.now() },
    );
    const redirectUri = callbackUri(config.issuer, record.id);
    if (config.issuerIsDefault)
      io.stderr.write(
        `tessera: warning: the redirect URI uses the default issuer ${config.issuer}; set TESSERA_ISSUER ` +
          "to the server's issuer (--issuer names the upstream here) to print the one to register\n",
      );
    if (values.json)
      io.stdout.write(
        JSON.stringify({ ...describeProvider(record), redirect_uri: redirectUri }, null, 2) + '\n',
      );
    else {
      printProvider(io, describeProvider(record));
      io.stdout.write(`Register this redirect URI at the provider:\n  ${redirectUri}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

async function runRead(io: CommandIO, store: Store, sub: string, id: string | undefined, json: boolean) {
  if (sub === 'show') {
    const view = describeProvider(await requireProvider(store, id!));
    if (json) io.stdout.write(JSON.stringify(view, null, 2) + '\n');
    else printProvider(io, view);
    return 0;
  }
  const views = (await store.listIdentityProviders()).map(describeProvider);
  if (json) io.stdout.write(JSON.stringify(views, null, 2) + '\n');
  else if (views.length === 0) io.stdout.write('no identity providers\n');
  else for (const v of views) io.stdout.write(`${v.id}  ${v.issuer}  "${v.name}"\n`);
  return 0;
}

/**
 * `tessera idps …`: the upstream identity providers users may sign in with.
 *
 * @example await run(['add', '--id', 'corp', '--issuer', 'https://sso.corp.example', '--client-id', 'tessera', '--client-secret-stdin'], io);
 */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  let values: Record<string, unknown>;
  let positionals: string[];
  let config: ServerConfig;
  try {
    // `--issuer` is our own issuer for every command (the server's config flag); `idps add` names the
    // upstream with the same flag, so it is read apart from the config flags for add.
    const parsed = parseCommandArgs(argv, OPTIONS);
    values = parsed.values;
    positionals = parsed.positionals;
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals[0] === 'add') {
      values['issuer-url'] = values.issuer;
      delete values.issuer;
    }
    const settings = Object.fromEntries(
      Object.entries(values).filter(([name]) => (CONFIG_FLAGS as readonly string[]).includes(name)),
    );
    config = loadConfig({ values: settings, env: io.env });
  } catch (err) {
    return usageFailure(io, err, HELP);
  }
  const [sub, id, ...extra] = positionals;
  const json = values.json === true;
  try {
    if (sub === undefined || !SUBCOMMANDS.includes(sub))
      throw new UsageError(sub === undefined ? 'expected a subcommand' : `unknown subcommand "${sub}"`);
    if (extra.length > 0 || ((sub === 'add' || sub === 'list') && id !== undefined))
      throw new UsageError(`unexpected argument "${extra[0] ?? id}"`);
    if ((sub === 'show' || sub === 'delete') && id === undefined)
      throw new UsageError('expected a provider id');
    if (sub !== 'add') {
      const stray = Object.keys(values).find((name) => ADD_OPTIONS.includes(name));
      if (stray !== undefined) throw new UsageError(`${sub} does not take --${stray}`);
    } else {
      for (const flag of ['id', 'issuer-url', 'client-id'])
        if (str(values, flag) === undefined)
          throw new UsageError(`--${flag === 'issuer-url' ? 'issuer' : flag} is required`);
      // A secret is never a flag: it would land in shell history and process lists.
      if (values['client-secret-stdin'] !== true)
        throw new UsageError('add reads the client secret from standard input: pass --client-secret-stdin');
      return await runAdd(io, config, values);
    }
    if (sub === 'delete') {
      const { store } = await openWritableState(config, { init: false, io });
      try {
        const links = await deleteIdentityProvider(store, id!, Date.now());
        if (json) io.stdout.write(JSON.stringify({ id, deleted: true, links_removed: links }) + '\n');
        else io.stdout.write(`deleted identity provider ${id} and its ${links} link(s)\n`);
        return 0;
      } finally {
        await store.close();
      }
    }
    const store = await openReadableState(config);
    try {
      return await runRead(io, store, sub, id, json);
    } finally {
      await store.close();
    }
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    if (err instanceof FederationError || err instanceof RelyingPartyError) {
      io.stderr.write(`tessera: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
