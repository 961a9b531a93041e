import { readStdin, UsageError } from './args.js';
import type { CommandIO } from './main.js';

/** Resolve a `TOKEN|-` argument: `-` reads standard input. Surrounding whitespace is trimmed. */
export async function readTokenArgument(arg: string | undefined, io: CommandIO): Promise<string> {
  if (arg === undefined) throw new UsageError('a token (or - to read standard input) is required');
  const token = arg === '-' ? await readStdin(io) : arg;
  const trimmed = token.trim();
  if (trimmed.length === 0) throw new UsageError('the token is empty');
  return trimmed;
}
