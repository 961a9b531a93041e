import { readFileSync } from 'node:fs';
import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, parseDuration, usageFailure } from '../args.js';
import {
  STORAGE_FLAGS,
  configArgSpec,
  configHelp,
  loadConfig,
  type ServerConfig,
} from '../../server/config.js';
import { openCommandState } from '../state.js';
import type { Store } from '../../store/types.js';
import { derivePepper, loadKEK } from '../../keys/kek.js';
import {
  ClientValidationError,
  createClient,
  describeClient,
  listClientViews,
  type ClientView,
  type CreateClientOptions,
} from '../../oauth/clients.js';
import type { ClientAuthMethod, TokenFormat } from '../../store/types.js';

export const summary = 'Register, list, show and delete OAuth clients';

const HELP = `Usage:
  tessera clients create --id ID --grants GRANTS [options]
  tessera clients list [--json]
  tessera clients show ID [--json]
  tessera clients delete ID [--json]

create options:
  --id ID                  client id (A-Z a-z 0-9 . _ ~ -)
  --grants LIST            comma-separated: client_credentials,
                           urn:ietf:params:oauth:grant-type:jwt-bearer, refresh_token
  --audience AUD           token audience (repeat or comma-separate for several; default: the issuer)
  --scope "a b"            scope the client may request (default scope of its tokens)
  --auth METHOD            client_secret_basic (default), client_secret_post or private_key_jwt
  --jwks FILE              the client's public JWK Set (private_key_jwt, jwt-bearer assertions)
  --token-format FORMAT    jwt (default) or opaque
  --access-ttl DURATION    access-token lifetime, e.g. 15m (default: the server's); at most the
                           server maximum (--max-access-ttl / TESSERA_MAX_ACCESS_TTL, default 1h)
  --claims LIST            assertion claims passed into access tokens, e.g. tenant_id,email
  --refresh-absolute-ttl D refresh family absolute lifetime (default: the server's, 7d)
  --refresh-idle-ttl D     refresh token idle lifetime (default: the server's, 24h)
  --json                   print JSON

The generated client secret is printed once, by create; only a keyed hash of it is stored.

Storage options (every subcommand):
${configHelp(STORAGE_FLAGS)}

Exit codes: 0 ok, 1 refused or not found, 2 usage.`;

const OPTIONS = {
  ...configArgSpec(STORAGE_FLAGS),
  id: { type: 'string' },
  grants: { type: 'string' },
  audience: { type: 'string', multiple: true },
  scope: { type: 'string' },
  auth: { type: 'string' },
  jwks: { type: 'string' },
  'token-format': { type: 'string' },
  'access-ttl': { type: 'string' },
  claims: { type: 'string' },
  'refresh-absolute-ttl': { type: 'string' },
  'refresh-idle-ttl': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const list = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function createOptions(values: Record<string, unknown>): CreateClientOptions {
  const id = str(values, 'id');
  if (id === undefined) throw new UsageError('--id is required');
  const grants = list(str(values, 'grants'));
  if (grants.length === 0) throw new UsageError('--grants is required');
  const options: CreateClientOptions = { id, grants };
  const audience = (values.audience as string[] | undefined)?.flatMap((a) => list(a));
  if (audience && audience.length > 0) options.audience = audience;
  const scope = str(values, 'scope');
  if (scope !== undefined) options.scope = scope.split(' ').filter((s) => s !== '');
  const auth = str(values, 'auth');
  if (auth !== undefined) options.authMethod = auth as ClientAuthMethod;
  const format = str(values, 'token-format');
  if (format !== undefined) options.tokenFormat = format as TokenFormat;
  const jwksFile = str(values, 'jwks');
  if (jwksFile !== undefined) {
    try {
      options.jwks = readFileSync(jwksFile, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --jwks ${jwksFile}: ${(err as Error).message}`);
    }
  }
  const ttl = str(values, 'access-ttl');
  if (ttl !== undefined) options.accessTtl = parseDuration(ttl);
  const claims = str(values, 'claims');
  if (claims !== undefined) options.allowedClaims = list(claims);
  const absolute = str(values, 'refresh-absolute-ttl');
  if (absolute !== undefined) options.refreshAbsoluteTtl = parseDuration(absolute);
  const idle = str(values, 'refresh-idle-ttl');
  if (idle !== undefined) options.refreshIdleTtl = parseDuration(idle);
  return options;
}

function printClient(io: CommandIO, view: ClientView, secret?: string): void {
  const lines = [
    `client_id:      ${view.client_id}`,
    `auth method:    ${view.token_endpoint_auth_method}`,
    `grants:         ${view.grant_types.join(', ')}`,
    `audience:       ${view.audience.join(', ') || '(the issuer)'}`,
    `scope:          ${view.scope || '(none)'}`,
    `token format:   ${view.token_format}`,
    `access ttl:     ${view.access_token_ttl}s`,
    `allowed claims: ${view.allowed_claims.join(', ') || '(none)'}`,
    `refresh ttl:    ${view.refresh_absolute_ttl}s absolute, ${view.refresh_idle_ttl}s idle`,
    `jwks:           ${view.jwks === null ? '(none)' : `${(view.jwks as { keys: unknown[] }).keys.length} key(s)`}`,
    `created:        ${view.created_at}`,
  ];
  if (secret !== undefined) {
    lines.push(`client_secret:  ${secret}`, '', 'Store the secret now: it is not shown again.');
  }
  io.stdout.write(lines.join('\n') + '\n');
}

async function runCreate(io: CommandIO, store: Store, config: ServerConfig, values: Record<string, unknown>) {
  const options = createOptions(values);
  // The pepper is derived from the KEK exactly as the server does, so the server accepts the secret.
  const hasKeys = (await store.listKeys()).length > 0;
  const kek = loadKEK({ env: config.kek, file: config.kekFile, allowCreate: !hasKeys });
  if (kek.created)
    io.stderr.write(`tessera: generated a new key-encryption key in ${kek.path}; back it up\n`);
  const { client, secret } = await createClient(store, options, config, derivePepper(kek));
  await store.appendAudit({
    at: Date.now(),
    type: 'client.created',
    data: { clientId: client.id, grants: client.grants },
  });
  const view = describeClient(client);
  if (values.json)
    io.stdout.write(
      JSON.stringify(secret === undefined ? view : { ...view, client_secret: secret }, null, 2) + '\n',
    );
  else printClient(io, view, secret);
  return 0;
}

async function runShow(io: CommandIO, store: Store, id: string | undefined, json: boolean) {
  if (id === undefined) throw new UsageError('expected a client id');
  const client = await store.getClient(id);
  if (!client) {
    io.stderr.write(`tessera: no client "${id}"\n`);
    return 1;
  }
  if (json) io.stdout.write(JSON.stringify(describeClient(client), null, 2) + '\n');
  else printClient(io, describeClient(client));
  return 0;
}

async function runList(io: CommandIO, store: Store, json: boolean) {
  const views = await listClientViews(store);
  if (json) {
    io.stdout.write(JSON.stringify(views, null, 2) + '\n');
    return 0;
  }
  if (views.length === 0) {
    io.stdout.write('no clients\n');
    return 0;
  }
  const rows = views.map((v) => [
    v.client_id,
    v.token_endpoint_auth_method,
    v.token_format,
    v.grant_types.join(','),
  ]);
  const header = ['CLIENT ID', 'AUTH', 'FORMAT', 'GRANTS'];
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

async function runDelete(io: CommandIO, store: Store, id: string | undefined, json: boolean) {
  if (id === undefined) throw new UsageError('expected a client id');
  const deleted = await store.deleteClient(id);
  if (deleted) await store.appendAudit({ at: Date.now(), type: 'client.deleted', data: { clientId: id } });
  if (json) io.stdout.write(JSON.stringify({ client_id: id, deleted }) + '\n');
  else io.stdout.write(deleted ? `deleted client "${id}"\n` : '');
  if (!deleted) io.stderr.write(`tessera: no client "${id}"\n`);
  return deleted ? 0 : 1;
}

/** `tessera clients create|list|show|delete` */
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
    // Only the storage flags are server settings: `--access-ttl` here is the client's, not the server default.
    const storage = Object.fromEntries(
      Object.entries(values).filter(([name]) => (STORAGE_FLAGS as readonly string[]).includes(name)),
    );
    config = loadConfig({ values: storage, env: io.env });
  } catch (err) {
    return usageFailure(io, err, HELP);
  }
  const [sub, id, ...extra] = positionals;
  const json = values.json === true;
  let store: Store | undefined;
  try {
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (sub === 'create' && id !== undefined)
      throw new UsageError('create takes --id ID, not a positional id');
    if (!['create', 'list', 'show', 'delete'].includes(sub ?? '')) {
      throw new UsageError(sub === undefined ? 'expected a subcommand' : `unknown subcommand "${sub}"`);
    }
    if (sub === 'create') createOptions(values); // usage errors before the store is opened
    store = await openCommandState(config, {
      write: sub !== 'list' && sub !== 'show',
      init: values.init === true,
      io,
    });
    switch (sub) {
      case 'create':
        return await runCreate(io, store, config, values);
      case 'list':
        return await runList(io, store, json);
      case 'show':
        return await runShow(io, store, id, json);
      default:
        return await runDelete(io, store, id, json);
    }
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    if (err instanceof ClientValidationError) {
      io.stderr.write(`tessera: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await store?.close();
  }
}
