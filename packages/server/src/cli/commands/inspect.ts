import { readFile } from 'node:fs/promises';
import {
  createVerifier,
  decodeJWT,
  importJWKS,
  isAlg,
  TesseraError,
  type Alg,
  type JWKS,
} from '@tessera/jwt';
import {
  describeTimes,
  hasFindingAtOrAbove,
  lintToken,
  type Finding,
  type Severity,
} from '@tessera/jwt/lint';
import type { CommandIO } from '../main.js';
import { UsageError, parseCommandArgs, readStdin, usageFailure } from '../args.js';
import { fetchLimited } from '../audit/fetch-limited.js';
import { parseFailOn, printable } from './audit.js';

export const summary =
  'Decode and lint a token (size, lifetime, claims, sensitive data); optionally verify it';

const HELP = `Usage: tessera inspect TOKEN|- [--json] [--fail-on error|warning|info]
                       [--jwks FILE|URL --iss ISS --aud AUD [--alg ES256,...]] [--now SECONDS]

Shows the header and payload (UNVERIFIED unless verification was asked for and succeeded),
times in words, the size in bytes, and lint findings with a rule id, a severity and a fix.
Use - to read the token from standard input.

  --json            print { "header", "payload", "verified", "findings": [ { "rule", "severity", "message" } ] }
                    ("verified" is null when no verification was asked for)
  --fail-on LEVEL   exit 1 when a finding at or above LEVEL exists (default: error)
  --jwks FILE|URL   verify the signature against this JWK Set (needs --iss and --aud)
  --iss ISS         expected issuer
  --aud AUD         expected audience
  --alg LIST        accepted algorithms, comma-separated (default: those the JWKS keys serve)
  --now SECONDS     evaluate times at this instant (seconds since the epoch), for tests

Exit codes: 0 ok, 1 findings at/above the level or verification failed, 2 usage error.`;

/** The `--json` output. */
export interface InspectResult {
  header: Record<string, unknown> | null;
  payload: Record<string, unknown> | null;
  /** true/false when verification was asked for, null otherwise. */
  verified: boolean | null;
  findings: Finding[];
  /** Extra detail for people: times in words and the size. */
  times?: Record<string, string>;
  size?: number;
}

interface VerifyRequest {
  jwks: string;
  issuer: string;
  audience: string;
  algorithms: Alg[] | undefined;
}

async function loadJWKS(source: string): Promise<JWKS> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const res = await fetchLimited(new URL(source));
    if (res.status !== 200) throw new Error(`the JWKS answered HTTP ${res.status}`);
    text = res.body;
  } else {
    text = await readFile(source, 'utf8');
  }
  return JSON.parse(text) as JWKS;
}

/** Verify with the core verifier; the algorithm allow-list comes from --alg or the keys, never the token. */
async function verifyToken(token: string, req: VerifyRequest, now: number): Promise<Finding | undefined> {
  try {
    const jwks = await loadJWKS(req.jwks);
    const algorithms = req.algorithms ?? [...new Set(importJWKS(jwks).keys.flatMap((k) => k.algorithms))];
    if (algorithms.length === 0) throw new Error('the JWKS holds no usable key');
    const verifier = createVerifier({
      algorithms,
      issuer: req.issuer,
      audience: req.audience,
      keys: jwks,
      clock: () => now * 1000,
      maxTokenLength: 64 * 1024,
    });
    try {
      await verifier.verify(token);
    } finally {
      verifier.close();
    }
    return undefined;
  } catch (err) {
    const why = err instanceof TesseraError ? `${err.code}: ${err.message}` : (err as Error).message;
    return {
      rule: 'verification-failed',
      severity: 'error',
      message: `The token did not verify (${why}); do not trust its contents.`,
    };
  }
}

function parseVerifyRequest(values: Record<string, unknown>): VerifyRequest | undefined {
  const { jwks, iss, aud, alg } = values as Record<string, string | undefined>;
  if (jwks === undefined) {
    if (iss !== undefined || aud !== undefined || alg !== undefined)
      throw new UsageError('--iss, --aud and --alg need --jwks');
    return undefined;
  }
  // Secure by default: a verification without issuer and audience checks would accept tokens for anyone.
  if (iss === undefined || aud === undefined) throw new UsageError('--jwks needs --iss and --aud');
  let algorithms: Alg[] | undefined;
  if (alg !== undefined) {
    const list = alg
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
    for (const a of list) if (!isAlg(a)) throw new UsageError(`unsupported algorithm "${a}" in --alg`);
    if (list.length === 0) throw new UsageError('--alg is empty');
    algorithms = list as Alg[];
  }
  return { jwks, issuer: iss, audience: aud, algorithms };
}

function parseNow(value: unknown): number {
  if (value === undefined) return Math.floor(Date.now() / 1000);
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) {
    throw new UsageError('--now must be seconds since the epoch');
  }
  return n;
}

const LABEL: Record<Severity, string> = { error: 'error  ', warning: 'warning', info: 'info   ' };

function printHuman(io: CommandIO, r: InspectResult, verifying: boolean): void {
  const mark = r.verified === true ? 'verified' : 'UNVERIFIED';
  const lines: string[] = [];
  if (r.header !== null && r.payload !== null) {
    // One entry per line of the pretty-printed JSON, so that `printable` (CWE-150) below keeps its line
    // breaks; JSON.stringify already escapes control characters inside strings.
    lines.push(`Header (${mark}):`, ...JSON.stringify(r.header, null, 2).split('\n'), '');
    lines.push(`Payload (${mark}):`, ...JSON.stringify(r.payload, null, 2).split('\n'), '');
    const times = Object.values(r.times ?? {});
    lines.push(`Times: ${times.length > 0 ? times.join(', ') : 'no iat, nbf or exp'}`);
    lines.push(`Size: ${r.size} bytes`);
  }
  lines.push(
    `Signature: ${
      !verifying
        ? 'not checked (pass --jwks, --iss and --aud to verify)'
        : r.verified
          ? 'verified'
          : 'NOT VERIFIED'
    }`,
  );
  lines.push(r.findings.length === 0 ? 'Findings: none' : `Findings (${r.findings.length}):`);
  for (const f of r.findings) lines.push(`  ${LABEL[f.severity]} ${f.rule}: ${f.message}`);
  io.stdout.write(lines.map(printable).join('\n') + '\n');
}

/** `tessera inspect TOKEN|- …` */
export async function run(argv: string[], io: CommandIO): Promise<number> {
  let values: Record<string, unknown>;
  let positionals: string[];
  let failOn: Severity;
  let verify: VerifyRequest | undefined;
  let now: number;
  try {
    ({ values, positionals } = parseCommandArgs(argv, {
      json: { type: 'boolean' },
      'fail-on': { type: 'string' },
      jwks: { type: 'string' },
      iss: { type: 'string' },
      aud: { type: 'string' },
      alg: { type: 'string' },
      now: { type: 'string' },
    }));
    if (values.help) {
      io.stdout.write(HELP + '\n');
      return 0;
    }
    if (positionals.length !== 1)
      throw new UsageError('expected exactly one TOKEN (or - for standard input)');
    failOn = parseFailOn(values['fail-on']);
    verify = parseVerifyRequest(values);
    now = parseNow(values.now);
  } catch (err) {
    return usageFailure(io, err, HELP);
  }

  const token = (positionals[0] === '-' ? await readStdin(io) : positionals[0]!).trim();
  const result: InspectResult = {
    header: null,
    payload: null,
    verified: verify ? false : null,
    findings: [],
  };
  try {
    // Inspection looks at oversized tokens too (to report them); the verifier keeps its own limit.
    const decoded = decodeJWT(token, { maxTokenLength: 64 * 1024 });
    result.header = decoded.header;
    result.payload = decoded.payload;
    result.findings = lintToken({
      header: decoded.header,
      payload: decoded.payload,
      size: decoded.size,
      now,
    });
    result.times = { ...describeTimes(decoded.payload, now) } as Record<string, string>;
    result.size = decoded.size;
  } catch (err) {
    const why = err instanceof TesseraError ? `${err.code}: ${err.message}` : (err as Error).message;
    result.findings.push({
      rule: 'token-malformed',
      severity: 'error',
      message: `Not a well-formed compact JWS (${why}); verifiers will reject it.`,
    });
  }
  if (verify && result.header !== null) {
    const failure = await verifyToken(token, verify, now);
    result.verified = failure === undefined;
    if (failure) result.findings.unshift(failure);
  }

  if (values.json) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printHuman(io, result, verify !== undefined);
  const verificationFailed = verify !== undefined && result.verified !== true;
  return verificationFailed || hasFindingAtOrAbove(result.findings, failOn) ? 1 : 0;
}
