import { createVerifier, isAlg, TesseraError, type Alg } from '@tessera/jwt';
import { parseCommandArgs, parseDuration, usageFailure, UsageError } from '../args.js';
import { loadJWKS } from '../jwks-source.js';
import type { CommandIO } from '../main.js';
import { readTokenArgument } from '../token-input.js';

export const summary = 'Verify a JWT against a JWKS (file or URL)';

const HELP = `Usage: tessera verify TOKEN|- --jwks FILE|URL --alg ES256[,RS256,…] --iss ISSUER --aud AUDIENCE
                      [--typ at+jwt] [--clock-tolerance 5s] [--json]

Verifies the signature against the JWKS and the iss, aud, exp, nbf and iat claims.
  exit 0  valid: the verified header and payload as JSON on standard output
  exit 1  rejected: {"error":{"code":"ERR_…","message":"…"}} on standard output
  exit 2  usage error (bad flags, unreadable JWKS)

Options:
  --jwks FILE|URL         trusted keys; a URL is fetched once (5 s timeout, 512 KiB cap, no redirects)
  --alg LIST              accepted algorithms, comma-separated (the token's header never widens this)
  --iss ISSUER            accepted issuer (repeat for several)
  --aud AUDIENCE          accepted audience (repeat for several)
  --typ TYP               required typ header, e.g. at+jwt
  --clock-tolerance DUR   allowed clock skew (default 0s)
  --json                  print compact single-line JSON
  -h, --help              show this help`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  let compact = false;
  let token: string;
  let verifier;
  try {
    const { values, positionals } = parseCommandArgs(argv, {
      jwks: { type: 'string' },
      alg: { type: 'string' },
      iss: { type: 'string', multiple: true },
      aud: { type: 'string', multiple: true },
      typ: { type: 'string' },
      'clock-tolerance': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    compact = values.json === true;
    if (positionals.length > 1) throw new UsageError('exactly one token argument is expected');
    if (!values.jwks) throw new UsageError('--jwks is required');
    if (!values.alg) throw new UsageError('--alg is required');
    if (!values.iss) throw new UsageError('--iss is required');
    if (!values.aud) throw new UsageError('--aud is required');
    const algorithms = (values.alg as string).split(',').map((a) => a.trim());
    for (const a of algorithms) if (!isAlg(a)) throw new UsageError(`unsupported algorithm "${a}"`);
    token = await readTokenArgument(positionals[0], io);
    const jwks = await loadJWKS(values.jwks as string);
    try {
      verifier = createVerifier({
        algorithms: algorithms as Alg[],
        issuer: values.iss as string[],
        audience: values.aud as string[],
        keys: jwks,
        ...(values.typ !== undefined && { typ: values.typ as string }),
        clockTolerance: parseDuration((values['clock-tolerance'] as string | undefined) ?? '0s'),
      });
    } catch (err) {
      throw new UsageError(`unusable JWKS or options: ${(err as Error).message}`);
    }
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    throw err;
  }
  const print = (value: unknown) =>
    io.stdout.write(JSON.stringify(value, null, compact ? undefined : 2) + '\n');
  try {
    const { header, payload } = await verifier.verify(token);
    print({ header, payload });
    return 0;
  } catch (err) {
    if (err instanceof TesseraError) {
      print({ error: { code: err.code, message: err.message } });
      return 1;
    }
    throw err;
  }
}
