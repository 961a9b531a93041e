import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  createSigner,
  importJWK,
  isAlg,
  parseStrictJSONObject,
  TesseraError,
  type JWK,
  type JWTPayload,
} from '@tessera/jwt';
import { parseCommandArgs, parseDuration, usageFailure, UsageError } from '../args.js';
import type { CommandIO } from '../main.js';

export const summary = 'Sign claims into a JWT with a private JWK';

const HELP = `Usage: tessera sign --key private.jwk.json --alg ES256 [--kid KID] [--iss ISS] [--aud AUD] [--sub SUB]
                    [--ttl 15m] [--typ at+jwt] [--claims '{"tenant_id":"acme"}']

Prints a compact JWT with iat, exp (now + ttl) and a random jti.

Options:
  --key FILE      private JWK (from tessera keygen)
  --alg ALG       signing algorithm; must fit the key
  --kid KID       key id for the header (default: the JWK's kid)
  --iss ISS       issuer claim
  --aud AUD       audience claim (repeat for several)
  --sub SUB       subject claim
  --ttl DURATION  lifetime, e.g. 5m, 15m (default 15m)
  --typ TYP       header typ, e.g. at+jwt (RFC 9068)
  --claims JSON   extra claims as a JSON object; the flags above win over it
  -h, --help      show this help`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  try {
    const { values } = parseCommandArgs(
      argv,
      {
        key: { type: 'string' },
        alg: { type: 'string' },
        kid: { type: 'string' },
        iss: { type: 'string' },
        aud: { type: 'string', multiple: true },
        sub: { type: 'string' },
        ttl: { type: 'string' },
        typ: { type: 'string' },
        claims: { type: 'string' },
      },
      false,
    );
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    if (!values.key) throw new UsageError('--key is required');
    const alg = (values.alg as string | undefined) ?? 'ES256';
    if (!isAlg(alg)) throw new UsageError(`unsupported --alg "${alg}"`);
    let jwk: JWK;
    try {
      jwk = JSON.parse(await readFile(values.key as string, 'utf8')) as JWK;
    } catch {
      throw new UsageError('could not read the key file as JSON');
    }
    let extra: Record<string, unknown> = {};
    if (values.claims !== undefined) {
      try {
        extra = parseStrictJSONObject(values.claims as string, { maxDepth: 16 }, '--claims');
      } catch {
        throw new UsageError('--claims must be a JSON object without duplicate names');
      }
    }
    const ttl = parseDuration((values.ttl as string | undefined) ?? '15m');
    const now = Math.floor(Date.now() / 1000);
    const aud = values.aud as string[] | undefined;
    const payload: JWTPayload = {
      ...extra,
      ...(values.iss !== undefined && { iss: values.iss as string }),
      ...(values.sub !== undefined && { sub: values.sub as string }),
      ...(aud !== undefined && { aud: aud.length === 1 ? aud[0]! : aud }),
      iat: now,
      exp: now + Math.round(ttl),
      jti: randomUUID(),
    };
    const key = importJWK(jwk, { alg });
    const signer = createSigner({ key, alg, ...(values.kid !== undefined && { kid: values.kid as string }) });
    const header = values.typ !== undefined ? { typ: values.typ as string } : undefined;
    io.stdout.write(signer.sign(payload, header ? { header } : undefined) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    if (err instanceof TesseraError) {
      io.stderr.write(`tessera sign: ${err.code}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
