// One-time set-password links: the form, the NIST policy, a link used once, an expired link refused. Run
// against the users/links.ts contract (a stand-in until that module lands), and against the real module
// once it is implemented.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { verifyPassword } from '../../src/users/password.js';
import { createSetPasswordLink } from '../../src/users/links.js';
import { Browser, element, startPages, type Pages } from './pages-harness.js';

let p: Pages;
before(async () => {
  p = await startPages();
});
after(async () => {
  await p?.close();
});

const NEW_PASSWORD = 'purple elephant umbrella';

async function link(email: string, ttlMs = 60_000): Promise<{ token: string; userId: string }> {
  const user = await p.addUser(email, null);
  const token = `tok-${email}`;
  p.linkTokens.set(token, { userId: user.id, expiresAt: p.ctx.clock() + ttlMs });
  return { token, userId: user.id };
}

test('the form has a new-password field, a confirmation and the token; the link works once', async () => {
  const { token, userId } = await link('new@example.com');
  const b = new Browser(p.app);
  const page = await b.get(`/account/set-password?token=${encodeURIComponent(token)}`);
  assert.equal(page.status, 200);
  assert.equal(page.headers['referrer-policy'], 'no-referrer');
  element(page.body, 'form', { method: 'post', action: '/account/set-password' });
  element(page.body, 'input', { name: 'password', autocomplete: 'new-password', type: 'password' });
  element(page.body, 'input', { name: 'password_confirm', autocomplete: 'new-password', type: 'password' });
  element(page.body, 'input', { type: 'hidden', name: 'token', value: token });
  assert.doesNotMatch(page.body, /<a\s/, 'the page links nowhere (the token is in its URL)');
  const form = { csrf: page.csrf!, token, password: NEW_PASSWORD, password_confirm: NEW_PASSWORD };
  const done = await b.post('/account/set-password', form);
  assert.equal(done.status, 200);
  assert.match(done.body, /<h1>Your password is set<\/h1>/);
  assert.doesNotMatch(done.body, /<a\s/);
  const user = await p.ctx.store.getUser(userId);
  assert.equal((await verifyPassword(user!.passwordHash, NEW_PASSWORD)).ok, true);
  // Used up: neither the page nor a second post works.
  const again = await b.post('/account/set-password', {
    ...form,
    password: 'another passphrase',
    password_confirm: 'another passphrase',
  });
  assert.equal(again.status, 400);
  assert.match(again.body, /This set-password link has expired or was already used/);
  assert.equal((await b.get(`/account/set-password?token=${encodeURIComponent(token)}`)).status, 400);
  assert.equal(
    (await verifyPassword((await p.ctx.store.getUser(userId))!.passwordHash, NEW_PASSWORD)).ok,
    true,
  );
});

test('an expired link is refused', async () => {
  const { token } = await link('late@example.com', 1000);
  const b = new Browser(p.app);
  const page = await b.get(`/account/set-password?token=${encodeURIComponent(token)}`);
  assert.equal(page.status, 200);
  p.advance(1500);
  const res = await b.post('/account/set-password', {
    csrf: page.csrf!,
    token,
    password: NEW_PASSWORD,
    password_confirm: NEW_PASSWORD,
  });
  assert.equal(res.status, 400);
  assert.match(res.body, /<h1>This link has expired<\/h1>/);
});

test('the password policy is enforced and the link is kept for another try', async () => {
  const { token, userId } = await link('policy@example.com');
  const b = new Browser(p.app);
  const page = await b.get(`/account/set-password?token=${encodeURIComponent(token)}`);
  const short = await b.post('/account/set-password', {
    csrf: page.csrf!,
    token,
    password: 'short',
    password_confirm: 'short',
  });
  assert.equal(short.status, 400);
  assert.match(short.body, /A password needs at least 8 characters\./);
  const mismatch = await b.post('/account/set-password', {
    csrf: page.csrf!,
    token,
    password: NEW_PASSWORD,
    password_confirm: `${NEW_PASSWORD}!`,
  });
  assert.equal(mismatch.status, 400);
  assert.match(mismatch.body, /The two passwords do not match\./);
  assert.equal((await p.ctx.store.getUser(userId))!.passwordHash, null);
  const ok = await b.post('/account/set-password', {
    csrf: page.csrf!,
    token,
    password: NEW_PASSWORD,
    password_confirm: NEW_PASSWORD,
  });
  assert.equal(ok.status, 200);
});

test('CSRF: a set-password post without the form token is refused', async () => {
  const { token } = await link('csrf-set@example.com');
  const res = await new Browser(p.app).post('/account/set-password', {
    token,
    password: NEW_PASSWORD,
    password_confirm: NEW_PASSWORD,
  });
  assert.equal(res.status, 403);
});

// With the real users/links.ts, through the real app.
test('the real set-password link works once through the real app', async () => {
  const user = await p.addUser('real-link@example.com', null);
  const url = new URL(
    await createSetPasswordLink(p.ctx.store, p.ctx.config.issuer, user.id, 3600, p.ctx.clock()),
  );
  const b = new Browser(p.harness.server.app);
  const page = await b.get(`${url.pathname}${url.search}`);
  assert.equal(page.status, 200);
  const token = url.searchParams.get('token')!;
  const form = { csrf: page.csrf!, token, password: NEW_PASSWORD, password_confirm: NEW_PASSWORD };
  assert.equal((await b.post('/account/set-password', form)).status, 200);
  assert.equal((await b.post('/account/set-password', form)).status, 400);
});
