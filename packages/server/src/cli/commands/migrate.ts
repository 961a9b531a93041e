import { existsSync } from 'node:fs';
import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, usageFailure } from '../args.js';
import { copyStore } from '../../store/copy.js';
import { describeStoreSpec, openStore, parseStoreSpec, type StoreSpec } from '../../store/open-store.js';
import { StoreUnavailableError, type Store } from '../../store/types.js';

export const summary = 'Copy all state from one store to another (e.g. embedded SQLite to PostgreSQL)';

const HELP = `Usage: tessera migrate --to SPEC [--from SPEC] [--data-dir DIR] [--force] [--json]

Copies Tessera's state to another store, for example an embedded SQLite deployment to PostgreSQL:

  tessera migrate --from sqlite:.tessera/tessera.db --to postgres://tessera@db:5432/tessera

Copied: signing keys (their private parts stay encrypted exactly as they are), clients, live
refresh families with their tokens (used tokens stay used, so reuse detection keeps working),
unexpired revocations, unexpired opaque access tokens, users and their passkeys, remembered
consents, live sign-in sessions and the audit log. Not copied: single-use ids (client-assertion
jti; they expire within minutes), leases, authorization codes and pending sign-in requests
(seconds to minutes; a sign-in in progress during the copy starts again).

  --from SPEC       source store (default: the SQLite file in --data-dir)
  --to SPEC         target store; its schema is created or migrated first
  --data-dir DIR    data directory for the default SQLite file (default ./.tessera)
  --force           copy even though the target already has keys (existing records are skipped)
  --json            print { from, to, counts } as JSON
  -h, --help        show this help

SPEC is sqlite:PATH, postgres://… or postgresql://… (add ?schema=NAME to use a schema).

Before you run it:
  - Stop the servers on the source, so no refresh token is rotated during the copy.
  - Keep the KEK: private keys are copied encrypted, so the new deployment needs the same
    TESSERA_KEK, or a copy of the KEK file (<data-dir>/kek).
After it:
  - Start every instance with --store (or TESSERA_STORE) set to the target.
  - Revocations get new sequence numbers (same order). Verifiers following the revocation feed
    are told reset: true when their cursor is ahead of the new log and re-read it from 0; restart
    verifiers whose cursor may be behind it (a cursor from the old log is not meaningful).

Exit codes: 0 copied, 1 refused or failed (target has keys, store unreachable), 2 usage.`;

const FLAGS = {
  from: { type: 'string' },
  to: { type: 'string' },
  'data-dir': { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  let from: StoreSpec;
  let to: StoreSpec;
  let options: { fromText: string; toText: string; dataDir: string; force: boolean; json: boolean };
  try {
    const { values, positionals } = parseCommandArgs(argv, FLAGS, false);
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const toText = values.to;
    if (typeof toText !== 'string' || toText.trim() === '') throw new UsageError('--to SPEC is required');
    const fromText = typeof values.from === 'string' ? values.from : '';
    const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : './.tessera';
    options = { fromText, toText, dataDir, force: values.force === true, json: values.json === true };
    from = parseStoreSpec(fromText, { dataDir });
    to = parseStoreSpec(toText, { dataDir });
    if (from.kind === 'memory' || to.kind === 'memory')
      throw new UsageError('memory: cannot be migrated from or to');
    if (describeStoreSpec(from) === describeStoreSpec(to))
      throw new UsageError('--from and --to name the same store');
  } catch (err) {
    if (
      err instanceof UsageError ||
      /unknown store|needs a file path|Invalid URL/i.test((err as Error).message)
    ) {
      return usageFailure(io, err, HELP);
    }
    throw err;
  }
  // Opening a missing SQLite source would create an empty one and "migrate" nothing.
  if (from.kind === 'sqlite' && !existsSync(from.path)) {
    io.stderr.write(`tessera: no database at ${from.path} (check --from / --data-dir)\n`);
    return 1;
  }

  const opened: Store[] = [];
  try {
    const source = await openStore(options.fromText, { dataDir: options.dataDir });
    opened.push(source);
    const target = await openStore(options.toText, { dataDir: options.dataDir });
    opened.push(target);
    if (!options.force && (await target.listKeys()).length > 0) {
      io.stderr.write(
        `tessera: the target ${describeStoreSpec(to)} already has signing keys; refusing to mix two deployments.\n` +
          'Use --force to copy anyway (records the target already has are skipped).\n',
      );
      return 1;
    }
    const now = Date.now();
    const counts = await copyStore(source, target, now);
    await target.appendAudit({
      at: now,
      type: 'store.migrated',
      data: { from: describeStoreSpec(from), counts },
    });
    if (options.json) {
      io.stdout.write(
        JSON.stringify({ from: describeStoreSpec(from), to: describeStoreSpec(to), counts }) + '\n',
      );
    } else {
      io.stdout.write(
        [
          `Copied ${describeStoreSpec(from)} -> ${describeStoreSpec(to)}`,
          `  keys               ${counts.keys}`,
          `  clients            ${counts.clients}`,
          `  refresh families   ${counts.refreshFamilies} (${counts.refreshTokens} tokens)`,
          `  revocations        ${counts.revocations}`,
          `  opaque tokens      ${counts.opaqueTokens}`,
          `  audit events       ${counts.auditEvents}`,
          `  users              ${counts.users}`,
          `  consents           ${counts.consents}`,
          `  sessions           ${counts.sessions}`,
          `  passkeys           ${counts.passkeys}`,
          `  skipped (present)  ${counts.skipped}`,
          'Next: start tessera with --store set to the target and the same KEK.',
          '',
        ].join('\n'),
      );
    }
    return 0;
  } catch (err) {
    const reason = err instanceof StoreUnavailableError ? 'store unreachable: ' : '';
    io.stderr.write(`tessera: migrate failed: ${reason}${(err as Error).message}\n`);
    return 1;
  } finally {
    for (const store of opened) await store.close().catch(() => {});
  }
}
