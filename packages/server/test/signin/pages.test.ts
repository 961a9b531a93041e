// Every page Tessera renders: the security headers (CSP without inline script or style, no framing, no
// referrer, no caching), no inline script or style in the HTML, escaping of everything interpolated, the
// long-cached stylesheet, 405s, and pages (never JSON) for failures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_CSP, html, escapeHtml, pageCsp } from '../../src/pages/index.js';
import { StoreUnavailableError } from '../../src/store/types.js';
import {
  Browser,
  CLIENT_CALLBACK,
  element,
  startPages,
  type Pages,
  type PageResponse,
} from './pages-harness.js';

let p: Pages;
before(async () => {
  p = await startPages();
});
after(async () => {
  await p?.close();
});

/** `returnTo`: the page's form answer redirects to the client, so its CSP form-action names that origin. */
function assertPage(res: PageResponse, status: number, what: string, returnTo?: string): void {
  assert.equal(res.status, status, `${what}: status`);
  const csp = returnTo === undefined ? PAGE_CSP : pageCsp([returnTo]);
  assert.equal(res.headers['content-security-policy'], csp, `${what}: CSP`);
  assert.equal(res.headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
  assert.equal(res.headers['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy`);
  assert.equal(res.headers['cache-control'], 'no-store', `${what}: Cache-Control`);
  assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/, `${what}: type`);
  assert.doesNotMatch(res.body, /<script/i, `${what}: no script`);
  assert.doesNotMatch(res.body, /<style|style=/i, `${what}: no inline style`);
  assert.match(res.body, /<link rel="stylesheet" href="\/pages\/tessera\.[A-Za-z0-9_-]{12}\.css" \/>/);
}

test('a page whose form answer redirects to the client names exactly that origin in form-action', () => {
  assert.equal(
    pageCsp(['https://app.example/callback?x=1']),
    PAGE_CSP.replace("form-action 'self'", "form-action 'self' https://app.example"),
  );
  assert.match(pageCsp(['com.example.app:/cb']), /form-action 'self' com\.example\.app:;/);
  assert.equal(pageCsp(['not a uri']), PAGE_CSP);
  assert.equal(pageCsp([]), PAGE_CSP);
});

test('the CSP forbids script, inline style, framing and foreign form targets', () => {
  assert.match(PAGE_CSP, /default-src 'none'/);
  assert.match(PAGE_CSP, /style-src 'self'(;|$)/);
  assert.match(PAGE_CSP, /frame-ancestors 'none'/);
  assert.match(PAGE_CSP, /form-action 'self'/);
  assert.match(PAGE_CSP, /base-uri 'none'/);
  assert.doesNotMatch(PAGE_CSP, /script-src|unsafe-inline/);
});

test('every page sends the security headers and has no inline script or style', async () => {
  const user = await p.addUser('headers@example.com', 'correct horse battery');
  const b = new Browser(p.app, '10.0.0.1');
  assertPage(await b.get('/signin'), 200, 'sign-in');
  const interaction = p.addInteraction({
    scope: ['openid', 'profile', 'email', 'offline_access', 'api:read'],
  });
  assertPage(await b.get(`/signin?interaction=${interaction}`), 200, 'sign-in for a client', CLIENT_CALLBACK);
  assertPage(await b.get('/signin?interaction=nope'), 400, 'expired sign-in');
  const first = await b.get('/signin');
  assertPage(
    await b.post('/signin', { csrf: first.csrf!, username: user.email, password: 'wrong password' }),
    401,
    'sign-in error',
  );
  assertPage(await b.post('/signin', { username: user.email, password: 'x' }), 403, 'CSRF error');
  const ok = await b.post('/signin', {
    csrf: first.csrf!,
    username: user.email,
    password: 'correct horse battery',
  });
  assert.equal(ok.status, 303);
  const signedIn = await b.get('/signin');
  assertPage(signedIn, 200, 'signed in');
  assertPage(await b.get(`/consent?interaction=${interaction}`), 200, 'consent', CLIENT_CALLBACK);
  assertPage(await b.post('/signout', { csrf: signedIn.csrf! }), 200, 'signed out');
  p.linkTokens.set('tok-headers', { userId: user.id, expiresAt: p.ctx.clock() + 60_000 });
  const setPassword = await b.get('/account/set-password?token=tok-headers');
  assertPage(setPassword, 200, 'set-password');
  assertPage(await b.get('/account/set-password?token=unknown'), 400, 'set-password expired');
  assertPage(
    await b.post('/account/set-password', {
      csrf: setPassword.csrf!,
      token: 'tok-headers',
      password: 'another long passphrase',
      password_confirm: 'another long passphrase',
    }),
    200,
    'set-password done',
  );
  assertPage(await b.get('/test/logout-page'), 200, 'logout confirmation');
  assertPage(await b.get('/test/signed-out-page'), 200, 'signed out (OIDC)');
});

test('the real app serves the pages with the same headers', async () => {
  const res = await p.harness.server.app.inject({ url: '/signin' });
  assertPage({ ...res, status: res.statusCode, csrf: undefined, setCookies: [] }, 200, 'sign-in (real app)');
  assert.match(res.body, /<form method="post" action="\/signin"/);
});

test('the sign-in form has the fields password managers rely on', async () => {
  const res = await new Browser(p.app).get(`/signin?interaction=${p.addInteraction()}`);
  element(res.body, 'form', { method: 'post', action: '/signin' });
  assert.match(res.body, /<label for="username">Email<\/label>/);
  const username = element(res.body, 'input', { id: 'username' });
  assert.equal(username.name, 'username');
  assert.equal(username.type, 'email');
  assert.equal(username.autocomplete, 'username');
  assert.match(res.body, /<label for="password">Password<\/label>/);
  const password = element(res.body, 'input', { id: 'password' });
  assert.equal(password.name, 'password');
  assert.equal(password.type, 'password');
  assert.equal(password.autocomplete, 'current-password');
  assert.match(element(res.body, 'input', { type: 'hidden', name: 'csrf' }).value!, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(element(res.body, 'input', { type: 'hidden', name: 'interaction' }).value);
  assert.match(res.body, /<button type="submit" class="primary">Sign in<\/button>/);
  element(res.body, 'button', { type: 'submit', name: 'decision', value: 'cancel' });
});

test('the login hint pre-fills the email field, escaped', async () => {
  const id = p.addInteraction({ loginHint: '"><script>alert(1)</script>@example.com' });
  const res = await new Browser(p.app).get(`/signin?interaction=${id}`);
  assert.doesNotMatch(res.body, /<script/);
  assert.match(res.body, /value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;@example.com"/);
});

test('a client id with markup is shown as text (XSS)', async () => {
  const id = p.addInteraction({ clientId: '<img src=x onerror=alert(1)>' });
  const res = await new Browser(p.app).get(`/signin?interaction=${id}`);
  assert.doesNotMatch(res.body, /<img/);
  assert.match(res.body, /&lt;img src=x onerror=alert\(1\)&gt;/);
});

test('html escapes every interpolation but its own fragments', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
  const inner = html`<b>${'<i>'}</b>`;
  assert.equal(
    html`<p>${inner}${['<', html`<em>!</em>`]}${undefined}${false}</p>`.toString(),
    '<p><b>&lt;i&gt;</b>&lt;<em>!</em></p>',
  );
});

test('the stylesheet is served from a content-hashed URL with a long cache', async () => {
  const page = await new Browser(p.app).get('/signin');
  const href = /href="(\/pages\/tessera\.[^"]+\.css)"/.exec(page.body)![1]!;
  const res = await p.harness.server.app.inject({ url: href });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(res.headers['content-type'], 'text/css; charset=utf-8');
  assert.match(res.body, /prefers-color-scheme: dark/);
  const other = await p.harness.server.app.inject({ url: '/pages/tessera.AAAAAAAAAAAA.css' });
  assert.equal(other.statusCode, 404);
});

test('wrong methods answer 405 with Allow', async () => {
  const app = p.harness.server.app;
  for (const [method, url, allow] of [
    ['PUT', '/signin', 'GET, POST, HEAD'],
    ['DELETE', '/consent', 'GET, POST, HEAD'],
    ['PATCH', '/account/set-password', 'GET, POST, HEAD'],
    ['GET', '/signout', 'POST'],
  ] as const) {
    const res = await app.inject({ method, url });
    assert.equal(res.statusCode, 405, `${method} ${url}`);
    assert.equal(res.headers.allow, allow, `${method} ${url}`);
  }
});

test('a post that is not a form, or repeats a field, gets a 400 page', async () => {
  const b = new Browser(p.app);
  const json = await p.app.inject({ method: 'POST', url: '/signin', payload: { csrf: 'x' } });
  assert.equal(json.statusCode, 400);
  assert.match(json.body, /Something is wrong with this request/);
  const repeated = await b.post('/signin', {}, {});
  assert.equal(repeated.status, 403);
  const dup = await p.app.inject({
    method: 'POST',
    url: '/signin',
    payload: 'csrf=a&csrf=b',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(dup.statusCode, 400);
  assert.match(dup.body, /<h1>Something is wrong with this request<\/h1>/);
});

test('an unexpected failure is a generic 500 page, a store outage a 503 page', async () => {
  const interactions = p.interactions;
  const original = interactions.get.bind(interactions);
  try {
    interactions.get = () => {
      throw new Error('boom: secret detail');
    };
    const res = await new Browser(p.app).get('/signin?interaction=any');
    assert.equal(res.status, 500);
    assert.match(res.body, /<h1>Something went wrong<\/h1>/);
    assert.doesNotMatch(res.body, /boom|secret detail/);
    assert.equal(res.headers['content-security-policy'], PAGE_CSP);
    interactions.get = () => {
      throw new StoreUnavailableError('down');
    };
    const down = await new Browser(p.app).get('/signin?interaction=any');
    assert.equal(down.status, 503);
    assert.equal(down.headers['retry-after'], '1');
    assert.match(down.body, /<h1>Temporarily unavailable<\/h1>/);
  } finally {
    interactions.get = original;
  }
});
