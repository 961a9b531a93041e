import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { exportJWK, generateKeyPair, generateSecret, isAlg, type Alg } from '@tessera/jwt';
import { parseCommandArgs, usageFailure, UsageError } from '../args.js';
import type { CommandIO } from '../main.js';

export const summary = 'Generate a signing key (private JWK) and its public JWKS';

const HELP = `Usage: tessera keygen --alg ES256 [--out private.jwk.json] [--jwks-out public-jwks.json] [--bits 2048]

Generates a key for one algorithm. The kid is the RFC 7638 thumbprint of the public key.

Options:
  --alg ALG          ES256 (default), ES384, ES512, RS256/384/512, PS256/384/512, EdDSA,
                     or HS256/384/512 (a shared secret: only for a single service)
  --out FILE         write the private JWK here (mode 0600); without it, it goes to standard output
  --jwks-out FILE    write the public key as a JWK Set here
  --bits N           RSA modulus length: 2048 (default), 3072 or 4096
  -h, --help         show this help`;

export async function run(argv: string[], io: CommandIO): Promise<number> {
  let values;
  try {
    ({ values } = parseCommandArgs(
      argv,
      {
        alg: { type: 'string' },
        out: { type: 'string' },
        'jwks-out': { type: 'string' },
        bits: { type: 'string' },
      },
      false,
    ));
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    const alg = (values.alg as string | undefined) ?? 'ES256';
    if (!isAlg(alg)) throw new UsageError(`unsupported --alg "${alg}"`);
    const bits = values.bits === undefined ? 2048 : Number(values.bits);
    if (![2048, 3072, 4096].includes(bits)) throw new UsageError('--bits must be 2048, 3072 or 4096');
    // Refused before anything is written: a private key left behind by a failed command is a stray secret.
    if (values['jwks-out'] && alg.startsWith('HS'))
      throw new UsageError('an HMAC secret has no public JWKS: share it only with the one verifying service');
    const { privateJwk, publicJwks } = generate(alg, bits);
    const privateText = JSON.stringify(privateJwk, null, 2) + '\n';
    if (values.out) await writeFile(values.out as string, privateText, { mode: 0o600 });
    else io.stdout.write(privateText);
    if (values['jwks-out'] && publicJwks !== undefined) {
      await writeFile(values['jwks-out'] as string, JSON.stringify(publicJwks, null, 2) + '\n');
    }
    io.stderr.write(`generated ${alg} key ${privateJwk.kid}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    throw err;
  }
}

function generate(alg: Alg, bits: number) {
  if (alg.startsWith('HS')) {
    const secret = generateSecret(alg as 'HS256');
    const jwk = exportJWK(secret, { includePrivate: true });
    return { privateJwk: { ...jwk, kid: randomBytes(12).toString('base64url') }, publicJwks: undefined };
  }
  const { privateKey, publicKey } = generateKeyPair(alg, { modulusLength: bits });
  return {
    privateJwk: exportJWK(privateKey, { includePrivate: true }),
    publicJwks: { keys: [exportJWK(publicKey)] },
  };
}
