import { hasFindingAtOrAbove, type Severity } from '@tessera/jwt/lint';
import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, usageFailure } from '../args.js';
import { auditIssuer, type AuditResult } from '../audit/issuer-audit.js';

export const summary =
  "Audit an issuer's discovery document and JWKS (HTTPS, key sizes, kids, private members, caching)";

const HELP = `Usage: tessera audit ISSUER_URL [--json] [--fail-on error|warning|info] [--allow-http-loopback]

Fetches ISSUER_URL/.well-known/openid-configuration (falling back to RFC 8414
/.well-known/oauth-authorization-server) and its jwks_uri, and reports findings:
HTTPS, key types and sizes, kids present and unique, alg/use consistent with the key,
no private key members, Cache-Control, number of keys, advertised signing algorithms,
issuer equal to ISSUER_URL.

  --json                  print { "issuer", "findings": [...], "keys": [...] }
  --fail-on LEVEL         exit 1 when a finding at or above LEVEL exists (default: error)
  --allow-http-loopback   accept http:// on 127.0.0.1, ::1 or localhost (reported as a warning)

Requests time out after 5 s, responses are limited to 512 KiB, and redirects are followed only
within the same origin (at most 3). Exit codes: 0 ok, 1 findings at/above the level, 2 usage.`;

const ICON: Record<Severity, string> = { error: 'error  ', warning: 'warning', info: 'info   ' };

function printHuman(io: CommandIO, result: AuditResult): void {
  const lines = [`Issuer: ${result.issuer}`, `Keys: ${result.keys.length}`];
  for (const k of result.keys) {
    const size = k.bits !== undefined ? ` ${k.bits}-bit` : k.crv !== undefined ? ` ${k.crv}` : '';
    lines.push(
      `  - kid=${k.kid ?? '(none)'} ${k.kty ?? '?'}${size} alg=${k.alg ?? '(none)'} use=${k.use ?? '(none)'}`,
    );
  }
  lines.push(result.findings.length === 0 ? 'Findings: none' : `Findings (${result.findings.length}):`);
  for (const f of result.findings) lines.push(`  ${ICON[f.severity]} ${f.rule}: ${f.message}`);
  io.stdout.write(lines.map(printable).join('\n') + '\n');
}

/**
 * Replace control characters (ESC, CR, C1 …) with `?`: kids, algs and headers come from a server that may be
 * hostile, and raw escape sequences would let it rewrite the terminal (CWE-150).
 */
export function printable(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}

/** `tessera audit ISSUER_URL [--json] [--fail-on LEVEL] [--allow-http-loopback]` */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  let values: Record<string, unknown>;
  let positionals: string[];
  let failOn: Severity;
  try {
    ({ values, positionals } = parseCommandArgs(argv, {
      json: { type: 'boolean' },
      'fail-on': { type: 'string' },
      'allow-http-loopback': { type: 'boolean' },
    }));
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected exactly one ISSUER_URL');
    failOn = parseFailOn(values['fail-on']);
  } catch (err) {
    return usageFailure(io, err, HELP);
  }
  let result: AuditResult;
  try {
    result = await auditIssuer(positionals[0]!, {
      allowHttpLoopback: values['allow-http-loopback'] === true,
    });
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(io, err, HELP);
    throw err;
  }
  if (values.json) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printHuman(io, result);
  return hasFindingAtOrAbove(result.findings, failOn) ? 1 : 0;
}

/** Validate `--fail-on`; default `error`. */
export function parseFailOn(value: unknown): Severity {
  if (value === undefined) return 'error';
  if (value === 'error' || value === 'warning' || value === 'info') return value;
  throw new UsageError('--fail-on must be error, warning or info');
}
