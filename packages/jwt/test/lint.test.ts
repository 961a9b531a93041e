// Every lint rule on crafted tokens, firing and not firing, with a fixed clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RULES,
  describeTimes,
  decodeUnverified,
  findSensitiveData,
  hasFindingAtOrAbove,
  lintToken,
  passesLuhn,
  type Finding,
} from '../src/lint/index.js';

const NOW = 1_700_000_000;
const GOOD_HEADER = { alg: 'ES256', kid: 'k1', typ: 'at+jwt' };
const GOOD_PAYLOAD = {
  iss: 'https://auth.example.com',
  sub: 'user-1',
  aud: 'orders-api',
  iat: NOW - 60,
  exp: NOW + 540,
  jti: 'c1b2',
  scope: 'orders:read',
};

function lint(
  header: Record<string, unknown> = {},
  payload: Record<string, unknown> = {},
  opts: { size?: number; audienceCount?: number; drop?: string[]; dropHeader?: string[] } = {},
): Finding[] {
  const h: Record<string, unknown> = { ...GOOD_HEADER, ...header };
  const p: Record<string, unknown> = { ...GOOD_PAYLOAD, ...payload };
  for (const k of opts.drop ?? []) delete p[k];
  for (const k of opts.dropHeader ?? []) delete h[k];
  return lintToken({
    header: h,
    payload: p,
    size: opts.size ?? 400,
    now: NOW,
    ...(opts.audienceCount !== undefined && { audienceCount: opts.audienceCount }),
  });
}
const ids = (findings: Finding[]) => findings.map((f) => f.rule);

function assertFires(rule: string, findings: Finding[]): Finding {
  const f = findings.find((x) => x.rule === rule);
  assert.ok(f, `${rule} should fire; got ${ids(findings).join(', ') || 'nothing'}`);
  return f;
}
function assertQuiet(rule: string, findings: Finding[]): void {
  assert.ok(!ids(findings).includes(rule), `${rule} should not fire`);
}

test('a well-made access token has no findings', () => {
  assert.deepEqual(lint(), []);
});

test('every rule has a unique id, a severity and is covered below', () => {
  const seen = new Set<string>();
  for (const r of RULES) {
    assert.match(r.id, /^[a-z]+(-[a-z0-9]+)*$/);
    assert.ok(['error', 'warning', 'info'].includes(r.severity));
    assert.ok(!seen.has(r.id), `duplicate rule ${r.id}`);
    seen.add(r.id);
  }
  for (const required of [
    'alg-none',
    'alg-hmac-shared',
    'kid-missing',
    'size-large',
    'size-too-large',
    'lifetime-long',
    'lifetime-excessive',
    'exp-missing',
    'iss-missing',
    'aud-missing',
    'sub-missing',
    'iat-missing',
    'jti-missing',
    'nbf-future',
    'iat-future',
    'authz-data-bloat',
    'sensitive-claim-name',
    'sensitive-claim-value',
    'typ-missing',
  ]) {
    assert.ok(seen.has(required), `missing rule ${required}`);
  }
});

test('alg-none: "none" in any case, or no alg', () => {
  assert.equal(assertFires('alg-none', lint({ alg: 'none' })).severity, 'error');
  assertFires('alg-none', lint({ alg: 'NoNe' }));
  assertFires('alg-none', lint({}, {}, { dropHeader: ['alg'] }));
  assertQuiet('alg-none', lint({ alg: 'ES256' }));
});

test('alg-hmac-shared: HMAC for several audiences; alg-hmac otherwise', () => {
  const shared = assertFires(
    'alg-hmac-shared',
    lint({ alg: 'HS256' }, { aud: ['orders-api', 'billing-api'] }),
  );
  assert.equal(shared.severity, 'error');
  assertFires('alg-hmac-shared', lint({ alg: 'HS512' }, {}, { audienceCount: 3 }));
  assertQuiet('alg-hmac-shared', lint({ alg: 'HS256' }));
  assertQuiet('alg-hmac-shared', lint({ alg: 'ES256' }, { aud: ['a', 'b'] }));
  assert.equal(assertFires('alg-hmac', lint({ alg: 'HS256' })).severity, 'info');
  assertQuiet('alg-hmac', lint({ alg: 'HS256' }, { aud: ['a', 'b'] }));
  assertQuiet('alg-hmac', lint({ alg: 'RS256' }));
});

test('header-key-reference: jku, jwk, x5u, x5c', () => {
  assertFires('header-key-reference', lint({ jku: 'https://evil.example/jwks' }));
  assertFires('header-key-reference', lint({ jwk: { kty: 'EC' } }));
  assertQuiet('header-key-reference', lint());
});

test('kid-missing', () => {
  assert.equal(assertFires('kid-missing', lint({}, {}, { dropHeader: ['kid'] })).severity, 'warning');
  assertFires('kid-missing', lint({ kid: '' }));
  assertQuiet('kid-missing', lint({ kid: 'k1' }));
});

test('typ-missing: only on access tokens (scope, scp or client_id)', () => {
  assertFires('typ-missing', lint({}, {}, { dropHeader: ['typ'] }));
  assertFires('typ-missing', lint({}, { client_id: 'c' }, { dropHeader: ['typ'], drop: ['scope'] }));
  assertQuiet('typ-missing', lint({}, {}, { dropHeader: ['typ'], drop: ['scope'] }));
  assertQuiet('typ-missing', lint({ typ: 'at+jwt' }));
  // Or when the caller says the token is meant as an access token.
  const bare = { ...GOOD_PAYLOAD, scope: undefined };
  const meant = lintToken({
    header: { alg: 'ES256', kid: 'k' },
    payload: bare,
    size: 300,
    now: NOW,
    accessToken: true,
  });
  assertFires('typ-missing', meant);
});

test('size-large above 1 KiB, size-too-large above 4 KiB, never both', () => {
  assertQuiet('size-large', lint({}, {}, { size: 1024 }));
  const warn = lint({}, {}, { size: 1025 });
  assert.equal(assertFires('size-large', warn).severity, 'warning');
  assertQuiet('size-too-large', warn);
  assertFires('size-large', lint({}, {}, { size: 4096 }));
  const err = lint({}, {}, { size: 4097 });
  assert.equal(assertFires('size-too-large', err).severity, 'error');
  assertQuiet('size-large', err);
  assert.match(assertFires('size-too-large', err).message, /4097 bytes/);
});

test('lifetime-long above 15 min, lifetime-excessive above 24 h', () => {
  assertQuiet('lifetime-long', lint({}, { iat: NOW, exp: NOW + 900 }));
  const long = lint({}, { iat: NOW, exp: NOW + 901 });
  assert.equal(assertFires('lifetime-long', long).severity, 'warning');
  assertQuiet('lifetime-excessive', long);
  assertFires('lifetime-long', lint({}, { iat: NOW, exp: NOW + 86400 }));
  const excessive = lint({}, { iat: NOW, exp: NOW + 86401 });
  assert.equal(assertFires('lifetime-excessive', excessive).severity, 'error');
  assertQuiet('lifetime-long', excessive);
  // Without iat, nbf starts the lifetime.
  assertFires('lifetime-long', lint({}, { nbf: NOW, exp: NOW + 3600 }, { drop: ['iat'] }));
});

test('exp-missing', () => {
  assert.equal(assertFires('exp-missing', lint({}, {}, { drop: ['exp'] })).severity, 'error');
  assertQuiet('exp-missing', lint());
});

test('iss-, aud-, sub-, iat-, jti-missing', () => {
  for (const claim of ['iss', 'aud', 'sub', 'iat', 'jti']) {
    const f = assertFires(`${claim}-missing`, lint({}, {}, { drop: [claim] }));
    assert.match(f.message, new RegExp(`"${claim}"`));
    assertQuiet(`${claim}-missing`, lint());
  }
  assert.equal(assertFires('aud-missing', lint({}, {}, { drop: ['aud'] })).severity, 'warning');
  assert.equal(assertFires('jti-missing', lint({}, {}, { drop: ['jti'] })).severity, 'info');
});

test('nbf-future and iat-future beyond 60 s of skew', () => {
  assertFires('nbf-future', lint({}, { nbf: NOW + 300 }));
  assertQuiet('nbf-future', lint({}, { nbf: NOW + 30 }));
  assertQuiet('nbf-future', lint({}, { nbf: NOW - 60 }));
  assertFires('iat-future', lint({}, { iat: NOW + 300, exp: NOW + 900 }));
  assertQuiet('iat-future', lint({}, { iat: NOW + 30 }));
});

test('exp-past', () => {
  assert.equal(assertFires('exp-past', lint({}, { iat: NOW - 900, exp: NOW - 10 })).severity, 'info');
  assertQuiet('exp-past', lint());
});

test('claim-type-invalid', () => {
  assertFires('claim-type-invalid', lint({}, { exp: '1700000600' }));
  assertFires('claim-type-invalid', lint({}, { aud: ['a', 1] }));
  assertFires('claim-type-invalid', lint({}, { sub: 42 }));
  assertQuiet('claim-type-invalid', lint({}, { aud: ['a', 'b'] }));
});

test('authz-data-bloat: large roles, permissions, groups, scope and nested realm roles', () => {
  const many = Array.from({ length: 11 }, (_, i) => `perm:${i}`);
  const ten = many.slice(0, 10);
  assert.match(assertFires('authz-data-bloat', lint({}, { permissions: many })).message, /permissions/);
  assertFires('authz-data-bloat', lint({}, { roles: many }));
  assertFires('authz-data-bloat', lint({}, { groups: many }));
  assertFires(
    'authz-data-bloat',
    lint({}, { scope: Array.from({ length: 21 }, (_, i) => `s${i}`).join(' ') }),
  );
  assert.match(
    assertFires('authz-data-bloat', lint({}, { realm_access: { roles: many } })).message,
    /realm_access\.roles/,
  );
  assertFires('authz-data-bloat', lint({}, { resource_access: { app: { roles: many } } }));
  assertQuiet('authz-data-bloat', lint({}, { roles: ten, permissions: ten }));
  assertQuiet('authz-data-bloat', lint({}, { tags: many }));
});

test('sensitive-claim-name: password, secret, ssn … by name, value never echoed', () => {
  const f = assertFires(
    'sensitive-claim-name',
    lint({}, { password: 'hunter2', profile: { client_secret: 'abc' } }),
  );
  assert.equal(f.severity, 'error');
  assert.match(f.message, /password/);
  assert.match(f.message, /profile\.client_secret/);
  assert.doesNotMatch(f.message, /hunter2/);
  assertFires('sensitive-claim-name', lint({}, { ssn: 'x' }));
  assertFires('sensitive-claim-name', lint({}, { 'API-Key': 'x' }));
  assertQuiet(
    'sensitive-claim-name',
    lint({}, { email: 'a@example.com', name: 'Ada', passport_country: 'FR' }),
  );
  assertQuiet('sensitive-claim-name', lint({}, { password: null }));
});

test('sensitive-claim-value: cards (Luhn), national ids, private keys, API keys, tokens', () => {
  const cases: [string, unknown, string][] = [
    ['card', '4111 1111 1111 1111', 'card-number'],
    ['card', 5555555555554444, 'card-number'],
    ['note', 'ssn is 123-45-6789', 'national-id'],
    ['ref', 'AB 12 34 56 C', 'national-id'],
    ['key', '-----BEGIN PRIVATE KEY-----\nMIIE...', 'private-key'],
    ['jwk', { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }, 'private-key'],
    ['stripe', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'api-key'],
    ['aws', 'AKIAIOSFODNN7EXAMPLE', 'api-key'],
    ['gh', 'ghp_' + 'a'.repeat(36), 'api-key'],
    ['upstream', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl', 'token'],
  ];
  for (const [claim, value, kind] of cases) {
    const f = assertFires('sensitive-claim-value', lint({}, { [claim]: value }));
    assert.ok(f.message.includes(`${claim}: ${kind}`), `${claim} → ${kind}: ${f.message}`);
    if (typeof value === 'string') assert.ok(!f.message.includes(value), 'the value is never echoed');
  }
  // Look-alikes that must stay quiet.
  for (const value of [
    '4111 1111 1111 1112', // fails Luhn
    1_700_000_000_000, // a millisecond timestamp
    '000-12-3456', // impossible SSN area
    'user-123-45-6789x',
    'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
    '550e8400-e29b-41d4-a716-446655440000',
    'https://example.com/a.b.c',
  ]) {
    assertQuiet('sensitive-claim-value', lint({}, { v: value }));
  }
  assertQuiet('sensitive-claim-value', lint());
});

test('findSensitiveData: nested paths in document order, bounded walk, no values', () => {
  const found = findSensitiveData({
    a: [1, { b: '4242424242424242' }],
    password: 'x',
    'odd key': { token: 'eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.sig' },
  });
  assert.deepEqual(found, [
    { path: 'a[1].b', kind: 'card-number' },
    { path: 'password', kind: 'sensitive-name' },
    { path: '["odd key"].token', kind: 'token' },
  ]);
  // A very deep or very wide payload finishes quickly.
  let deep: Record<string, unknown> = { card: '4111111111111111' };
  for (let i = 0; i < 10_000; i++) deep = { n: deep };
  assert.deepEqual(findSensitiveData(deep), []);
  const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 'x']));
  const t0 = performance.now();
  findSensitiveData(wide);
  assert.ok(performance.now() - t0 < 2000);
  // Embedded tokens: found at word starts, in linear time even on adversarial input.
  for (const v of ['Bearer eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.sig', 'x-eyJhbGci.a.b', 'aeyJ-eyJhbGci.a.b']) {
    assert.deepEqual(findSensitiveData({ v }), [{ path: 'v', kind: 'token' }], v);
  }
  for (const v of ['aeyJhbGciOiJFUzI1NiJ9.eyJ.s', 'eyJhbGciOiJFUzI1NiJ9.only', 'eyJ.a.b']) {
    assert.deepEqual(findSensitiveData({ v }), [], v);
  }
  const t1 = performance.now();
  findSensitiveData({
    a: '-eyJ'.repeat(2048),
    b: 'aeyJ'.repeat(2048),
    c: '2 '.repeat(4096),
    d: 'xoxb-'.repeat(1600),
  });
  assert.ok(performance.now() - t1 < 1000);
  assert.ok(passesLuhn('79927398713'));
  assert.ok(!passesLuhn('79927398710'));
});

test('describeTimes gives human strings', () => {
  assert.deepEqual(describeTimes({ iat: NOW - 180, exp: NOW + 720 }, NOW), {
    issued: 'issued 3 min ago',
    expires: 'expires in 12 min',
    lifetime: 'lifetime 15 min',
  });
  assert.deepEqual(describeTimes({ nbf: NOW + 300, exp: NOW - 7200 + 86400 * 3 }, NOW), {
    notBefore: 'becomes valid in 5 min',
    expires: 'expires in 3 days',
    lifetime: 'lifetime 3 days',
  });
  assert.deepEqual(describeTimes({ exp: NOW - 3 * 3600 }, NOW), { expires: 'expired 3 h ago' });
  assert.deepEqual(describeTimes({ nbf: NOW - 60 }, NOW), { notBefore: 'became valid 60 s ago' });
  assert.deepEqual(describeTimes({}, NOW), {});
});

test('hasFindingAtOrAbove orders error > warning > info', () => {
  const warn: Finding[] = [{ rule: 'kid-missing', severity: 'warning', message: '' }];
  assert.equal(hasFindingAtOrAbove(warn, 'error'), false);
  assert.equal(hasFindingAtOrAbove(warn, 'warning'), true);
  assert.equal(hasFindingAtOrAbove(warn, 'info'), true);
  assert.equal(hasFindingAtOrAbove([], 'info'), false);
});

test('decodeUnverified (the browser decoder) is strict', () => {
  const h = Buffer.from(JSON.stringify(GOOD_HEADER)).toString('base64url');
  const p = Buffer.from(JSON.stringify(GOOD_PAYLOAD)).toString('base64url');
  const d = decodeUnverified(`${h}.${p}.AAEC`);
  assert.deepEqual(d.header, GOOD_HEADER);
  assert.deepEqual(d.payload, GOOD_PAYLOAD);
  assert.deepEqual([...d.signature], [0, 1, 2]);
  assert.equal(d.size, h.length + p.length + 6);
  assert.throws(() => decodeUnverified(`${h}.${p}`), /three/);
  assert.throws(() => decodeUnverified(`${h}=.${p}.AA`), /base64url/);
  assert.throws(() => decodeUnverified(`${h}.${p}.AB`), /canonical/); // non-zero trailing bits
  const arr = Buffer.from('[1]').toString('base64url');
  assert.throws(() => decodeUnverified(`${h}.${arr}.AA`), /JSON object/);
});

test('the lint module is browser-safe: no node: imports, no Buffer', async () => {
  const { readFile, readdir } = await import('node:fs/promises');
  const dir = new URL('../src/lint/', import.meta.url);
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.js'))) {
    // Comments may mention Buffer (docs, examples); code may not.
    const text = (await readFile(new URL(file, dir), 'utf8'))
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    assert.doesNotMatch(text, /from ['"]node:|require\(|\bBuffer\b|process\./, file);
    for (const m of text.matchAll(/from ['"]([^'"]+)['"]/g))
      assert.match(m[1]!, /^\.\/[a-z-]+\.js$/, `${file}: ${m[1]}`);
  }
});

test('docs/inspect.md documents every rule with its severity, and no rule that does not exist', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../../../docs/inspect.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Token lint rules'), doc.indexOf('## `tessera audit'));
  const documented = new Map(
    [...section.matchAll(/^\|\s*`([a-z0-9-]+)`\s*\|\s*(error|warning|info)\s*\|/gm)].map((m) => [
      m[1]!,
      m[2]!,
    ]),
  );
  for (const r of RULES) assert.equal(documented.get(r.id), r.severity, `docs/inspect.md: ${r.id}`);
  for (const id of documented.keys())
    assert.ok(
      RULES.some((r) => r.id === id),
      `documented but unknown: ${id}`,
    );
});
