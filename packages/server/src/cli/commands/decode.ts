import { decodeJWT, TesseraError } from '@tessera/jwt';
import { parseCommandArgs, usageFailure, UsageError } from '../args.js';
import type { CommandIO } from '../main.js';
import { readTokenArgument } from '../token-input.js';

export const summary = 'Decode a JWT without verifying it (output marked UNVERIFIED)';

const HELP = `Usage: tessera decode TOKEN|- [--json]

Prints the header and payload WITHOUT checking the signature or any claim. Nothing shown can be trusted;
use \`tessera verify\` or \`tessera inspect\` for that.

Options:
  --json       print {"verified":false,"header":…,"payload":…} on one line
  -h, --help   show this help`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  let token: string;
  let json = false;
  try {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals.length > 1) throw new UsageError('exactly one token argument is expected');
    json = values.json === true;
    token = await readTokenArgument(positionals[0], io);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    throw err;
  }
  try {
    const { header, payload } = decodeJWT(token);
    if (json) io.stdout.write(JSON.stringify({ verified: false, header, payload }) + '\n');
    else {
      io.stdout.write('UNVERIFIED: decoded only; the signature and claims were NOT checked\n');
      io.stdout.write(JSON.stringify({ header, payload }, null, 2) + '\n');
    }
    return 0;
  } catch (err) {
    if (err instanceof TesseraError) {
      io.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message } }) + '\n');
      return 1;
    }
    throw err;
  }
}
