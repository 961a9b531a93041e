/**
 * The proxy's parsers and rules on their own: return paths (a fast-check property: whatever the input, an
 * accepted path resolves on the proxy's origin), policies, sealed cookies, header hygiene, options.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { safeReturnPath } from '../../src/proxy/return-path.js';
import { evaluatePolicy, parsePolicy } from '../../src/proxy/policy.js';
import { createCookieSealer } from '../../src/proxy/cookie-crypto.js';
import { createCookieJar } from '../../src/proxy/session.js';
import { forwardHeaders, responseHeaders } from '../../src/proxy/forward-headers.js';
import { buildProxyOptions, isPublicPath, parseListen } from '../../src/proxy/options.js';
import { UsageError } from '../../src/cli/args.js';

const ORIGIN = 'https://app.example';

/** Where a browser would go for a Location header `path` served by the proxy at ORIGIN. */
function lands(path: string): string {
  return new URL(path, `${ORIGIN}/some/page`).origin;
}

describe('return paths (open redirect, CWE-601)', () => {
  it('keeps same-origin relative paths', () => {
    for (const p of ['/', '/orders', '/orders?id=1&x=%2F', '/a/b#frag', '/~user/'])
      assert.equal(safeReturnPath(p), p);
  });

  it('refuses every known escape', () => {
    for (const p of [
      '//evil.example',
      '///evil.example',
      '/\\evil.example',
      '/\\/evil.example',
      '\\\\evil.example',
      'https://evil.example',
      'javascript:alert(1)',
      'evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      '/%2f/evil.example',
      '/%5cevil.example',
      ' /x',
      '/x y',
      '/é',
      '',
      '/' + 'a'.repeat(3000),
    ])
      assert.equal(safeReturnPath(p), undefined, JSON.stringify(p));
  });

  it('property: whatever is accepted lands on the proxy origin, and is returned unchanged', () => {
    const pieces = fc.constantFrom(
      '/',
      '\\',
      '//',
      '/\\',
      '%2f',
      '%5c',
      ':',
      '@',
      '.',
      '..',
      '?',
      '#',
      '\t',
      '\n',
      ' ',
      'evil.example',
      'http:',
      'a',
    );
    const arb = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.array(pieces, { maxLength: 8 }).map((a) => a.join('')),
      fc.webUrl(),
      fc.webPath(),
    );
    fc.assert(
      fc.property(arb, (raw) => {
        const kept = safeReturnPath(raw);
        if (kept === undefined) return true;
        return kept === raw && lands(kept) === ORIGIN && !/^\/(\/|\\|%2f|%5c)/i.test(kept);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('policies', () => {
  const claims = (c: Record<string, unknown>) => ({ sub: 'u', ...c });

  it('no rule: any signed-in user', () => {
    assert.deepEqual(evaluatePolicy(parsePolicy({ emails: [], domains: [], claims: [] }), claims({})), {
      allowed: true,
    });
  });

  it('email rules: any may match; the address must be verified; domains match exactly', () => {
    const p = parsePolicy({ emails: ['Boss@Partner.example'], domains: ['example.com'], claims: [] });
    assert.equal(evaluatePolicy(p, claims({ email: 'a@example.com', email_verified: true })).allowed, true);
    assert.equal(
      evaluatePolicy(p, claims({ email: 'boss@partner.example', email_verified: true })).allowed,
      true,
    );
    assert.equal(evaluatePolicy(p, claims({ email: 'a@example.com', email_verified: false })).allowed, false);
    assert.equal(evaluatePolicy(p, claims({ email: 'a@example.com' })).allowed, false);
    for (const email of [
      'a@evil-example.com',
      'a@example.com.evil.net',
      'a@sub.example.com',
      'example.com@evil.net',
    ])
      assert.equal(evaluatePolicy(p, claims({ email, email_verified: true })).allowed, false, email);
    assert.equal(evaluatePolicy(p, claims({})).allowed, false);
  });

  it('claim rules: every one must hold, and they combine with the email rules by AND', () => {
    const p = parsePolicy({ emails: [], domains: ['example.com'], claims: ['tenant_id=acme', 'tier=1'] });
    const ok = { email: 'a@example.com', email_verified: true, tenant_id: 'acme', tier: 1 };
    assert.equal(evaluatePolicy(p, claims(ok)).allowed, true);
    assert.equal(evaluatePolicy(p, claims({ ...ok, tenant_id: 'other' })).allowed, false);
    assert.equal(evaluatePolicy(p, claims({ ...ok, tier: undefined })).allowed, false);
    assert.equal(evaluatePolicy(p, claims({ ...ok, email: 'a@other.example' })).allowed, false);
    assert.equal(evaluatePolicy(p, claims({ ...ok, tenant_id: ['beta', 'acme'] })).allowed, true);
    assert.equal(evaluatePolicy(p, claims({ ...ok, tenant_id: { acme: true } })).allowed, false);
  });

  it('refuses malformed rules', () => {
    assert.throws(() => parsePolicy({ emails: ['nobody'], domains: [], claims: [] }), UsageError);
    assert.throws(() => parsePolicy({ emails: [], domains: ['not a domain'], claims: [] }), UsageError);
    assert.throws(() => parsePolicy({ emails: [], domains: [], claims: ['=x'] }), UsageError);
  });
});

describe('sealed cookies', () => {
  it('round-trips, and refuses tampering, another cookie name and another secret', () => {
    const a = createCookieSealer('secret-one', 'tessera_proxy_session');
    const sealed = a.seal({ at: 'token', exp: 1 });
    assert.deepEqual(a.open(sealed), { at: 'token', exp: 1 });
    assert.ok(!sealed.includes('token'));
    const flipped = sealed.slice(0, 20) + (sealed[20] === 'A' ? 'B' : 'A') + sealed.slice(21);
    assert.equal(a.open(flipped), undefined);
    assert.equal(createCookieSealer('secret-one', 'tessera_proxy_signin').open(sealed), undefined);
    assert.equal(createCookieSealer('secret-two', 'tessera_proxy_session').open(sealed), undefined);
    assert.equal(a.open('not sealed'), undefined);
    assert.equal(a.open(''), undefined);
  });

  it('names the cookies __Host- and Secure on https, and ends sessions after 7 days', () => {
    const jar = createCookieJar(new URL('https://app.example'), 's');
    const now = Date.now();
    const set = jar.sessionCookie({ accessToken: 'a', expiresAt: now + 1000, createdAt: now }, now);
    assert.match(set, /^__Host-tessera_proxy_session=/);
    assert.match(set, /HttpOnly/);
    assert.match(set, /Secure/);
    assert.match(set, /SameSite=Lax/);
    assert.match(set, /Path=\//);
    const value = set.slice(set.indexOf('=') + 1, set.indexOf(';'));
    const header = `__Host-tessera_proxy_session=${value}`;
    assert.equal(jar.readSession(header, now)?.accessToken, 'a');
    assert.equal(jar.readSession(header, now + 7 * 24 * 3600_000), undefined);
    assert.doesNotMatch(
      createCookieJar(new URL('http://127.0.0.1:8080'), 's').sessionCookie(
        { accessToken: 'a', expiresAt: 1, createdAt: now },
        now,
      ),
      /Secure|__Host-/,
    );
  });

  it('drops the ID token rather than exceed one cookie', () => {
    const jar = createCookieJar(new URL('https://app.example'), 's');
    const now = Date.now();
    const set = jar.sessionCookie(
      {
        accessToken: 'a'.repeat(1500),
        idToken: 'i'.repeat(2500),
        refreshToken: 'r',
        expiresAt: now,
        createdAt: now,
      },
      now,
    );
    assert.ok(set.length < 4096, String(set.length));
    const value = set.slice(set.indexOf('=') + 1, set.indexOf(';'));
    const session = jar.readSession(`__Host-tessera_proxy_session=${value}`, now)!;
    assert.equal(session.idToken, undefined);
    assert.equal(session.refreshToken, 'r');
  });
});

describe('header hygiene', () => {
  const base = {
    token: 'T',
    assertionHeader: false,
    cookieNames: new Set(['tessera_proxy_session', 'tessera_proxy_signin']),
    clientIp: '10.0.0.1',
    proto: 'https',
    host: 'app.example',
  };

  it('strips what the client sent for identity and forwarding, then sets its own', () => {
    const out = forwardHeaders(
      {
        authorization: 'Bearer forged',
        'tessera-jwt-assertion': 'forged',
        'x-forwarded-for': '1.2.3.4',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'http',
        'x-forwarded-user': 'admin',
        forwarded: 'for=1.2.3.4',
        'x-real-ip': '1.2.3.4',
        cookie: 'tessera_proxy_session=sealed; theme=dark; tessera_proxy_signin=x',
        'proxy-authorization': 'Basic x',
        connection: 'keep-alive, x-custom',
        'x-custom': 'drop me',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        accept: 'text/html',
      },
      base,
    );
    assert.deepEqual(out, {
      accept: 'text/html',
      cookie: 'theme=dark',
      te: 'trailers',
      'x-forwarded-for': '10.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example',
      authorization: 'Bearer T',
    });
  });

  it('with the assertion header, the client Authorization passes untouched and the assertion is ours', () => {
    const out = forwardHeaders(
      {
        authorization: 'Basic YXBwOnB3',
        'tessera-jwt-assertion': 'forged',
        cookie: 'tessera_proxy_session=x',
      },
      { ...base, assertionHeader: true },
    );
    assert.equal(out['authorization'], 'Basic YXBwOnB3');
    assert.equal(out['tessera-jwt-assertion'], 'T');
    assert.equal(out['cookie'], undefined);
  });

  it('a public path forwards no identity at all', () => {
    const out = forwardHeaders(
      { authorization: 'Bearer forged', 'tessera-jwt-assertion': 'forged' },
      { ...base, token: undefined },
    );
    assert.equal(out['authorization'], undefined);
    assert.equal(out['tessera-jwt-assertion'], undefined);
  });

  it('responses lose hop-by-hop fields and any Set-Cookie for the proxy cookies', () => {
    const out = responseHeaders(
      {
        connection: 'close, x-secret',
        'x-secret': '1',
        'keep-alive': 'x',
        'transfer-encoding': 'chunked',
        'set-cookie': ['tessera_proxy_session=planted; Path=/', 'theme=dark'],
        'content-type': 'text/plain',
      },
      base.cookieNames,
    );
    assert.deepEqual(out, { 'set-cookie': ['theme=dark'], 'content-type': 'text/plain' });
  });
});

describe('options', () => {
  const ok = { upstream: 'http://127.0.0.1:3000', issuer: 'http://127.0.0.1:7070', 'client-id': 'gate' };

  it('defaults: listen 127.0.0.1:8080, audience = client id, scope openid email', () => {
    const o = buildProxyOptions(ok, 's');
    assert.deepEqual(o.listen, { host: '127.0.0.1', port: 8080 });
    assert.equal(o.audience, 'gate');
    assert.equal(o.scope, 'openid email');
    assert.equal(o.upstreamTimeoutMs, 30_000);
  });

  it('refuses what would be unsafe or ambiguous', () => {
    const bad: Record<string, string>[] = [
      { ...ok, issuer: 'http://idp.example' },
      { ...ok, upstream: 'http://127.0.0.1:3000/app' },
      { ...ok, upstream: 'ftp://x' },
      { ...ok, 'public-url': 'http://app.example' },
      { ...ok, listen: '0.0.0.0:8080' },
      { ...ok, listen: 'nope' },
      { ...ok, scope: 'email' },
      { ...ok, 'upstream-timeout': '30' },
      { ...ok, 'public-path': '/.tessera/callback' },
      { ...ok, 'public-path': '/a/../b' },
    ];
    for (const values of bad)
      assert.throws(() => buildProxyOptions(values, 's'), UsageError, JSON.stringify(values));
    assert.throws(() => buildProxyOptions(ok, ''), UsageError);
    assert.deepEqual(parseListen('[::1]:9000'), { host: '::1', port: 9000 });
  });

  it('public paths match whole segments, never confusable paths', () => {
    assert.equal(isPublicPath('/healthz', ['/healthz']), true);
    assert.equal(isPublicPath('/healthz/deep', ['/healthz']), true);
    assert.equal(isPublicPath('/healthzz', ['/healthz']), false);
    assert.equal(isPublicPath('/static/app.css', ['/static/']), true);
    for (const p of [
      '/healthz/../admin',
      '/healthz/%2e%2e/admin',
      '/healthz%2F..%2Fadmin',
      '/healthz\\..\\admin',
    ])
      assert.equal(isPublicPath(p, ['/healthz']), false, p);
  });
});
