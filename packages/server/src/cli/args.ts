import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CommandIO } from './main.js';

/** A usage error: the command prints it with its help and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse `argv` strictly with node:util; unknown flags are usage errors. `--help` is added to every command.
 */
export function parseCommandArgs<O extends OptionSpec>(
  argv: string[],
  options: O,
  allowPositionals = true,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * Parse a duration such as `15m`, `30s`, `2h`, `7d` or `500ms` into seconds. The unit is required: a bare
 * `15` would be read as seconds by some and as minutes by others (a 15-minute token TTL typed as `--ttl 15`
 * would silently live 15 s), so only `0`, the same in every unit, may go without one.
 *
 * @example
 * parseDuration('15m'); // 900
 * parseDuration('15'); // throws UsageError: a duration needs a unit
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^0+(?:\.0+)?$/.test(trimmed)) return 0;
  if (/^\d+(?:\.\d+)?$/.test(trimmed))
    throw new UsageError(
      `duration "${text}" has no unit: write ${trimmed}s, ${trimmed}m, ${trimmed}h or ${trimmed}d (or ${trimmed}ms)`,
    );
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(trimmed);
  if (!m) throw new UsageError(`invalid duration "${text}" (use e.g. 30s, 15m, 2h, 7d)`);
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * factor;
}

/** Read all of standard input as text (for `TOKEN|-` arguments). */
export async function readStdin(io: CommandIO): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** Print a usage error and the command's help; returns exit code 2. */
export function usageFailure(io: CommandIO, err: unknown, help: string): number {
  io.stderr.write(`tessera: ${(err as Error).message}\n\n${help}\n`);
  return 2;
}
