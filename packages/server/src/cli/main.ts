/**
 * The `tessera` command: a table of subcommands, each in its own module under ./commands, loaded on demand so
 * that `tessera decode` does not pay for Fastify or SQLite.
 */
export interface CommandModule {
  /** One line for `tessera --help`. */
  summary: string;
  /** Runs the command; resolves to the process exit code (0 ok, 1 rejected/failed, 2 usage). */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** Where a command reads and writes; tests pass their own. */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

const COMMANDS = [
  'keygen',
  'sign',
  'verify',
  'decode',
  'serve',
  'keys',
  'clients',
  'users',
  'idps',
  'inspect',
  'audit',
  'simulate',
  'migrate',
  'proxy',
] as const;

async function load(name: string): Promise<CommandModule | undefined> {
  if (!(COMMANDS as readonly string[]).includes(name)) return undefined;
  try {
    return (await import(`./commands/${name}.js`)) as CommandModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(err).includes(`${name}.js`))
      return undefined;
    throw err;
  }
}

async function help(io: CommandIO): Promise<void> {
  const lines = ['Usage: tessera <command> [options]', '', 'Commands:'];
  for (const name of COMMANDS) {
    const mod = await load(name);
    if (mod) lines.push(`  ${name.padEnd(10)} ${mod.summary}`);
  }
  lines.push('', 'Run `tessera <command> --help` for the options of one command.');
  io.stdout.write(lines.join('\n') + '\n');
}

/** Entry point used by bin/tessera.js; returns the exit code. */
export async function main(argv: string[], io: CommandIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await help(io);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write('0.1.0\n');
    return 0;
  }
  const mod = await load(name);
  if (!mod) {
    io.stderr.write(`tessera: unknown command "${name}". Run \`tessera --help\`.\n`);
    return 2;
  }
  try {
    return await mod.run(rest, io);
  } catch (err) {
    // Missing or unopenable state and a wrong or missing KEK are refusals, not crashes or usage errors:
    // one line naming the path and the cause, exit 1, whichever command met them.
    if (err instanceof Error && (err.name === 'StateError' || err.name === 'KEKError')) {
      io.stderr.write(`tessera: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function defaultIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}
