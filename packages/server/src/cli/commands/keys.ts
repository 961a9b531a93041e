import { pushRevocation } from '../push-revocation.js';
import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, usageFailure } from '../args.js';
import {
  configArgSpec,
  configHelp,
  loadConfig,
  STORAGE_FLAGS,
  type ServerConfig,
} from '../../server/config.js';
import type { KeyRecord, Store } from '../../store/types.js';
import { KEKError } from '../../keys/kek.js';

export const summary = 'List, rotate or revoke signing keys (works while a server runs on the same state)';

/** The key-policy options: the CLI must compute removal and revocation times like the server does. */
const POLICY_FLAGS = [
  'alg',
  'rsa-bits',
  'rotation-interval',
  'jwks-max-age',
  'access-ttl',
  'max-access-ttl',
  'clock-tolerance',
  'reload-interval',
] as const;
const FLAGS = [...STORAGE_FLAGS, ...POLICY_FLAGS];

const HELP = `Usage: tessera keys list [--json]
       tessera keys rotate [--force]
       tessera keys revoke KID

  list     every key with kid, alg, state and dates; --json prints an array of
           { kid, alg, state, createdAt, publishedAt, activatedAt, retiredAt, removeAfter, revokedAt }
  rotate   promote the pre-published next key to current at once, retire the current key,
           publish a new next key. Refused when the next key has been published for less than
           one JWKS cache lifetime (--jwks-max-age) plus the reload interval, e.g. a second
           rotate right after the first: verifiers with a cached JWKS have never seen it.
           --force rotates anyway (verifiers refetch on the unknown kid), and signs with a
           brand-new key if there is no next key.
  revoke   remove KID from the JWKS at once, promote a successor, and put a kid entry on the
           revocation feed so verifiers reject tokens it signed

A running server on the same state picks the change up within its reload interval (default 2s).
Pass the same key-policy options the server runs with (or the same --config / TESSERA_* env).

Options:
  --json                        (list) machine-readable output
  --force                       (rotate) rotate even if the next key is too young or missing
${configHelp(FLAGS)}
  TESSERA_KEK=<base64url>       the KEK itself (32 bytes); overrides the KEK file
  -h, --help                    show this help

Exit codes: 0 ok, 1 failed (unknown kid, wrong KEK, store down), 2 usage.`;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The JSON shape of one key in `keys list --json`: public metadata only, never key material. */
export function describeKey(k: KeyRecord) {
  return {
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    createdAt: iso(k.createdAt),
    publishedAt: iso(k.publishedAt),
    activatedAt: iso(k.activatedAt),
    retiredAt: iso(k.retiredAt),
    removeAfter: iso(k.removeAfter),
    revokedAt: iso(k.revokedAt),
  };
}

const ORDER = { current: 0, next: 1, retired: 2, revoked: 3 } as const;

function printTable(io: CommandIO, keys: KeyRecord[]): void {
  const rows = [['KID', 'ALG', 'STATE', 'PUBLISHED', 'ACTIVATED', 'RETIRED/REVOKED', 'REMOVE AFTER']];
  const short = (ms: number | null) =>
    ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  for (const k of keys)
    rows.push([
      k.kid,
      k.alg,
      k.state,
      short(k.publishedAt),
      short(k.activatedAt),
      short(k.revokedAt ?? k.retiredAt),
      short(k.removeAfter),
    ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    io.stdout.write(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd() + '\n',
    );
}

async function withStore<T>(store: Store, fn: (store: Store) => Promise<T>): Promise<T> {
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The new `kid` deny-list entry, pushed to subscribed verifiers with --redis (pushRevocation). */
async function pushKidRevocation(
  io: CommandIO,
  config: ServerConfig,
  store: Store,
  since: number,
  kid: string,
): Promise<void> {
  if (!config.redis) return;
  const records = await store.listRevocations(since, 1000, Date.now()).catch(() => []);
  const record = records.find((e) => e.kind === 'kid' && e.value === kid);
  if (record) await pushRevocation(io, config, record);
}

/** `tessera keys list|rotate|revoke`. */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  let config: ServerConfig;
  let sub: string | undefined;
  let args: string[];
  let values: Record<string, unknown>;
  try {
    const spec = { ...configArgSpec(FLAGS), json: { type: 'boolean' }, force: { type: 'boolean' } } as const;
    // A kid is base64url and may start with "-" (an RFC 7638 thumbprint does about once in 32), so the word
    // after `revoke` is taken as the KID before flag parsing unless it is one of our flags.
    let kidArg: string | undefined;
    if (argv[0] === 'revoke' && argv[1] !== undefined && !isOwnFlag(argv[1], Object.keys(spec))) {
      kidArg = argv[1];
      argv = [argv[0], ...argv.slice(2)];
    }
    const parsed = parseCommandArgs(argv, spec);
    if (kidArg !== undefined) parsed.positionals.splice(1, 0, kidArg);
    values = parsed.values;
    if (values['help']) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    [sub, ...args] = parsed.positionals;
    if (sub === undefined) throw new UsageError('missing subcommand: list, rotate or revoke');
    if (!['list', 'rotate', 'revoke'].includes(sub)) throw new UsageError(`unknown subcommand "${sub}"`);
    if (sub === 'revoke' && args.length !== 1) throw new UsageError('keys revoke takes exactly one KID');
    if (sub !== 'revoke' && args.length > 0) throw new UsageError(`keys ${sub} takes no arguments`);
    if (values['json'] && sub !== 'list') throw new UsageError('--json applies to keys list');
    if (values['force'] && sub !== 'rotate') throw new UsageError('--force applies to keys rotate');
    config = loadConfig({ values, env: io.env });
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    throw err;
  }

  const { openReadableState, openWritableState } = await import('../state.js');
  const { rotateKeys, revokeKey, KeyOperationError } = await import('../../keys/rotation.js');
  try {
    // A data dir or store without Tessera state is refused (never created here unless --init), and a
    // writing subcommand checks the KEK against the stored keys first, like `tessera serve`.
    const init = values['init'] === true;
    const state =
      sub === 'list' && !init
        ? { store: await openReadableState(config), kek: undefined }
        : await openWritableState(config, { init, io });
    return await withStore(state.store, async (store) => {
      if (sub === 'list') {
        const keys = (await store.listKeys()).sort(
          (a, b) => ORDER[a.state] - ORDER[b.state] || b.publishedAt - a.publishedAt,
        );
        if (values['json']) io.stdout.write(JSON.stringify(keys.map(describeKey), null, 2) + '\n');
        else if (keys.length === 0)
          io.stdout.write('no keys yet (start `tessera serve` once to create them)\n');
        else printTable(io, keys);
        return 0;
      }
      const kek = state.kek!;
      const holder = `cli-${process.pid}`;
      // Servers poll within their reload interval anyway; with --redis they hear about it at once.
      const announce = async () => {
        if (!config.redis) return;
        try {
          const { openRedisKeyNotifier } = await import('../../keys/notify.js');
          const notifier = await openRedisKeyNotifier(config.redis, holder, config.redisPrefix);
          await notifier.publish();
          await notifier.close();
        } catch (err) {
          io.stderr.write(
            `tessera: warning: could not notify servers through Redis: ${(err as Error).message}\n`,
          );
        }
      };
      if (sub === 'rotate') {
        const r = await rotateKeys(store, kek, config, { force: values['force'] === true, holder });
        await announce();
        if (r.warning) io.stderr.write(`tessera: warning: ${r.warning}\n`);
        io.stdout.write(
          `rotated: ${r.promoted} is current; retired ${r.retired.join(', ') || 'none'}; next is ${r.next}\n`,
        );
        return 0;
      }
      const seqBefore = await store.latestRevocationSeq();
      const r = await revokeKey(store, kek, config, args[0]!, { holder });
      await announce();
      if (!r.alreadyRevoked) await pushKidRevocation(io, config, store, seqBefore, r.kid);
      if (r.alreadyRevoked) io.stdout.write(`${r.kid} was already revoked\n`);
      else
        io.stdout.write(
          `revoked ${r.kid} (was ${r.previousState})${r.successor ? `; ${r.successor} signs now` : ''}\n`,
        );
      return 0;
    });
  } catch (err) {
    if (err instanceof KEKError || err instanceof KeyOperationError) {
      io.stderr.write(`tessera: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function isOwnFlag(word: string, names: string[]): boolean {
  if (word === '-h' || word === '--help' || word === '--') return true;
  return word.startsWith('--') && names.includes(word.slice(2).split('=')[0]!);
}
