/**
 * Property: random authorization requests (mutated, duplicated and invented parameters, random redirect
 * URIs, with or without a session, GET or POST) and random logout form posts never get a 5xx, and never
 * produce a Location to anything but a registered redirect URI, /signin or /consent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Harness } from '../oauth/harness.js';
import { addCodeClient, createUser, pkce, signIn, startOidcHarness, type Browser } from './helpers.js';

const REDIRECTS = ['https://web.example/callback', 'https://web.example/cb?x=1', 'http://127.0.0.1/loop'];
const POST_LOGOUT = ['https://web.example/signed-out'];

/** True when `location` goes to a registered redirect URI (loopback: any port) or one of our pages. */
function allowedLocation(location: string): boolean {
  if (/^\/(signin|consent)\?interaction=[A-Za-z0-9_-]{43}$/.test(location)) return true;
  if (/^http:\/\/127\.0\.0\.1(:\d{1,5})?\/loop\?/.test(location)) return true;
  return REDIRECTS.some((uri) => location.startsWith(`${uri}${uri.includes('?') ? '&' : '?'}`));
}

describe('authorization endpoint property', () => {
  let h: Harness;
  let browser: Browser;
  const { challenge } = pkce();

  before(async () => {
    h = await startOidcHarness();
    await addCodeClient(h, 'web', { redirectUris: REDIRECTS, postLogoutRedirectUris: POST_LOGOUT });
    await addCodeClient(h, 'third', { redirectUris: REDIRECTS, firstParty: false, scope: ['read'] });
    await addCodeClient(h, 'par-only', { redirectUris: REDIRECTS, requirePar: true });
    browser = await signIn(h, await createUser(h));
  });
  after(() => h.close());

  const text = fc.string({ maxLength: 40 });
  const value = (good: string[]) => fc.oneof(fc.constantFrom(...good), text, fc.constant(''));
  const param = fc.oneof(
    fc.tuple(fc.constant('response_type'), value(['code', 'token', 'code id_token'])),
    fc.tuple(fc.constant('client_id'), value(['web', 'third', 'par-only', 'nobody'])),
    fc.tuple(
      fc.constant('redirect_uri'),
      value([
        ...REDIRECTS,
        'http://127.0.0.1:8080/loop',
        'http://127.0.0.1:99999/loop',
        'http://localhost/loop',
        'https://evil.example/callback',
        'https://web.example/callback/../x',
        'javascript:alert(1)',
        'https://web.example/callback#x',
      ]),
    ),
    fc.tuple(
      fc.constant('scope'),
      value(['openid', 'openid profile email', 'read', 'admin', 'openid offline_access']),
    ),
    fc.tuple(fc.constant('state'), fc.oneof(text, fc.constant('x'.repeat(600)))),
    fc.tuple(fc.constant('nonce'), text),
    fc.tuple(fc.constant('code_challenge'), value([challenge, 'short'])),
    fc.tuple(fc.constant('code_challenge_method'), value(['S256', 'plain', 's256'])),
    fc.tuple(fc.constant('prompt'), value(['none', 'login', 'consent', 'none login', 'select_account'])),
    fc.tuple(fc.constant('max_age'), value(['0', '60', '-1', '1e3', '99999999999'])),
    fc.tuple(fc.constant('response_mode'), value(['query', 'fragment', 'form_post'])),
    fc.tuple(
      fc.constant('request_uri'),
      value(['urn:ietf:params:oauth:request_uri:abc', 'https://evil.example/r']),
    ),
    fc.tuple(fc.constant('request'), text),
    fc.tuple(fc.constant('login_hint'), text),
    fc.tuple(text, text),
  );
  const redirectUri = fc.constantFrom(
    ...REDIRECTS,
    'http://127.0.0.1:8080/loop',
    'http://127.0.0.1:99999/loop',
    'http://localhost/loop',
    'https://evil.example/callback',
    'https://web.example/callback/../x',
    'https://web.example/callback?x=1&y=2',
    'javascript:alert(1)',
    'https://web.example/callback#x',
  );
  /**
   * A mostly valid request: each standard parameter kept, dropped or replaced (the redirect URI from a list
   * of registered and unregistered ones), then random parameters added (which may duplicate one).
   */
  const request = fc
    .record({
      clientId: fc.constantFrom('web', 'third', 'par-only', 'nobody'),
      redirect: redirectUri,
      keep: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
      extra: fc.array(param, { maxLength: 4 }),
    })
    .map(({ clientId, redirect, keep, extra }) => {
      const pairs: [string, string][] = [
        ['response_type', 'code'],
        ['client_id', clientId],
        ['redirect_uri', redirect],
        ['scope', 'openid'],
        ['state', 's'],
        ['code_challenge', challenge],
        ['code_challenge_method', 'S256'],
      ];
      // Client and redirect URI are kept more often, so that later checks are reached.
      const kept = pairs.filter((_, i) => keep[i] || i === 1 || i === 2);
      return [...kept, ...extra];
    });

  it('never a 5xx, never a Location outside the registered URIs and our pages', async () => {
    await fc.assert(
      fc.asyncProperty(request, fc.boolean(), fc.boolean(), async (pairs, withSession, post) => {
        const encoded = new URLSearchParams(pairs).toString();
        const headers: Record<string, string> = withSession ? { cookie: browser.cookie } : {};
        const res = post
          ? await h.server.app.inject({
              method: 'POST',
              url: '/oauth/authorize',
              payload: encoded,
              headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
            })
          : await h.server.app.inject({ method: 'GET', url: `/oauth/authorize?${encoded}`, headers });
        assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
        const location = res.headers.location;
        if (location !== undefined) {
          assert.ok(res.statusCode === 302, `${res.statusCode}`);
          assert.ok(allowedLocation(String(location)), String(location));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('random logout form posts: never a 5xx, never a redirect outside the registered post-logout URIs', async () => {
    const logoutParam = fc.oneof(
      fc.tuple(fc.constant('client_id'), value(['web', 'third', 'nobody'])),
      fc.tuple(fc.constant('post_logout_redirect_uri'), value([...POST_LOGOUT, 'https://evil.example/'])),
      fc.tuple(fc.constant('id_token_hint'), value(['a.b.c', 'e30.e30.'])),
      fc.tuple(fc.constant('state'), text),
      fc.tuple(fc.constant('csrf'), text),
      fc.tuple(text, text),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(logoutParam, { maxLength: 6 }), fc.boolean(), async (pairs, get) => {
        const encoded = new URLSearchParams(pairs).toString();
        const res = get
          ? await h.server.app.inject({ url: `/oauth/logout?${encoded}` })
          : await h.server.app.inject({
              method: 'POST',
              url: '/oauth/logout',
              payload: encoded,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
            });
        assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
        const location = res.headers.location;
        if (location !== undefined)
          assert.ok(
            POST_LOGOUT.some((uri) => String(location).startsWith(uri)),
            String(location),
          );
      }),
      { numRuns: 300 },
    );
  });
});
