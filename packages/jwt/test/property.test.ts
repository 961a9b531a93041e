/**
 * Property-based tests (fast-check). For arbitrary strings, arbitrary segment triples and mutations of valid
 * tokens for several algorithms: verify only ever rejects with a TesseraError, never throws anything else, never
 * resolves for a mutation that changed the token text (non-canonical base64url in the unused trailing bits
 * included), and never hangs (each run is bounded by a timeout). Parser properties: parseStrictJSONObject agrees
 * with JSON.parse on duplicate-free objects and rejects injected duplicates; base64url round trips and rejects
 * non-canonical forms; decodeJWT throws nothing but TesseraErrors. numRuns are modest so the file runs in seconds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  TesseraError,
  createSigner,
  createVerifier,
  decodeBase64url,
  decodeJWT,
  encodeBase64url,
  generateKeyPair,
  generateSecret,
  isCanonicalBase64url,
  parseStrictJSONObject,
  type Alg,
  type CoreVerifier,
  type TesseraKey,
} from '../src/index.js';

const NOW = 1_750_000_000;
const clock = () => NOW * 1000;
const ISS = 'https://issuer.example.com';
const AUD = 'prop-api';
const RUN_TIMEOUT_MS = 2000;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function withTimeout<T>(p: Promise<T>, ms = RUN_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`verify did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves to 'accepted' or the TesseraError code; anything else (other errors, hangs) fails the property. */
async function outcome(v: CoreVerifier, token: string): Promise<string> {
  try {
    await withTimeout(v.verify(token));
    return 'accepted';
  } catch (err) {
    if (err instanceof TesseraError) return err.code;
    throw new Error(`verify rejected with a non-TesseraError: ${String(err)}`);
  }
}

interface Fixture {
  alg: Alg;
  threadPool: boolean;
  verifier: CoreVerifier;
  token: string;
}

function fixture(alg: Alg, threadPool = false): Fixture {
  let priv: TesseraKey;
  let pub: TesseraKey;
  if (alg.startsWith('HS')) priv = pub = generateSecret(alg as 'HS256', { kid: 'hs' });
  else ({ privateKey: priv, publicKey: pub } = generateKeyPair(alg));
  const token = createSigner({ key: priv, alg, clock }).sign({
    iss: ISS,
    aud: AUD,
    sub: 'alice',
    exp: NOW + 600,
    n: 1,
  });
  const verifier = createVerifier({
    algorithms: [alg],
    issuer: ISS,
    audience: AUD,
    keys: [pub],
    clock,
    threadPool,
  });
  return { alg, verifier, token, threadPool };
}

const FIXTURE_ALGS: Alg[] = ['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA'];
// ES256 once more through node's thread pool (the callback form of crypto.verify).
const fixtures = [...FIXTURE_ALGS.map((alg) => fixture(alg)), fixture('ES256', true)];

// ---------------------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------------------

const strangeChar = fc.constantFrom(
  '.',
  '=',
  '+',
  '/',
  ' ',
  '\n',
  '\t',
  '?',
  '%',
  '\u0000',
  '\u00e9',
  '\ud83d\ude80',
  '"',
);
const anyChar = fc.oneof(fc.constantFrom(...ALPHABET.split('')), strangeChar);

type Mutation = (token: string) => string;

function mutation(): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  return fc.oneof(
    // Replace a character anywhere.
    fc.tuple(at, anyChar).map(([i, c]): Mutation => (t) => {
      const k = i % t.length;
      return t.slice(0, k) + c + t.slice(k + 1);
    }),
    // Insert a character anywhere.
    fc.tuple(at, anyChar).map(([i, c]): Mutation => (t) => {
      const k = i % (t.length + 1);
      return t.slice(0, k) + c + t.slice(k);
    }),
    // Delete a character (or a run of them).
    fc.tuple(at, fc.integer({ min: 1, max: 8 })).map(([i, n]): Mutation => (t) => {
      const k = i % t.length;
      return t.slice(0, k) + t.slice(k + n);
    }),
    // Flip one bit of one decoded byte in one segment, re-encoding canonically.
    fc
      .tuple(fc.integer({ min: 0, max: 2 }), at, fc.integer({ min: 0, max: 7 }))
      .map(([s, i, bit]): Mutation => (t) => {
        const parts = t.split('.');
        const k = s % parts.length;
        const bytes = Buffer.from(parts[k]!, 'base64url');
        if (bytes.length === 0) return t + 'A';
        bytes[i % bytes.length]! ^= 1 << bit;
        parts[k] = bytes.toString('base64url');
        return parts.join('.');
      }),
    // Change only the unused trailing bits of a segment's last character (non-canonical, same bytes for Node).
    fc
      .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 15 }))
      .map(([s, delta]): Mutation => (t) => {
        const parts = t.split('.');
        const k = s % parts.length;
        const seg = parts[k]!;
        const rem = seg.length % 4;
        const last = ALPHABET.indexOf(seg.at(-1) ?? '');
        if (rem === 0 || last < 0) return t + '=';
        const spare = rem === 2 ? 0x0f : 0x03;
        const changed = (last & ~spare) | ((last + delta) & spare);
        parts[k] = seg.slice(0, -1) + ALPHABET[changed === last ? last ^ 1 : changed]!;
        return parts.join('.');
      }),
    // Swap, drop or duplicate segments.
    fc.constantFrom<Mutation>(
      (t) => t.split('.').reverse().join('.'),
      (t) => {
        const [h, p, s] = t.split('.');
        return `${p}.${h}.${s}`;
      },
      (t) => {
        const [h, p, s] = t.split('.');
        return `${h}.${p}.${s}.${s}`;
      },
      (t) => t.split('.').slice(0, 2).join('.'),
      (t) => {
        const [h, , s] = t.split('.');
        return `${h}..${s}`;
      },
    ),
    // Re-encode a segment in padded standard base64 (a different text for the same bytes).
    fc.integer({ min: 0, max: 2 }).map((s): Mutation => (t) => {
      const parts = t.split('.');
      const k = s % parts.length;
      parts[k] = Buffer.from(parts[k]!, 'base64url').toString('base64');
      return parts.join('.');
    }),
    // Surrounding whitespace, case change of one segment.
    fc.constantFrom<Mutation>(
      (t) => ` ${t}`,
      (t) => `${t}\n`,
      (t) => {
        const [h, p, s] = t.split('.');
        return `${h}.${p}.${(s ?? '').toUpperCase()}`;
      },
    ),
  );
}

describe('verify: mutations of valid tokens', () => {
  for (const f of fixtures) {
    test(`${f.alg}${f.threadPool ? ' (threadPool)' : ''}: a changed token text is never accepted; errors are TesseraErrors; nothing hangs`, async () => {
      assert.equal(await outcome(f.verifier, f.token), 'accepted');
      await fc.assert(
        fc.asyncProperty(fc.array(mutation(), { minLength: 1, maxLength: 3 }), async (mutations) => {
          const mutated = mutations.reduce((t, m) => m(t), f.token);
          const result = await outcome(f.verifier, mutated);
          if (mutated === f.token) assert.equal(result, 'accepted');
          else assert.notEqual(result, 'accepted', `mutated token accepted: ${JSON.stringify(mutated)}`);
        }),
        { numRuns: f.alg === 'HS256' ? 400 : 150 },
      );
    });
  }
});

describe('verify: arbitrary input', () => {
  const v = fixtures[0]!.verifier;
  test('arbitrary strings (ASCII and full Unicode) are rejected with TesseraErrors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        async (s) => {
          assert.notEqual(await outcome(v, s), 'accepted');
        },
      ),
      { numRuns: 300 },
    );
  });

  const b64seg = fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('base64url'));
  const headerSeg = fc
    .record({
      alg: fc.oneof(fc.constantFrom('HS256', 'RS256', 'none', 'NONE', 'ES256', 'EdDSA', ''), fc.string()),
      kid: fc.option(fc.oneof(fc.constant('hs'), fc.string()), { nil: undefined }),
      crit: fc.option(fc.array(fc.string(), { maxLength: 2 }), { nil: undefined }),
      typ: fc.option(fc.string(), { nil: undefined }),
    })
    .map((h) => Buffer.from(JSON.stringify(h)).toString('base64url'));
  const payloadSeg = fc
    .jsonValue({ maxDepth: 3 })
    .map((p) => Buffer.from(JSON.stringify(p) ?? 'null').toString('base64url'));

  test('arbitrary segment triples (random bytes, JSON headers and payloads) are rejected', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.oneof(b64seg, headerSeg), fc.oneof(b64seg, payloadSeg), b64seg),
        async ([h, p, s]) => {
          assert.notEqual(await outcome(v, `${h}.${p}.${s}`), 'accepted');
        },
      ),
      { numRuns: 300 },
    );
  });

  test('decodeJWT throws nothing but TesseraErrors', () => {
    const tokens = fixtures.map((f) => f.token);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.tuple(fc.oneof(b64seg, headerSeg), fc.oneof(b64seg, payloadSeg), b64seg).map((t) => t.join('.')),
          fc
            .tuple(fc.constantFrom(...tokens), fc.array(mutation(), { minLength: 1, maxLength: 3 }))
            .map(([t, ms]) => ms.reduce((x, m) => m(x), t)),
        ),
        (s) => {
          try {
            decodeJWT(s);
          } catch (err) {
            assert.ok(err instanceof TesseraError, `decodeJWT threw ${String(err)}`);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Parsers
// ---------------------------------------------------------------------------------------------------------

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const OPTS = { maxDepth: 64 };

function hasForbiddenKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    for (const k of Object.keys(v)) {
      if (!Array.isArray(v) && FORBIDDEN.has(k)) return true;
      stack.push((v as Record<string, unknown>)[k]);
    }
  }
  return false;
}

function parseError(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof TesseraError, `threw ${String(err)}`);
    return err.code;
  }
}

/** A key written with every character as a \uXXXX escape: the same name after unescaping. */
const escapeKey = (k: string) =>
  k
    .split('')
    .map((c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
    .join('');

const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });

describe('parseStrictJSONObject', () => {
  test('agrees with JSON.parse on duplicate-free objects (fc.dictionary of fc.jsonValue, fc.object)', () => {
    fc.assert(
      fc.property(fc.oneof(jsonObject, fc.object({ maxDepth: 3 })), (obj) => {
        const text = JSON.stringify(obj);
        const expected = JSON.parse(text) as unknown;
        if (hasForbiddenKey(expected)) {
          assert.equal(
            parseError(() => parseStrictJSONObject(text, OPTS, 'x')),
            'ERR_JWS_INVALID',
          );
        } else {
          assert.deepEqual(parseStrictJSONObject(text, OPTS, 'x'), expected);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('agrees with JSON.parse on pretty-printed text too', () => {
    fc.assert(
      fc.property(jsonObject, (obj) => {
        const text = JSON.stringify(obj, null, 2);
        const expected = JSON.parse(text) as unknown;
        fc.pre(!hasForbiddenKey(expected));
        assert.deepEqual(parseStrictJSONObject(text, OPTS, 'x'), expected);
      }),
      { numRuns: 200 },
    );
  });

  test('rejects any object text with an injected duplicate key (plain or escaped, top level or nested)', () => {
    fc.assert(
      fc.property(
        jsonObject.filter((o) => Object.keys(o).length > 0),
        fc.nat(),
        fc.jsonValue({ maxDepth: 2 }),
        fc.boolean(),
        fc.boolean(),
        (obj, pick, value, escaped, nested) => {
          const keys = Object.keys(obj);
          const key = keys[pick % keys.length]!;
          const text = JSON.stringify(obj);
          const name = escaped && key.length > 0 ? `"${escapeKey(key)}"` : JSON.stringify(key);
          const dup = `${text.slice(0, -1)},${name}:${JSON.stringify(value)}}`;
          const input = nested ? `{"outer":[1,${dup}]}` : dup;
          assert.equal(
            parseError(() => parseStrictJSONObject(input, OPTS, 'x')),
            'ERR_JWS_INVALID',
          );
        },
      ),
      { numRuns: 400 },
    );
  });

  // Flat texts (one object, no escapes) take the comma-count check: commas inside names and string values,
  // arrays of strings and nested arrays are where a miscount would hide a duplicate or refuse a valid object.
  const flatChar = fc.constantFrom(',', ',', ':', '[', ']', ' ', 'a', 'b', '1');
  const flatString = fc.string({ unit: flatChar, maxLength: 6 });
  const flatScalar = fc.oneof(flatString, fc.integer(), fc.boolean(), fc.constant(null));
  const flatValue = fc.oneof(
    flatScalar,
    fc.array(fc.oneof(flatScalar, fc.array(flatScalar, { maxLength: 3 })), { maxLength: 4 }),
  );
  const flatObject = fc.dictionary(flatString, flatValue, { maxKeys: 6 });

  test('flat objects with commas in names, values and arrays: accepted as JSON.parse reads them', () => {
    fc.assert(
      fc.property(flatObject, (obj) => {
        const text = JSON.stringify(obj);
        assert.ok(!text.includes('\\') && text.lastIndexOf('{') === 0); // flat, so the comma path runs
        assert.deepEqual(parseStrictJSONObject(text, OPTS, 'x'), JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  test('flat objects with a repeated name are refused, whatever the commas in names and values', () => {
    fc.assert(
      fc.property(
        flatObject.filter((o) => Object.keys(o).length > 0),
        fc.nat(),
        flatValue,
        fc.boolean(),
        (obj, pick, value, first) => {
          const keys = Object.keys(obj);
          const key = keys[pick % keys.length]!;
          const body = JSON.stringify(obj).slice(1, -1);
          const extra = `${JSON.stringify(key)}:${JSON.stringify(value)}`;
          const text = first ? `{${extra},${body}}` : `{${body},${extra}}`;
          assert.equal(
            parseError(() => parseStrictJSONObject(text, OPTS, 'x')),
            'ERR_JWS_INVALID',
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  test('never throws anything but TesseraErrors on arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 100 }), fc.json({ maxDepth: 4 })), (s) => {
        parseError(() => parseStrictJSONObject(s, { maxDepth: 8 }, 'x'));
      }),
      { numRuns: 400 },
    );
  });

  test('depth beyond maxDepth is rejected, within it accepted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (depth, max) => {
        const text = `{"a":${'['.repeat(depth - 1)}0${']'.repeat(depth - 1)}}`;
        const code = parseError(() => parseStrictJSONObject(text, { maxDepth: max }, 'x'));
        assert.equal(code, depth > max ? 'ERR_JWS_INVALID' : undefined);
      }),
      { numRuns: 200 },
    );
  });
});

describe('base64url', () => {
  test('encode/decode round trip; encodings are canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const s = encodeBase64url(bytes);
        assert.ok(isCanonicalBase64url(s));
        assert.match(s, /^[A-Za-z0-9_-]*$/);
        assert.deepEqual(new Uint8Array(decodeBase64url(s)), bytes);
      }),
      { numRuns: 500 },
    );
  });

  test('any string either decodes and re-encodes to itself, or is rejected with ERR_JWS_INVALID', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9_\-=+/ ]{0,40}$/)),
        (s) => {
          const code = parseError(() => decodeBase64url(s));
          if (code === undefined) assert.equal(encodeBase64url(decodeBase64url(s)), s);
          else assert.equal(code, 'ERR_JWS_INVALID');
          assert.equal(isCanonicalBase64url(s), code === undefined);
        },
      ),
      { numRuns: 800 },
    );
  });

  test('non-canonical forms of valid encodings are rejected', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.constantFrom('pad', 'std', 'space', 'bits', 'extra'),
        fc.nat(),
        (bytes, kind, at) => {
          const s = encodeBase64url(bytes);
          let bad: string;
          switch (kind) {
            case 'pad':
              bad = Buffer.from(bytes).toString('base64');
              fc.pre(bad !== s);
              break;
            case 'std':
              bad = s.replace(/-/g, '+').replace(/_/g, '/');
              fc.pre(bad !== s);
              break;
            case 'space': {
              const k = at % (s.length + 1);
              bad = `${s.slice(0, k)} ${s.slice(k)}`;
              break;
            }
            case 'bits': {
              const rem = s.length % 4;
              fc.pre(rem !== 0);
              const spare = rem === 2 ? 0x0f : 0x03;
              const last = ALPHABET.indexOf(s.at(-1)!);
              bad = s.slice(0, -1) + ALPHABET[(last & ~spare) | (((at % spare) + 1) & spare)]!;
              break;
            }
            default:
              bad = s + 'AAAA'.slice(0, (5 - (s.length % 4)) % 4 || 1);
              fc.pre(bad.length % 4 === 1);
          }
          assert.notEqual(bad, s);
          assert.equal(
            parseError(() => decodeBase64url(bad)),
            'ERR_JWS_INVALID',
            JSON.stringify({ s, bad }),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
