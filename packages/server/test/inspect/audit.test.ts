// `tessera audit` against a real local Tessera and against deliberately bad local issuers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { main } from '../../src/cli/main.js';
import { fetchLimited, FetchRefused, isLoopbackHost } from '../../src/cli/audit/fetch-limited.js';
import { rsaModulusBits } from '../../src/cli/audit/jwks-checks.js';
import { startServer, type ServerHandle } from '../../src/server/start.js';
import { captureIO, tempDir, testConfig } from '../server/helpers.js';

type Handler = (req: IncomingMessage, res: ServerResponse, base: string) => void;
interface Local {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

/** A loopback HTTP server on `host` (127.0.0.1 or localhost: different hosts for redirect tests). */
async function serve(handler: Handler, host = '127.0.0.1'): Promise<Local> {
  const hits: string[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res, base);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://${host}:${(server.address() as { port: number }).port}`;
  return {
    url: base,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function rsaJWK(bits: number): Record<string, unknown> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { pub: publicKey.export({ format: 'jwk' }), priv: privateKey.export({ format: 'jwk' }) };
}
function ecJWK(): { pub: Record<string, unknown>; priv: Record<string, unknown> } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    pub: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
    priv: privateKey.export({ format: 'jwk' }) as Record<string, unknown>,
  };
}

interface AuditJSON {
  issuer: string;
  findings: { rule: string; severity: string; message: string }[];
  keys: { kid: string | null; kty: string | null; alg: string | null; use: string | null; bits?: number }[];
}

async function audit(args: string[]) {
  const io = captureIO();
  const code = await main(['audit', ...args], io);
  return { code, out: io.out(), err: io.err() };
}
async function auditJSON(url: string, extra: string[] = []) {
  const r = await audit([url, '--json', '--allow-http-loopback', ...extra]);
  return {
    ...r,
    json: JSON.parse(r.out) as AuditJSON,
    rules: (JSON.parse(r.out) as AuditJSON).findings.map((f) => f.rule),
  };
}

let tessera: ServerHandle;
const tmp = tempDir('tessera-audit-');
const servers: Local[] = [];

before(async () => {
  tessera = await startServer(testConfig(tmp.dir), { scheduleKeys: false });
});
after(async () => {
  await tessera?.close();
  for (const s of servers) await s.close();
  tmp.cleanup();
});

test('a local Tessera passes (loopback HTTP is only a warning with --allow-http-loopback)', async () => {
  const { code, json, rules } = await auditJSON(tessera.url);
  assert.equal(code, 0, JSON.stringify(json.findings));
  assert.equal(json.issuer, tessera.url);
  assert.deepEqual(Object.keys(json).sort(), ['findings', 'issuer', 'keys']);
  assert.ok(json.keys.length >= 1);
  for (const k of json.keys) {
    assert.equal(typeof k.kid, 'string');
    assert.equal(k.use, 'sig');
    assert.ok(k.alg);
  }
  assert.deepEqual(
    json.findings.filter((f) => f.severity === 'error'),
    [],
  );
  assert.ok(rules.includes('issuer-http-loopback'));
  for (const bad of [
    'key-kid-missing',
    'key-kid-duplicate',
    'key-private-material',
    'cache-control-missing',
    'key-rsa-weak',
  ]) {
    assert.ok(!rules.includes(bad), bad);
  }
  // The loopback warning fails a stricter gate; without the flag plain HTTP is an error.
  assert.equal((await audit([tessera.url, '--allow-http-loopback', '--fail-on', 'warning'])).code, 1);
  const strict = await audit([tessera.url, '--json']);
  assert.equal(strict.code, 1);
  assert.ok((JSON.parse(strict.out) as AuditJSON).findings.some((f) => f.rule === 'issuer-not-https'));
  assert.match((await audit([tessera.url, '--allow-http-loopback'])).out, /Keys: \d/);
});

test('a deliberately bad issuer: every problem is reported', async () => {
  const weak = rsaJWK(1024);
  const ec1 = ecJWK();
  const ec2 = ecJWK();
  const ec3 = ecJWK();
  const leaked = ecJWK();
  const bad = await serve((req, res, base) => {
    if (req.url === '/.well-known/openid-configuration') {
      return json(res, {
        issuer: base,
        jwks_uri: `${base}/jwks`,
        id_token_signing_alg_values_supported: ['RS256', 'HS256', 'none'],
      });
    }
    if (req.url === '/jwks') {
      // No Cache-Control at all.
      return json(res, {
        keys: [
          { ...(weak.pub as object), kid: 'weak', alg: 'RS256', use: 'sig' },
          { ...ec1.pub, alg: 'ES256', use: 'sig' }, // no kid
          { ...ec2.pub, kid: 'dup', alg: 'ES256', use: 'sig' },
          { ...ec3.pub, kid: 'dup', alg: 'ES256', use: 'sig' },
          { ...leaked.priv, kid: 'leaked', alg: 'ES256', use: 'sig' }, // serves "d"
          { ...ecJWK().pub, kid: 'confused', alg: 'RS256' }, // alg does not fit kty, no use
          { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256', use: 'sig' },
        ],
      });
    }
    res.writeHead(404).end();
  });
  servers.push(bad);
  const { code, json: out, rules } = await auditJSON(bad.url);
  assert.equal(code, 1);
  const expect: Record<string, RegExp> = {
    'key-rsa-weak': /kid "weak".*1024-bit/,
    'key-kid-missing': /key #2 has no "kid"/,
    'key-kid-duplicate': /"dup" appears 2 times/,
    'key-private-material': /kid "leaked".*\(d\)/,
    'alg-hmac-advertised': /HS256/,
    'alg-none-advertised': /"none"/,
    'cache-control-missing': /Cache-Control/,
    'key-alg-inconsistent': /kid "confused"/,
    'key-use-missing': /kid "confused"/,
    'key-symmetric': /kid "hmac"/,
  };
  for (const [rule, message] of Object.entries(expect)) {
    const f = out.findings.find((x) => x.rule === rule && message.test(x.message));
    assert.ok(f, `${rule} missing; got ${rules.join(', ')}`);
    assert.equal(
      f.severity,
      rule === 'cache-control-missing' || rule === 'key-use-missing' ? 'warning' : 'error',
    );
  }
  assert.equal(out.keys.length, 7);
  assert.equal(out.keys[0]!.bits, 1024);
  // Key material is never echoed.
  assert.ok(!JSON.stringify(out).includes(leaked.priv.d as string));
  assert.ok(!JSON.stringify(out).includes('c2VjcmV0'));
});

test('a redirect to another host is not followed', async () => {
  const other = await serve(
    (_req, res) => json(res, { keys: [] }, { 'cache-control': 'max-age=600' }),
    'localhost',
  );
  servers.push(other);
  const issuer = await serve((req, res, base) => {
    if (req.url === '/.well-known/openid-configuration') {
      return json(res, {
        issuer: base,
        jwks_uri: `${base}/jwks`,
        id_token_signing_alg_values_supported: ['ES256'],
      });
    }
    if (req.url === '/jwks') return void res.writeHead(302, { location: `${other.url}/jwks` }).end();
    res.writeHead(404).end();
  });
  servers.push(issuer);
  const { code, json: out } = await auditJSON(issuer.url);
  assert.equal(code, 1);
  const f = out.findings.find((x) => x.rule === 'redirect-cross-origin');
  assert.ok(f, JSON.stringify(out.findings));
  assert.equal(f.severity, 'error');
  assert.deepEqual(other.hits, [], 'the other host was never contacted');
});

test('same-origin redirects are followed; RFC 8414 fallback; issuer mismatch; Cache-Control no-store', async () => {
  const ec = ecJWK();
  const s = await serve((req, res, base) => {
    if (req.url === '/.well-known/oauth-authorization-server') {
      return json(res, { issuer: `${base}/elsewhere`, jwks_uri: `${base}/old-jwks` });
    }
    if (req.url === '/old-jwks') return void res.writeHead(301, { location: '/jwks' }).end();
    if (req.url === '/jwks')
      return json(
        res,
        { keys: [{ ...ec.pub, kid: 'a', alg: 'ES256', use: 'sig' }] },
        { 'cache-control': 'no-store' },
      );
    res.writeHead(404).end();
  });
  servers.push(s);
  const { code, rules, json: out } = await auditJSON(s.url);
  assert.equal(code, 1);
  assert.ok(s.hits.includes('/.well-known/openid-configuration'));
  assert.ok(s.hits.includes('/.well-known/oauth-authorization-server'));
  assert.ok(s.hits.includes('/jwks'), 'followed the same-origin redirect');
  assert.ok(rules.includes('issuer-mismatch'));
  assert.ok(rules.includes('cache-control-unsuitable'));
  assert.ok(rules.includes('jwks-single-key'));
  assert.ok(rules.includes('signing-algs-unadvertised'));
  assert.equal(out.keys.length, 1);
  assert.ok(!rules.includes('redirect-cross-origin'));
});

test('no discovery document, oversized and slow responses', async () => {
  const none = await serve((_req, res) => res.writeHead(404).end());
  servers.push(none);
  const missing = await auditJSON(none.url);
  assert.equal(missing.code, 1);
  assert.deepEqual(missing.rules, ['issuer-http-loopback', 'discovery-unavailable']);

  const huge = await serve((req, res, base) => {
    if (req.url === '/.well-known/openid-configuration')
      return json(res, { issuer: base, jwks_uri: `${base}/jwks` });
    // Chunked, no Content-Length: the limit must hold while reading.
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent < 64 && res.write(chunk)) sent++;
      if (sent < 64) res.once('drain', pump);
      else res.end();
    };
    pump();
  });
  servers.push(huge);
  const big = await auditJSON(huge.url);
  assert.equal(big.code, 1);
  const f = big.json.findings.find((x) => x.rule === 'jwks-unavailable');
  assert.ok(f && /larger than 524288 bytes/.test(f.message), JSON.stringify(big.json.findings));

  const slow = await serve(() => undefined); // never answers
  servers.push(slow);
  await assert.rejects(
    fetchLimited(new URL(`${slow.url}/x`), { timeoutMs: 200 }),
    (err: unknown) => err instanceof FetchRefused && err.reason === 'timeout',
  );
});

test('helpers: modulus bits, loopback hosts; usage errors exit 2', async () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  assert.equal(rsaModulusBits((publicKey.export({ format: 'jwk' }) as { n: string }).n), 2048);
  assert.equal(rsaModulusBits(Buffer.from([0, 1, 0]).toString('base64url')), 9);
  for (const h of ['127.0.0.1', '127.1.2.3', '[::1]', 'localhost', 'a.localhost'])
    assert.ok(isLoopbackHost(h), h);
  for (const h of ['10.0.0.1', 'example.com', '[::2]', 'localhost.example.com'])
    assert.ok(!isLoopbackHost(h), h);
  assert.equal((await audit([])).code, 2);
  assert.equal((await audit(['not a url'])).code, 2);
  assert.equal((await audit(['ftp://example.com'])).code, 2);
  assert.equal((await audit(['https://example.com', '--fail-on', 'nope'])).code, 2);
});
