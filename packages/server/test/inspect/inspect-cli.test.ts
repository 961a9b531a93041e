// `tessera inspect`: JSON shape, exit codes, --fail-on, stdin, verification with --jwks FILE and URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createSigner, exportJWK, generateKeyPair, type JWTPayload, type Signer } from '@tessera/jwt';
import { main } from '../../src/cli/main.js';
import { captureIO, tempDir } from '../server/helpers.js';

const NOW = 1_700_000_000;
const ISS = 'https://auth.example.com';
let signer: Signer;
let jwksFile: string;
let jwksServer: Server;
let jwksURL: string;
const tmp = tempDir('tessera-inspect-');

before(async () => {
  const { privateKey, publicKey } = generateKeyPair('ES256');
  signer = createSigner({ key: privateKey, alg: 'ES256', clock: () => NOW * 1000 });
  const body = JSON.stringify({ keys: [exportJWK(publicKey)] });
  jwksFile = join(tmp.dir, 'jwks.json');
  writeFileSync(jwksFile, body);
  jwksServer = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(body),
  );
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const addr = jwksServer.address() as { port: number };
  jwksURL = `http://127.0.0.1:${addr.port}/jwks.json`;
});

after(async () => {
  await new Promise((r) => jwksServer.close(r));
  tmp.cleanup();
});

function token(
  claims: Partial<JWTPayload> = {},
  header: Record<string, unknown> = { typ: 'at+jwt' },
): string {
  return signer.sign(
    {
      iss: ISS,
      sub: 'user-1',
      aud: 'orders-api',
      exp: NOW + 600,
      jti: 'j1',
      scope: 'orders:read',
      ...claims,
    },
    { header },
  );
}

async function inspect(args: string[], stdin?: string) {
  const io = captureIO();
  if (stdin !== undefined) io.stdin = Readable.from([stdin]);
  const code = await main(['inspect', ...args, '--now', String(NOW + 60)], io);
  return { code, out: io.out(), err: io.err() };
}

async function inspectJSON(args: string[], stdin?: string) {
  const r = await inspect([...args, '--json'], stdin);
  return { ...r, json: JSON.parse(r.out) as Record<string, unknown> };
}

test('--json has the documented shape; a clean token exits 0', async () => {
  const t = token();
  const { code, json } = await inspectJSON([t]);
  assert.equal(code, 0);
  for (const key of ['header', 'payload', 'verified', 'findings']) assert.ok(key in json, `missing "${key}"`);
  assert.deepEqual(json.header, { alg: 'ES256', kid: signer.kid, typ: 'at+jwt' });
  assert.equal((json.payload as JWTPayload).sub, 'user-1');
  assert.equal(json.verified, null, 'not asked to verify');
  assert.deepEqual(json.findings, []);
  assert.equal(json.size, Buffer.byteLength(t));
  assert.deepEqual(json.times, {
    issued: 'issued 60 s ago',
    expires: 'expires in 9 min',
    lifetime: 'lifetime 10 min',
  });
});

test('findings carry rule, severity and message; an error-level finding exits 1', async () => {
  const { code, json } = await inspectJSON([token({ exp: undefined, password: 'hunter2' })]);
  assert.equal(code, 1);
  const findings = json.findings as { rule: string; severity: string; message: string }[];
  for (const f of findings) {
    assert.deepEqual(Object.keys(f).sort(), ['message', 'rule', 'severity']);
    assert.ok(['error', 'warning', 'info'].includes(f.severity));
  }
  const rules = findings.map((f) => f.rule);
  assert.ok(rules.includes('exp-missing'));
  assert.ok(rules.includes('sensitive-claim-name'));
  assert.ok(!JSON.stringify(findings).includes('hunter2'), 'findings never repeat a secret');
});

test('--fail-on moves the gate: warning and info', async () => {
  const warnOnly = token({ exp: NOW + 3600 }); // lifetime-long (warning)
  assert.equal((await inspect([warnOnly])).code, 0);
  assert.equal((await inspect([warnOnly, '--fail-on', 'error'])).code, 0);
  assert.equal((await inspect([warnOnly, '--fail-on', 'warning'])).code, 1);
  const infoOnly = token({ jti: undefined }); // jti-missing (info)
  assert.equal((await inspect([infoOnly, '--fail-on', 'warning'])).code, 0);
  assert.equal((await inspect([infoOnly, '--fail-on', 'info'])).code, 1);
});

test('reads the token from standard input with -', async () => {
  const t = token();
  const { code, json } = await inspectJSON(['-'], `${t}\n`);
  assert.equal(code, 0);
  assert.equal((json.payload as JWTPayload).jti, 'j1');
});

test('human output marks the parts UNVERIFIED and shows times and size', async () => {
  const t = token();
  const { code, out } = await inspect([t]);
  assert.equal(code, 0);
  assert.match(out, /Header \(UNVERIFIED\)/);
  assert.match(out, /Payload \(UNVERIFIED\)/);
  assert.match(out, /issued 60 s ago, expires in 9 min, lifetime 10 min/);
  assert.match(out, new RegExp(`Size: ${Buffer.byteLength(t)} bytes`));
  assert.match(out, /Signature: not checked/);
});

test('human output shows the decoded header and payload as lines; control characters in strings stay escaped', async () => {
  // A hostile token: an escape sequence, a CR and a C1 control inside claim strings (CWE-150).
  const t = token({ sub: 'evil\u001b[2Jname', note: 'a\rb\u009bc' } as Partial<JWTPayload>);
  const { code, out } = await inspect([t]);
  assert.equal(code, 0);
  const lines = out.split('\n');
  const at = lines.indexOf('Payload (UNVERIFIED):');
  assert.ok(at >= 0, out);
  assert.equal(lines[at + 1], '{');
  assert.ok(lines.includes('  "iss": "https://auth.example.com",'), out);
  assert.ok(lines.includes('  "typ": "at+jwt"'), out);
  assert.ok(!out.includes('?  "'), 'no line break printed as "?"');
  // JSON escapes the C0 controls; the C1 one JSON leaves raw is still replaced.
  assert.ok(lines.includes('  "sub": "evil\\u001b[2Jname",'), out);
  assert.ok(
    lines.some((l) => l.startsWith('  "note": "a\\rb?c"')),
    out,
  );
  assert.ok(
    // eslint-disable-next-line no-control-regex
    !/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(out),
    'no raw control character reaches the terminal',
  );
});

test('verifies with --jwks FILE: ok, wrong audience, tampered, algorithm not allowed', async () => {
  const t = token();
  const base = ['--jwks', jwksFile, '--iss', ISS];
  const ok = await inspectJSON([t, ...base, '--aud', 'orders-api']);
  assert.equal(ok.code, 0);
  assert.equal(ok.json.verified, true);
  assert.match((await inspect([t, ...base, '--aud', 'orders-api'])).out, /Payload \(verified\)/);

  const wrongAud = await inspectJSON([t, ...base, '--aud', 'billing-api']);
  assert.equal(wrongAud.code, 1);
  assert.equal(wrongAud.json.verified, false);
  const failure = (wrongAud.json.findings as { rule: string; message: string }[])[0]!;
  assert.equal(failure.rule, 'verification-failed');
  assert.match(failure.message, /ERR_JWT_CLAIM_INVALID/);

  const [h, p, s] = t.split('.');
  const forged = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'admin' }),
  );
  const tampered = await inspectJSON([
    `${h}.${forged.toString('base64url')}.${s}`,
    ...base,
    '--aud',
    'orders-api',
  ]);
  assert.equal(tampered.code, 1);
  assert.equal(tampered.json.verified, false);
  assert.match(JSON.stringify(tampered.json.findings), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  assert.match(
    (await inspect([`${h}.${forged.toString('base64url')}.${s}`, ...base, '--aud', 'orders-api'])).out,
    /Payload \(UNVERIFIED\)/,
  );

  const notAllowed = await inspectJSON([t, ...base, '--aud', 'orders-api', '--alg', 'ES384']);
  assert.equal(notAllowed.code, 1);
  assert.equal(notAllowed.json.verified, false);
});

test('verifies with --jwks URL, and a verification failure wins over --fail-on', async () => {
  const t = token();
  const ok = await inspectJSON([t, '--jwks', jwksURL, '--iss', ISS, '--aud', 'orders-api']);
  assert.equal(ok.code, 0);
  assert.equal(ok.json.verified, true);
  const expired = token({ exp: NOW - 1, iat: NOW - 600 });
  const r = await inspectJSON([expired, '--jwks', jwksURL, '--iss', ISS, '--aud', 'orders-api']);
  assert.equal(r.code, 1);
  assert.match(JSON.stringify(r.json.findings), /ERR_JWT_EXPIRED/);
});

test('alg none and a malformed token fail', async () => {
  const none = Buffer.from('{"alg":"none"}').toString('base64url');
  const body = Buffer.from(JSON.stringify({ sub: 'x', exp: NOW + 60 })).toString('base64url');
  const r = await inspectJSON([`${none}.${body}.`]);
  assert.equal(r.code, 1);
  assert.ok((r.json.findings as { rule: string }[]).some((f) => f.rule === 'alg-none'));
  const bad = await inspectJSON(['not-a-token']);
  assert.equal(bad.code, 1);
  assert.equal(bad.json.header, null);
  assert.deepEqual(
    (bad.json.findings as { rule: string }[]).map((f) => f.rule),
    ['token-malformed'],
  );
});

test('usage errors exit 2', async () => {
  const t = token();
  assert.equal((await inspect([])).code, 2);
  assert.equal((await inspect([t, t])).code, 2);
  assert.equal((await inspect([t, '--fail-on', 'fatal'])).code, 2);
  assert.equal((await inspect([t, '--jwks', jwksFile])).code, 2, '--jwks needs --iss and --aud');
  assert.equal((await inspect([t, '--iss', ISS])).code, 2, '--iss needs --jwks');
  assert.equal((await inspect([t, '--jwks', jwksFile, '--iss', ISS, '--aud', 'a', '--alg', 'none'])).code, 2);
  assert.equal((await inspect([t, '--bogus'])).code, 2);
  const help = captureIO();
  assert.equal(await main(['inspect', '--help'], help), 0);
  assert.match(help.out(), /--fail-on/);
});
