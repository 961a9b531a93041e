import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, usageFailure } from '../args.js';
import { configArgSpec, configHelp, loadConfig } from '../../server/config.js';
import { describeStoreSpec, parseStoreSpec } from '../../store/open-store.js';
import { KEKError } from '../../keys/kek.js';

export const summary = 'Run the token service (OAuth endpoints, JWKS, metadata, health, metrics)';

const HELP = `Usage: tessera serve [options]

Runs the authorization server. With no options it listens on 127.0.0.1:7070, keeps its
state in SQLite under ./.tessera and, on the first run, generates the key-encryption key
(KEK) file there with mode 0600. Every option can also come from the environment variable
shown, or from a JSON config file (--config); flags win over the environment, which wins
over the file. Durations take s, m, h or d (30s, 15m, 2h, 7d).

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
    server = await startServer(config, { handleSignals: true });
  } catch (err) {
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
  await server.closed;
  return 0;
}
