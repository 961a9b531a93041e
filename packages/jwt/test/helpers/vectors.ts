/**
 * Test-vector loading for the RFC, cookbook and Wycheproof suites, plus the label overrides listed in
 * `test/vectors/wycheproof/README.md` ("Known label problems"). The vectors are vendored in
 * `packages/jwt/test/vectors` (README there: source, version, licence), found from the repository root (the
 * directory whose package.json has `workspaces`), so a clone anywhere runs them. Missing vectors fail loudly.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TesseraError, type CoreVerifier } from '../../src/index.js';

/** The directory holding the root package.json with "workspaces", found by walking up from this file. */
export function findRepoRoot(start: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      const json = JSON.parse(readFileSync(pkg, 'utf8')) as { workspaces?: unknown };
      if (json.workspaces !== undefined) return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('test setup: no package.json with "workspaces" above ' + start);
    dir = parent;
  }
}

/** `<repoRoot>/packages/jwt/test/vectors`, or an error naming the path when the vectors are missing. */
export function vectorsDir(): string {
  const dir = path.join(findRepoRoot(), 'packages/jwt/test/vectors');
  if (!existsSync(path.join(dir, 'wycheproof')) || !existsSync(path.join(dir, 'jose-cookbook'))) {
    throw new Error(`test vectors missing: expected ${dir}/wycheproof and ${dir}/jose-cookbook`);
  }
  return dir;
}

/** Parse a JSON file under the vectors directory; a missing file is an error, never a skip. */
export function readVectorFile<T = unknown>(relative: string): T {
  const file = path.join(vectorsDir(), relative);
  if (!existsSync(file)) throw new Error(`test vector file missing: ${file}`);
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

// ---------------------------------------------------------------------------------------------------------
// Wycheproof
// ---------------------------------------------------------------------------------------------------------

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  result: WycheproofResult;
  [field: string]: unknown;
}

export interface WycheproofGroup {
  type: string;
  tests: WycheproofTest[];
  [field: string]: unknown;
}

export interface WycheproofFile {
  algorithm?: string;
  numberOfTests: number;
  testGroups: WycheproofGroup[];
}

/** Load `wycheproof/<name>` and check that it holds the number of tests it claims. */
export function loadWycheproof(name: string): WycheproofFile {
  const file = readVectorFile<WycheproofFile>(`wycheproof/${name}`);
  const count = file.testGroups.reduce((n, g) => n + g.tests.length, 0);
  if (count !== file.numberOfTests)
    throw new Error(`${name}: ${count} tests, header says ${file.numberOfTests}`);
  return file;
}

interface LabelOverride {
  result: WycheproofResult;
  why: string;
}

/**
 * Labels that differ from what a strict verifier must do (wycheproof/README.md, "Known label problems").
 * Our verifier enforces the JWK `alg`, so 346/347/350/351 are invalid for us.
 */
export const LABEL_OVERRIDES: Readonly<Record<string, Readonly<Record<number, LabelOverride>>>> = {
  'json_web_signature_test.json': {
    367: { result: 'valid', why: 'byte-identical to the valid tcId 357 (C2SP/wycheproof #236)' },
    370: { result: 'valid', why: 'byte-identical to the valid tcId 357 (C2SP/wycheproof #236)' },
    372: { result: 'invalid', why: 'the token contains "?", which is not base64url' },
    373: { result: 'invalid', why: 'the token contains "?", which is not base64url' },
    346: {
      result: 'invalid',
      why: 'key says alg PS256, token (RFC 7520 Fig. 20) is PS384; we enforce the JWK alg',
    },
    350: {
      result: 'invalid',
      why: 'key says alg PS256, token (RFC 7520 Fig. 20) is PS384; we enforce the JWK alg',
    },
    347: { result: 'invalid', why: 'key says alg "ES521", not a JWA name; we enforce the JWK alg' },
    351: { result: 'invalid', why: 'key says alg "ES521", not a JWA name; we enforce the JWK alg' },
  },
};

/**
 * Cases where Tessera knowingly differs from the (correct) label. They are counted and reported on their own,
 * never silently passed: the test asserts that the divergence is still exactly as documented.
 */
export const KNOWN_DIVERGENCES: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  'json_web_key_test.json': {
    // ROCA (CVE-2017-15361): rejecting this key needs a fingerprint test on the RSA modulus, which Tessera does
    // not implement. The signature itself verifies, so we accept the token. Documented expected divergence.
    7: 'ROCA-weak RSA modulus: no ROCA fingerprint check is implemented (expected divergence)',
  },
  'json_web_crypto_test.json': {
    // The same ROCA key as json_web_key_test tcId 7 (wycheproof/README.md, "Known label problems").
    46: 'ROCA-weak RSA modulus: no ROCA fingerprint check is implemented (expected divergence)',
  },
};

/** The result a strict verifier must produce, after the README's overrides. */
export function expectedResult(file: string, test: WycheproofTest): WycheproofResult {
  return LABEL_OVERRIDES[file]?.[test.tcId]?.result ?? test.result;
}

/** The documented divergence for this case, if any. */
export function knownDivergence(file: string, tcId: number): string | undefined {
  return KNOWN_DIVERGENCES[file]?.[tcId];
}

/** Counts for one vector file, and the list of mismatching tcIds. */
export class Tally {
  readonly file: string;
  total = 0;
  validAccepted = 0;
  invalidRejected = 0;
  acceptable = 0;
  acceptableAccepted = 0;
  divergences: number[] = [];
  mismatches: { tcId: number; expected: WycheproofResult; got: string; comment: string }[] = [];
  /** Valid vectors refused by a documented policy (for example an HMAC key shorter than the hash). */
  policyRejected = 0;

  constructor(file: string) {
    this.file = file;
  }

  /**
   * Record one outcome. `accepted` is whether our stack accepted the input; `policy` marks a valid vector that a
   * documented JOSE rule must refuse (it then counts as a correct rejection, see policyRejected).
   */
  record(test: WycheproofTest, accepted: boolean, detail = '', policy = false): void {
    this.total++;
    const expected = expectedResult(this.file, test);
    const divergence = knownDivergence(this.file, test.tcId);
    if (divergence !== undefined) {
      // The divergence must stay exactly as documented; if it ever changes, update the table.
      if (accepted === (expected === 'valid')) {
        this.mismatches.push({
          tcId: test.tcId,
          expected,
          got: 'documented divergence no longer diverges',
          comment: divergence,
        });
      } else this.divergences.push(test.tcId);
      return;
    }
    if (expected === 'acceptable') {
      this.acceptable++;
      if (accepted) this.acceptableAccepted++;
    } else if (expected === 'valid' && policy && !accepted) {
      this.policyRejected++;
    } else if (expected === 'valid' && accepted) {
      this.validAccepted++;
    } else if (expected === 'invalid' && !accepted) {
      this.invalidRejected++;
    } else {
      this.mismatches.push({
        tcId: test.tcId,
        expected,
        got: accepted ? 'accepted' : `rejected ${detail}`,
        comment: test.comment,
      });
    }
  }

  summary(): string {
    const policy = this.policyRejected > 0 ? `, ${this.policyRejected} valid refused by JOSE policy` : '';
    const div =
      this.divergences.length > 0
        ? `, ${this.divergences.length} known divergence(s) [${this.divergences.join(',')}]`
        : '';
    return (
      `${this.file}: ${this.total} vectors, ${this.validAccepted} valid accepted, ${this.invalidRejected} invalid rejected, ` +
      `${this.acceptable} acceptable (${this.acceptableAccepted} accepted)${policy}${div}, ${this.mismatches.length} mismatches`
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// JOSE cookbook and RFC appendix examples
// ---------------------------------------------------------------------------------------------------------

export interface RfcVector {
  id: string;
  kind: string;
  alg?: string;
  jwk?: Record<string, unknown>;
  protectedHeader?: string;
  payload?: string;
  signingInput?: string;
  signatureB64u?: string;
  compact?: string;
  compactDetached?: string;
  flattenedJson?: Record<string, unknown>;
  thumbprintB64u?: string;
  canonicalJson?: string;
  secretHex?: string;
  publicHex?: string;
  expect: string;
  [field: string]: unknown;
}

/** One vector of `jose-cookbook/rfc-appendix-examples.json`, by id. */
export function rfcVector(id: string): RfcVector {
  const file = readVectorFile<{ vectors: RfcVector[] }>('jose-cookbook/rfc-appendix-examples.json');
  const v = file.vectors.find((x) => x.id === id);
  if (!v) throw new Error(`RFC vector ${id} missing`);
  return v;
}

export interface CookbookExample {
  title: string;
  input: { payload: string; key: Record<string, unknown> | Record<string, unknown>[]; alg: string };
  output: { compact?: string; json?: Record<string, unknown>; json_flat?: Record<string, unknown> };
}

/** A cookbook example file, e.g. `jws/4_1.rsa_v15_signature.json`. */
export function cookbook(relative: string): CookbookExample {
  return readVectorFile<CookbookExample>(`jose-cookbook/${relative}`);
}

// ---------------------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------------------

/**
 * Failures that the verifier raises only after the signature held (verifier-core parses the payload and checks
 * claims after verifying). For a JWS-level vector whose payload is not a JWT claims set, one of these means the
 * JWS itself verified. Header-level `typ` checks also use JWTClaimInvalid, so never set `typ` on a JWS-level
 * verifier.
 */
const AFTER_SIGNATURE_MESSAGES = new Set([
  'payload is not valid JSON',
  'payload is not a JSON object',
  'payload is not valid UTF-8',
]);
const CLAIM_CODES = new Set(['ERR_JWT_CLAIM_INVALID', 'ERR_JWT_EXPIRED', 'ERR_JWT_NOT_YET_VALID']);

export type Outcome =
  | { accepted: true; signatureOnly: boolean; code?: string }
  | { accepted: false; code: string; message: string };

/**
 * Run `verifier.verify(token)` and classify it at the JWS level. A rejection that is not a TesseraError is
 * re-thrown: the verifier must never fail any other way.
 */
export async function jwsOutcome(verifier: CoreVerifier, token: string): Promise<Outcome> {
  try {
    await verifier.verify(token);
    return { accepted: true, signatureOnly: false };
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err;
    if (
      (err.code === 'ERR_JWS_INVALID' && AFTER_SIGNATURE_MESSAGES.has(err.message)) ||
      CLAIM_CODES.has(err.code)
    ) {
      return { accepted: true, signatureOnly: true, code: err.code };
    }
    return { accepted: false, code: err.code, message: err.message };
  }
}

/** Decode hex; Wycheproof primitive files carry byte strings as hex. */
export function hex(s: string): Buffer {
  return Buffer.from(s, 'hex');
}
