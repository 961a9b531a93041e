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
import { pushRevocation } from '../push-revocation.js';
import type { Store } from '../../store/types.js';
import { derivePepper, loadKEK } from '../../keys/kek.js';
import {
  ClientNotFoundError,
  ClientValidationError,
  createClient,
  deleteClient,
  describeClient,
  listClientViews,
  rotateClientSecret,
  updateClient,
  type ClientView,
  type CreateClientOptions,
  type UpdateClientOptions,
} from '../../oauth/clients.js';
import type { ClientAuthMethod, TokenFormat } from '../../store/types.js';
import { parseTrustIssuer } from '../../exchange/client-settings.js';

export const summary = 'Register, list, show, update, rotate secrets of and delete OAuth clients';

const HELP = `Usage:
  tessera clients create --id ID --grants GRANTS [options]
  tessera clients list [--json]
  tessera clients show ID [--json]
  tessera clients update ID [--scope …] [--audience …] [--redirect-uri …] [--claims …]
                         [--access-ttl …] [--jwks FILE] [--token-format …] [--introspect-audience …]
                         [--post-logout-redirect-uri …] [--[no-]first-party] [--[no-]require-par]
                         [--dpop required|allowed]
                         [--exchange-audience …] [--exchange-trust-issuer …]
  tessera clients rotate-secret ID [--grace 24h] [--json]
  tessera clients delete ID [--json]

create options:
  --id ID                  client id (A-Z a-z 0-9 . _ ~ -)
  --grants LIST            comma-separated: client_credentials, authorization_code,
                           urn:ietf:params:oauth:grant-type:jwt-bearer, refresh_token,
                           urn:ietf:params:oauth:grant-type:token-exchange
                           (refresh_token needs jwt-bearer or authorization_code;
                           authorization_code needs a --redirect-uri; token-exchange needs
                           an --exchange-audience)
  --audience AUD           token audience (repeat or comma-separate for several; default: the issuer)
  --scope "a b"            scope the client may request (default scope of its tokens)
  --auth METHOD            client_secret_basic (default), client_secret_post, private_key_jwt,
                           or none: a public client (browser or native app) that has no secret,
                           only with the authorization_code and refresh_token grants
  --jwks FILE              the client's public JWK Set (private_key_jwt, jwt-bearer assertions)
  --token-format FORMAT    jwt (default) or opaque
  --access-ttl DURATION    access-token lifetime, e.g. 15m (default: the server's); at most the
                           server maximum (--max-access-ttl / TESSERA_MAX_ACCESS_TTL, default 1h)
  --claims LIST            assertion claims passed into access tokens, e.g. tenant_id,email
  --refresh-absolute-ttl D refresh family absolute lifetime (default: the server's, 7d)
  --refresh-idle-ttl D     refresh token idle lifetime (default: the server's, 24h)
  --introspect-audience A  may introspect other clients' tokens for audience A (repeat or
                           comma/space-separate; default none: only its own tokens)
  --redirect-uri URI       a registered redirect URI, matched exactly (repeat or space-separate):
                           https, http on a loopback host (127.0.0.1, [::1], localhost), or a
                           native app's private-use scheme with a dot (com.example.app:/callback);
                           no fragment, no user@, no javascript:/data:/file: schemes
  --post-logout-redirect-uri URI
                           where logout may send the browser back (same rules; repeatable)
  --first-party            your own app: its users are never asked for consent
  --require-par            authorization requests must be pushed first (RFC 9126 PAR)
  --dpop MODE              allowed (default): a DPoP proof with a token request binds the tokens
                           to its key, requests without one get bearer tokens; required: every
                           token request must carry a proof (dpop_bound_access_tokens, RFC 9449)
  --exchange-audience A    token exchange (RFC 8693) may issue tokens for audience A (repeat or
                           comma-separate, e.g. orders-api,payments-api); see docs/token-exchange.md
  --exchange-trust-issuer ISSUER=JWKS_URL
                           also exchange JWTs of ISSUER (aud = this client's id), verified with
                           the keys at JWKS_URL (https; http only on loopback); repeatable
  --json                   print JSON

update changes only the options given (the create options above except --id, --grants, --auth and
the refresh lifetimes), validated like create; an empty value clears a list, e.g. --claims "".
--no-first-party and --no-require-par switch those off.

rotate-secret prints a new secret once. --grace DURATION keeps the old secret working that long
(default 0: it stops at once).

delete also revokes everything the client was issued: its opaque and refresh tokens at once, and its
JWT access tokens through a "client" revocation entry (the feed and, with --redis, a push).

The generated client secret is printed once, by create and rotate-secret; only a keyed hash is stored.

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
  'introspect-audience': { type: 'string', multiple: true },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  'first-party': { type: 'boolean' },
  'no-first-party': { type: 'boolean' },
  'require-par': { type: 'boolean' },
  'no-require-par': { type: 'boolean' },
  dpop: { type: 'string' },
  'exchange-audience': { type: 'string', multiple: true },
  'exchange-trust-issuer': { type: 'string', multiple: true },
  grace: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Options only `create` takes; `update` refuses them rather than ignoring them. */
const CREATE_ONLY = ['id', 'grants', 'auth', 'refresh-absolute-ttl', 'refresh-idle-ttl'];
/** Options only `update` and `create` take. */
const CLIENT_FIELDS = [
  ...CREATE_ONLY,
  'audience',
  'scope',
  'jwks',
  'token-format',
  'access-ttl',
  'claims',
  'introspect-audience',
  'redirect-uri',
  'post-logout-redirect-uri',
  'first-party',
  'require-par',
  'dpop',
  'exchange-audience',
  'exchange-trust-issuer',
];
/** Options only `update` takes: switching a flag off (create's default already is off). */
const UPDATE_ONLY = ['no-first-party', 'no-require-par'];

const SUBCOMMANDS = ['create', 'list', 'show', 'update', 'rotate-secret', 'delete'];

const list = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Repeated flags, each a list separated by `separator`. */
const repeated = (values: Record<string, unknown>, name: string, separator: RegExp): string[] | undefined =>
  (values[name] as string[] | undefined)?.flatMap((v) =>
    v
      .split(separator)
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );

/** `--NAME` true, `--no-NAME` false, neither undefined; both at once is a usage error. */
function onOff(values: Record<string, unknown>, name: string): boolean | undefined {
  const on = values[name] === true;
  const off = values[`no-${name}`] === true;
  if (on && off) throw new UsageError(`--${name} and --no-${name} contradict each other`);
  return on ? true : off ? false : undefined;
}

/** The options `create` and `update` share; a flag given (even empty) sets its field. */
function fieldOptions(values: Record<string, unknown>): UpdateClientOptions {
  const options: UpdateClientOptions = {};
  const audience = repeated(values, 'audience', /,/);
  if (audience !== undefined) options.audience = audience;
  const introspect = repeated(values, 'introspect-audience', /[\s,]+/);
  if (introspect !== undefined) options.introspectAudiences = introspect;
  // URIs may hold commas: repeat the flag or separate by spaces.
  const redirects = repeated(values, 'redirect-uri', /\s+/);
  if (redirects !== undefined) options.redirectUris = redirects;
  const postLogout = repeated(values, 'post-logout-redirect-uri', /\s+/);
  if (postLogout !== undefined) options.postLogoutRedirectUris = postLogout;
  const firstParty = onOff(values, 'first-party');
  if (firstParty !== undefined) options.firstParty = firstParty;
  const requirePar = onOff(values, 'require-par');
  if (requirePar !== undefined) options.requirePar = requirePar;
  const dpop = str(values, 'dpop');
  if (dpop !== undefined) {
    if (dpop !== 'required' && dpop !== 'allowed') throw new UsageError('--dpop must be required or allowed');
    options.dpopBoundAccessTokens = dpop === 'required';
  }
  const scope = str(values, 'scope');
  if (scope !== undefined) options.scope = scope.split(' ').filter((s) => s !== '');
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
  const exchangeAudiences = repeated(values, 'exchange-audience', /[\s,]+/);
  if (exchangeAudiences !== undefined) options.exchangeAudiences = exchangeAudiences;
  const trusted = repeated(values, 'exchange-trust-issuer', /\s+/);
  if (trusted !== undefined)
    options.exchangeTrustIssuers = trusted.map((text) => {
      const entry = parseTrustIssuer(text);
      if (entry === undefined)
        throw new UsageError(`--exchange-trust-issuer needs ISSUER=JWKS_URL (got "${text.slice(0, 100)}")`);
      return entry;
    });
  return options;
}

function createOptions(values: Record<string, unknown>): CreateClientOptions {
  const id = str(values, 'id');
  if (id === undefined) throw new UsageError('--id is required');
  const grants = list(str(values, 'grants'));
  if (grants.length === 0) throw new UsageError('--grants is required');
  const options: CreateClientOptions = { id, grants };
  const auth = str(values, 'auth');
  if (auth !== undefined) options.authMethod = auth as ClientAuthMethod;
  Object.assign(options, fieldOptions(values));
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
    `introspects:    ${view.introspect_audiences.join(', ') || '(own tokens only)'}`,
    `redirect uris:  ${view.redirect_uris.join(' ') || '(none)'}`,
    `logout uris:    ${view.post_logout_redirect_uris.join(' ') || '(none)'}`,
    `first party:    ${view.first_party ? 'yes (no consent screen)' : 'no'}`,
    `require par:    ${view.require_par ? 'yes' : 'no'}`,
    `dpop:           ${view.dpop_bound_access_tokens ? 'required' : 'allowed'}`,
    `exchanges for:  ${view.exchange_audiences.join(', ') || '(none)'}`,
    `trusts issuers: ${view.exchange_trust_issuers.map((t) => `${t.issuer} (${t.jwks_uri})`).join(', ') || '(none)'}`,
    `jwks:           ${view.jwks === null ? '(none)' : `${(view.jwks as { keys: unknown[] }).keys.length} key(s)`}`,
    `created:        ${view.created_at}`,
  ];
  if (view.updated_at !== undefined) lines.push(`updated:        ${view.updated_at}`);
  if (view.previous_secret_expires_at !== undefined)
    lines.push(`old secret:     valid until ${view.previous_secret_expires_at}`);
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

function requireId(id: string | undefined): string {
  if (id === undefined) throw new UsageError('expected a client id');
  return id;
}

async function runUpdate(
  io: CommandIO,
  store: Store,
  config: ServerConfig,
  id: string,
  values: Record<string, unknown>,
) {
  const changes = fieldOptions(values);
  if (Object.keys(changes).length === 0) throw new UsageError('nothing to update: give at least one option');
  const { client, changed } = await updateClient(store, id, changes, config);
  // Field names only: never values (a JWKS or a claim list is not secret, but the audit log stays small).
  await store.appendAudit({
    at: Date.now(),
    type: 'client.updated',
    data: { clientId: id, fields: changed },
  });
  const view = describeClient(client);
  if (values.json) io.stdout.write(JSON.stringify(view, null, 2) + '\n');
  else printClient(io, view);
  return 0;
}

async function runRotateSecret(
  io: CommandIO,
  store: Store,
  config: ServerConfig,
  id: string,
  values: Record<string, unknown>,
) {
  const graceText = str(values, 'grace');
  const grace = graceText === undefined ? 0 : parseDuration(graceText);
  // The pepper comes from the KEK exactly as the server derives it, so the server accepts the new secret.
  const kek = loadKEK({ env: config.kek, file: config.kekFile, allowCreate: false });
  const now = Date.now();
  const { client, secret } = await rotateClientSecret(store, id, grace, derivePepper(kek), now);
  const previousValidUntil = client.previousSecretExpiresAt ?? null;
  await store.appendAudit({
    at: now,
    type: 'client.secret_rotated',
    data: { clientId: id, graceSeconds: grace, previousValidUntil },
  });
  const until = previousValidUntil === null ? null : new Date(previousValidUntil).toISOString();
  if (values.json) {
    io.stdout.write(
      JSON.stringify({ client_id: id, client_secret: secret, previous_secret_expires_at: until }, null, 2) +
        '\n',
    );
  } else {
    io.stdout.write(
      [
        `client_id:      ${id}`,
        `client_secret:  ${secret}`,
        `old secret:     ${until === null ? 'no longer accepted' : `accepted until ${until}`}`,
        '',
        'Store the secret now: it is not shown again.',
      ].join('\n') + '\n',
    );
  }
  return 0;
}

async function runDelete(io: CommandIO, store: Store, config: ServerConfig, id: string, json: boolean) {
  const now = Date.now();
  let result: Awaited<ReturnType<typeof deleteClient>>;
  try {
    result = await deleteClient(store, id, { maxAccessTtl: config.maxAccessTtl }, now);
  } catch (err) {
    if (err instanceof ClientNotFoundError && json)
      io.stdout.write(JSON.stringify({ client_id: id, deleted: false }) + '\n');
    throw err;
  }
  await store.appendAudit({
    at: now,
    type: 'client.deleted',
    data: {
      clientId: id,
      opaqueTokens: result.opaqueTokens,
      refreshFamilies: result.refreshFamilies,
      revocationSeq: result.revocation.seq,
    },
  });
  await pushRevocation(io, config, result.revocation);
  const summary = {
    client_id: id,
    deleted: true,
    revoked: {
      opaque_tokens: result.opaqueTokens,
      refresh_families: result.refreshFamilies,
      jwts_issued_until: new Date(result.revocation.revokedAt).toISOString(),
    },
  };
  if (json) io.stdout.write(JSON.stringify(summary) + '\n');
  else {
    io.stdout.write(
      `deleted client "${id}"; revoked ${result.opaqueTokens} opaque token(s), ` +
        `${result.refreshFamilies} refresh famil${result.refreshFamilies === 1 ? 'y' : 'ies'} ` +
        `and every JWT issued to it until ${summary.revoked.jwts_issued_until}\n`,
    );
  }
  return 0;
}

/** `tessera clients create|list|show|update|rotate-secret|delete` */
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
    if (!SUBCOMMANDS.includes(sub ?? '')) {
      throw new UsageError(sub === undefined ? 'expected a subcommand' : `unknown subcommand "${sub}"`);
    }
    // Usage errors before the store is opened; a flag the subcommand does not take is refused, not ignored.
    const allowed =
      sub === 'create'
        ? CLIENT_FIELDS
        : sub === 'update'
          ? [...CLIENT_FIELDS.filter((f) => !CREATE_ONLY.includes(f)), ...UPDATE_ONLY]
          : sub === 'rotate-secret'
            ? ['grace']
            : [];
    const stray = Object.keys(values).find(
      (name) =>
        (CLIENT_FIELDS.includes(name) || UPDATE_ONLY.includes(name) || name === 'grace') &&
        !allowed.includes(name),
    );
    if (stray !== undefined) throw new UsageError(`${sub} does not take --${stray}`);
    if (sub !== 'create' && sub !== 'list' && id === undefined) throw new UsageError('expected a client id');
    if (sub === 'create') createOptions(values);
    if (sub === 'update') fieldOptions(values);
    if (sub === 'rotate-secret') {
      const grace = str(values, 'grace');
      if (grace !== undefined) parseDuration(grace);
    }
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
      case 'update':
        return await runUpdate(io, store, config, requireId(id), values);
      case 'rotate-secret':
        return await runRotateSecret(io, store, config, requireId(id), values);
      default:
        return await runDelete(io, store, config, requireId(id), json);
    }
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    if (err instanceof ClientNotFoundError) {
      io.stderr.write(`tessera: no client "${id ?? ''}"\n`);
      return 1;
    }
    if (err instanceof ClientValidationError) {
      io.stderr.write(`tessera: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await store?.close();
  }
}
