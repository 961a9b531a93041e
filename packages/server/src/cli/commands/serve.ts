import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, usageFailure } from '../args.js';
import { assertIssuerForHost, configArgSpec, configHelp, loadConfig } from '../../server/config.js';
import { describeStoreSpec, parseStoreSpec } from '../../store/open-store.js';
import { KEKError } from '../../keys/kek.js';

export const summary = 'Run the token service (OAuth endpoints, JWKS, metadata, health, metrics)';

const HELP = `Usage: tessera serve [options]

Runs the authorization server. With no options it listens on 127.0.0.1:7070, keeps its
state in SQLite under ./.tessera and, on the first run, generates the key-encryption key
(KEK) file there with mode 0600. Every option can also come from the environment variable
shown, or from a JSON config file (--config); flags win over the environment, which wins
over the file. Durations need a unit: ms, s, m, h or d (500ms, 30s, 15m, 2h, 7d); a bare
number such as 15 is refused. With --tls-cert and --tls-key it serves HTTPS itself and the
default issuer is https://HOST:PORT. A --host other than loopback needs --issuer: the issuer
is the "iss" of every token, so it must be the public URL clients and verifiers use.

Options:
${configHelp()}
  TESSERA_KEK=<base64url>       the KEK itself (32 bytes); overrides the KEK file
  -h, --help                    show this help

Endpoints: /.well-known/jwks.json, /.well-known/oauth-authorization-server,
/.well-known/openid-configuration, /oauth/token, /oauth/introspect, /oauth/revoke,
/oauth/revocations, /healthz, /readyz, /metrics.
Stops gracefully on SIGINT/SIGTERM (in-flight requests finish).`;

/** `tessera serve`: start, print where everything is, run until a signal. */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  let config;
  try {
    const { values } = parseCommandArgs(argv, configArgSpec(), false);
    if (values['help']) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    config = loadConfig({ values, env: io.env });
    assertIssuerForHost(config);
    parseStoreSpec(config.store, { dataDir: config.dataDir });
  } catch (err) {
    if (err instanceof UsageError || (err instanceof Error && /store/.test(err.message)))
      return usageFailure(io, err, HELP);
    throw err;
  }
  // Loaded here, not at the top: `tessera --help` must not pay for Fastify and the stores.
  const { startServer } = await import('../../server/start.js');
  let server;
  try {
    // Unreadable TLS files are refused before the data dir, the KEK or a key is created.
    (await import('../../server/app.js')).serverOptions(config);
    server = await startServer(config, { handleSignals: true });
  } catch (err) {
    // Unreadable or mismatched --tls-cert/--tls-key.
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    if (err instanceof KEKError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      io.stderr.write(`tessera: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
  const kek = server.kek;
  const store = describeStoreSpec(parseStoreSpec(config.store, { dataDir: config.dataDir }));
  io.stdout.write(
    [
      `Tessera listening on ${server.url}`,
      `  issuer:   ${config.issuer}`,
      `  JWKS:     ${server.url}/.well-known/jwks.json`,
      `  data dir: ${config.dataDir}`,
      `  store:    ${store}`,
      `  KEK:      ${kek.source === 'env' ? 'from TESSERA_KEK' : kek.path}${kek.created ? ' (generated now: back it up)' : ''}`,
      `  signing:  ${config.alg}, kid ${server.keys.signer().kid}`,
      '',
    ].join('\n'),
  );
  const stopWatching = launchedByNpm(io.env)
    ? watchParent(() => {
        io.stderr.write('tessera: the npm/npx process that started this server has gone; shutting down\n');
        void server.close();
      })
    : () => undefined;
  await server.closed;
  stopWatching();
  return 0;
}

/** npm sets `npm_command` (`exec` for npx, `run-script`, `start` …) in the environment of what it runs. */
const launchedByNpm = (env: NodeJS.ProcessEnv) => typeof env['npm_command'] === 'string';

/**
 * Call `onGone` once this process's parent has exited. `npx tessera serve` runs the server as
 * npm → sh → node: a SIGTERM to npm reaches the shell, which dies without passing it on, and the server
 * kept listening as an orphan of init. An orphan is re-parented, so a changed ppid means the parent is gone.
 * Only under npm: a server started with `nohup … &` or by a supervisor is meant to outlive its shell.
 *
 * @example
 * const stop = watchParent(() => void server.close());
 */
export function watchParent(onGone: () => void, intervalMs = 250): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
