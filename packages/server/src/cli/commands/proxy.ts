import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, readStdin, usageFailure } from '../args.js';

export const summary = 'Put an app behind sign-in: an identity-aware reverse proxy (any OpenID provider)';

const HELP = `Usage: tessera proxy --upstream URL --issuer URL --client-id ID --client-secret-stdin [options]

Forwards every request to the app at --upstream once the user is signed in at --issuer (authorization
code with PKCE), with "Authorization: Bearer <access token>" for the app's audience. The app verifies
the token with @tessera/jwt. API clients that send a valid access token for the audience pass without a
browser session. Works with Tessera or any OpenID provider. Register the client at the issuer with the
redirect URI {public-url}/.tessera/callback (and, for logout, {public-url}/.tessera/signed-out).

Options:
  --listen HOST:PORT        where to listen (default 127.0.0.1:8080)
  --upstream URL            the app, an http(s) origin such as http://127.0.0.1:3000
  --issuer URL              the OpenID provider (https; plain http only on loopback)
  --client-id ID            the proxy's client at the issuer (a confidential client)
  --client-secret-stdin     read the client secret from standard input (never a flag)
  --audience AUD            the "aud" of the tokens forwarded to the app (default: the client id);
                            sent to the token endpoint as "audience" (or "resource" for a URI)
  --public-url URL          where browsers reach the proxy (default http://<listen>); https outside loopback
  --scope SCOPES            requested at sign-in (default "openid email")
  --allow-email ADDR        allow this verified email (repeatable)
  --allow-email-domain DOM  allow verified emails at this domain (repeatable)
  --allow-claim NAME=VALUE  require this claim value (repeatable; every one must hold)
                            Email rules: any may match. Claim rules: all must hold. Both kinds: both.
                            No rule: any signed-in user.
  --public-path PATH        serve this path prefix without sign-in, e.g. /healthz (repeatable)
  --assertion-header        forward the token as "Tessera-Jwt-Assertion" and leave the client's
                            Authorization header to the app
  --upstream-timeout D      how long the app has to start answering before a 504 (default 30s)
  --algorithms LIST         accepted access-token algorithms (default ES256,ES384,ES512,RS256,PS256,EdDSA)
  --log-level LEVEL         fatal, error, warn, info (default), debug, silent
  --json                    print the startup summary as JSON
  -h, --help                show this help

Own routes: /.tessera/callback, /.tessera/logout (sign out), /.tessera/signed-out.
Stops gracefully on SIGINT/SIGTERM. Exit codes: 0 stopped, 1 the issuer could not be used, 2 usage.`;

const OPTIONS = {
  listen: { type: 'string' },
  upstream: { type: 'string' },
  issuer: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-stdin': { type: 'boolean' },
  audience: { type: 'string' },
  'public-url': { type: 'string' },
  scope: { type: 'string' },
  'allow-email': { type: 'string', multiple: true },
  'allow-email-domain': { type: 'string', multiple: true },
  'allow-claim': { type: 'string', multiple: true },
  'public-path': { type: 'string', multiple: true },
  'assertion-header': { type: 'boolean' },
  'upstream-timeout': { type: 'string' },
  algorithms: { type: 'string' },
  'log-level': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** `tessera proxy`: parse, read the secret, discover the issuer, listen until a signal. */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  let values;
  let options;
  try {
    values = parseCommandArgs(argv, OPTIONS, false).values;
    if (values['help']) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    if (values['client-secret-stdin'] !== true)
      throw new UsageError('--client-secret-stdin is required (the secret is never taken from argv)');
    const { buildProxyOptions } = await import('../../proxy/options.js');
    // One line; a trailing newline from `echo` or a file is not part of the secret.
    options = buildProxyOptions(values, (await readStdin(io)).replace(/\r?\n$/, ''));
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    throw err;
  }
  // Loaded here, not at the top: `tessera --help` must not pay for Fastify and undici.
  const { startProxy } = await import('../../proxy/app.js');
  let proxy;
  try {
    proxy = await startProxy(options, {
      logLevel: typeof values['log-level'] === 'string' ? values['log-level'] : 'info',
    });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.name === 'RelyingPartyError' || e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      io.stderr.write(`tessera: ${e.message}\n`);
      return 1;
    }
    throw err;
  }
  const summaryView = {
    listening: proxy.url,
    public_url: proxy.publicUrl.origin,
    upstream: options.upstream.origin,
    issuer: options.issuer,
    client_id: options.clientId,
    audience: options.audience,
    redirect_uri: `${proxy.publicUrl.origin}/.tessera/callback`,
    public_paths: options.publicPaths,
    forwards_as: options.assertionHeader ? 'Tessera-Jwt-Assertion' : 'Authorization: Bearer',
  };
  io.stdout.write(
    values['json']
      ? JSON.stringify(summaryView) + '\n'
      : [
          `Tessera proxy listening on ${proxy.url}`,
          `  upstream:     ${summaryView.upstream}`,
          `  issuer:       ${summaryView.issuer}`,
          `  client:       ${summaryView.client_id} (audience ${summaryView.audience})`,
          `  redirect URI: ${summaryView.redirect_uri}`,
          `  forwards as:  ${summaryView.forwards_as}`,
          '',
        ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void proxy.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
