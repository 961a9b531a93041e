/**
 * Opening the server state (store and KEK) for a CLI command. Every command that writes goes through
 * `openWritableState`, so that none of them can write under a KEK the running servers do not use (a client
 * secret hashed with the wrong pepper never works; a key encrypted under the wrong KEK cannot be read), and
 * none of them creates a fresh KEK and database in a directory that was never Tessera's (a typo in
 * `--data-dir` must not look like success).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { assertKEKMatches, loadKEK, type KEK } from '../keys/kek.js';
import type { ServerConfig } from '../server/config.js';
import type { Store } from '../store/types.js';
import { describeStoreSpec, openStore, parseStoreSpec, type StoreSpec } from '../store/open-store.js';

/** The state could not be opened: missing, unreadable or unopenable. The message names the path and the cause. */
export class StateError extends Error {
  override readonly name = 'StateError';
  readonly code: 'ERR_NO_STATE' | 'ERR_STATE_ACCESS' | 'ERR_STATE_OPEN';
  constructor(code: StateError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface OpenStateOptions {
  /** Create the state (KEK, database, first signing keys) when there is none, as `tessera serve` does. */
  init?: boolean;
  /** Where to say that `init` created the state (and that the new KEK needs a backup). */
  io?: { stderr: NodeJS.WritableStream };
}

export interface WritableState {
  store: Store;
  /** The KEK, checked against every stored key. */
  kek: KEK;
  /** True when this call created the state (`--init` on an empty store). */
  initialised: boolean;
}

const HOW_TO_INIT =
  'pass the --data-dir or --store the server uses, or create the state with --init (or run `tessera serve` once)';

/** `sqlite` (the word) means the default database in the data dir, like no --store at all. */
function specOf(config: ServerConfig): { text: string | undefined; spec: StoreSpec } {
  const text = config.store === 'sqlite' ? undefined : config.store;
  return { text, spec: parseStoreSpec(text, { dataDir: config.dataDir }) };
}

function errnoCause(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'ENOTDIR') return 'a component of the path is not a directory';
  return e.code ?? e.message;
}

/**
 * Whether the SQLite file exists; a file or directory this user may not read is an access error, not
 * "no state" (telling the owner of a 0700 data dir to run `--init` would be wrong advice).
 */
function sqliteExists(path: string): boolean {
  try {
    statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new StateError('ERR_STATE_ACCESS', `cannot read the Tessera state at ${path}: ${errnoCause(err)}`, {
      cause: err,
    });
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new StateError(
      'ERR_STATE_ACCESS',
      `cannot open the SQLite database ${path} for reading and writing: ${errnoCause(err)}`,
      { cause: err },
    );
  }
  return true;
}

/** Why SQLite could not open `path` ("unable to open database file" names neither file nor cause). */
function sqliteOpenCause(path: string): string {
  try {
    if (statSync(path).isDirectory()) return 'it is a directory';
  } catch {
    // Not there (yet): the directory decides.
  }
  const dir = dirname(path);
  try {
    statSync(dir);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? `its directory ${dir} does not exist`
      : `its directory ${dir}: ${errnoCause(err)}`;
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return `its directory ${dir} is not writable by this user`;
  }
  return 'the file is not a database this user can open';
}

async function open(config: ServerConfig, spec: StoreSpec, text: string | undefined): Promise<Store> {
  try {
    return await openStore(text, { dataDir: config.dataDir });
  } catch (err) {
    const message = (err as Error).message;
    if (spec.kind === 'sqlite') {
      const cause = /unable to open database file/i.test(message)
        ? sqliteOpenCause(spec.path)
        : errnoCause(err);
      throw new StateError(
        'ERR_STATE_OPEN',
        `cannot open the SQLite database ${spec.path}: ${message} (${cause})`,
        {
          cause: err,
        },
      );
    }
    if ((err as NodeJS.ErrnoException).code === 'EACCES')
      throw new StateError('ERR_STATE_ACCESS', `cannot open ${describeStoreSpec(spec)}: ${errnoCause(err)}`, {
        cause: err,
      });
    throw err;
  }
}

/**
 * Open the store for a command that only reads. A missing SQLite database is refused, not created.
 *
 * @example
 * const store = await openReadableState(config);
 */
export async function openReadableState(config: ServerConfig): Promise<Store> {
  const { text, spec } = specOf(config);
  if (spec.kind === 'sqlite' && !sqliteExists(spec.path))
    throw new StateError(
      'ERR_NO_STATE',
      `no Tessera state in ${config.dataDir}: ${spec.path} does not exist; ${HOW_TO_INIT}`,
    );
  return open(config, spec, text);
}

/**
 * Open the store and the KEK for a command that writes, checked the way `tessera serve` checks them: the
 * store must hold Tessera state (signing keys) unless `init`, and the KEK must be the one every stored key
 * was encrypted with (ERR_KEK_MISMATCH / ERR_KEK_MISSING otherwise). With `init` on an empty store it
 * creates the KEK (if there is none) and the first signing keys, so a server started later finds both.
 *
 * @example
 * const { store, kek } = await openWritableState(config, { init: values.init === true });
 */
export async function openWritableState(
  config: ServerConfig,
  options: OpenStateOptions = {},
): Promise<WritableState> {
  const { text, spec } = specOf(config);
  if (spec.kind === 'sqlite' && !options.init && !sqliteExists(spec.path))
    throw new StateError(
      'ERR_NO_STATE',
      `no Tessera state in ${config.dataDir}: ${spec.path} does not exist; ${HOW_TO_INIT}`,
    );
  const store = await open(config, spec, text);
  try {
    const keys = await store.listKeys();
    if (keys.length === 0 && !options.init)
      throw new StateError(
        'ERR_NO_STATE',
        `no Tessera state in ${describeStoreSpec(spec)}: it holds no signing keys; ${HOW_TO_INIT}`,
      );
    let kek: KEK;
    try {
      kek = loadKEK({ env: config.kek, file: config.kekFile, allowCreate: keys.length === 0 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR')
        throw new StateError(
          'ERR_STATE_ACCESS',
          `cannot read the KEK file ${config.kekFile}: ${errnoCause(err)}`,
          {
            cause: err,
          },
        );
      throw err;
    }
    // The same check as the server's key manager at startup: one mismatching key and nothing is written.
    for (const k of keys) assertKEKMatches(k.encryptedPrivateKey, kek);
    let initialised = false;
    if (keys.length === 0) {
      const { runTick } = await import('../keys/rotation.js');
      await runTick(store, kek, config, { holder: `cli-${process.pid}` });
      initialised = true;
      options.io?.stderr.write(
        `tessera: created Tessera state in ${describeStoreSpec(spec)} (first signing keys)` +
          (kek.created ? `; generated a new key-encryption key in ${kek.path}: back it up` : '') +
          '\n',
      );
    }
    return { store, kek, initialised };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The store for a CLI subcommand: `openWritableState` when it writes (or `init` is asked for), else
 * `openReadableState`.
 *
 * @example
 * const store = await openCommandState(config, { write: sub === 'create', init: values.init === true });
 */
export async function openCommandState(
  config: ServerConfig,
  options: OpenStateOptions & { write: boolean },
): Promise<Store> {
  if (options.write || options.init) return (await openWritableState(config, options)).store;
  return openReadableState(config);
}
