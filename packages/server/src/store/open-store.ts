import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createMemoryStore } from './memory.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /** The data directory; the default SQLite file lives here. */
  dataDir: string;
  /** Passed to the store: names of migration steps applied by this open. */
  onMigrationsApplied?: (names: string[]) => void;
}

/** A parsed `--store` value. */
export type StoreSpec =
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema?: string } | { kind: 'memory' };

/**
 * Parses a `--store` / `TESSERA_STORE` value: empty → `<dataDir>/tessera.db`; `sqlite:PATH` (relative to
 * the working directory); `postgres://…` or `postgresql://…`, optionally with `?schema=NAME`; `memory:`.
 *
 * @example
 * parseStoreSpec('postgres://db/tessera?schema=auth', { dataDir: '.tessera' });
 * // { kind: 'postgres', url: 'postgres://db/tessera', schema: 'auth' }
 */
export function parseStoreSpec(spec: string | undefined, options: { dataDir: string }): StoreSpec {
  const text = spec?.trim() ?? '';
  if (text === '') return { kind: 'sqlite', path: resolve(options.dataDir, 'tessera.db') };
  if (text === 'memory:' || text === 'memory') return { kind: 'memory' };
  if (text.startsWith('sqlite:')) {
    const path = text.slice('sqlite:'.length);
    if (path === '') throw new Error('store "sqlite:" needs a file path, e.g. sqlite:./tessera.db');
    return { kind: 'sqlite', path: resolve(path) };
  }
  if (text.startsWith('postgres://') || text.startsWith('postgresql://')) {
    // `schema` is ours, not a libpq parameter: take it out before pg sees the URL.
    const url = new URL(text);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    return schema === undefined
      ? { kind: 'postgres', url: url.toString() }
      : { kind: 'postgres', url: url.toString(), schema };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];
  throw new Error(
    `unknown store "${scheme ? `${scheme}:…` : text}": use sqlite:PATH, postgres://…, postgresql://… or memory:`,
  );
}

/** Describes a spec without credentials, for logs and CLI output. */
export function describeStoreSpec(spec: StoreSpec): string {
  if (spec.kind === 'sqlite') return `sqlite:${spec.path}`;
  if (spec.kind === 'memory') return 'memory:';
  const url = new URL(spec.url);
  url.password = url.password ? '***' : '';
  return `${url.toString()}${spec.schema ? ` (schema ${spec.schema})` : ''}`;
}

/**
 * Opens the store named by `spec` (see {@link parseStoreSpec}); SQLite is the zero-configuration default.
 * The drivers load on demand, so a command that never touches PostgreSQL does not load `pg`.
 *
 * @example
 * const store = await openStore(process.env.TESSERA_STORE, { dataDir: '.tessera' });
 */
export async function openStore(spec: string | undefined, options: OpenStoreOptions): Promise<Store> {
  const parsed = parseStoreSpec(spec, options);
  const hook = options.onMigrationsApplied ? { onMigrationsApplied: options.onMigrationsApplied } : {};
  switch (parsed.kind) {
    case 'memory':
      return createMemoryStore();
    case 'sqlite': {
      // The directory holds the database and (by default) the KEK file: owner only.
      const isDefault = (spec?.trim() ?? '') === '';
      mkdirSync(isDefault ? resolve(options.dataDir) : dirname(parsed.path), {
        recursive: true,
        mode: 0o700,
      });
      const { openSQLiteStore } = await import('./sqlite.js');
      return openSQLiteStore({ path: parsed.path, ...hook });
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres.js');
      return openPostgresStore({
        url: parsed.url,
        ...(parsed.schema ? { schema: parsed.schema } : {}),
        ...hook,
      });
    }
  }
}

/** The default SQLite file for a data directory. */
export function defaultSQLitePath(dataDir: string): string {
  return join(resolve(dataDir), 'tessera.db');
}
