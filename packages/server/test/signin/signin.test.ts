// Password sign-in through the pages: the session cookie's attributes, a new session on every sign-in
// (fixation), the waiting authorization request carried on, cancel, sign-out, and the rehash on sign-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cookieName } from '../../src/sessions/cookies.js';
import { SESSION_COOKIE, readSession } from '../../src/sessions/session.js';
import { hashToken } from '../../src/oauth/crypto.js';
import { needsRehash } from '../../src/users/password.js';
import { hash } from '@node-rs/argon2';
import { Browser, CLIENT_CALLBACK, startPages, type Pages } from './pages-harness.js';

let p: Pages;
before(async () => {
  p = await startPages();
});
after(async () => {
  await p?.close();
});

const PASSWORD = 'correct horse battery staple';

async function signIn(b: Browser, email: string, password = PASSWORD, interaction?: string) {
  const form = await b.get(interaction === undefined ? '/signin' : `/signin?interaction=${interaction}`);
  assert.equal(form.status, 200);
  return b.post('/signin', {
    csrf: form.csrf!,
    username: email,
    password,
    ...(interaction !== undefined && { interaction }),
  });
}

test('a sign-in sets an HttpOnly, SameSite=Lax session cookie and shows who is signed in', async () => {
  const user = await p.addUser('ada@example.com', PASSWORD, { name: 'Ada Lovelace' });
  const b = new Browser(p.app);
  const res = await signIn(b, 'ADA@example.com ');
  assert.equal(res.status, 303);
  assert.equal(res.headers.location, '/signin');
  const cookie = res.setCookies.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  assert.ok(cookie, 'session cookie set');
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Lax/);
  assert.match(cookie, /; Path=\//);
  assert.doesNotMatch(cookie, /; Secure/, 'http issuer: not Secure');
  const page = await b.get('/signin');
  assert.match(page.body, /<h1>You are signed in<\/h1>/);
  assert.match(page.body, /Ada Lovelace/);
  assert.match(page.body, /ada@example\.com/);
  const stored = await p.ctx.store.getSessionBySecret(
    hashToken(b.cookies.get(SESSION_COOKIE)!),
    p.ctx.clock(),
  );
  assert.equal(stored?.userId, user.id);
  assert.deepEqual(stored?.amr, ['pwd']);
  assert.equal(stored?.acr, '1');
});

test('on an https issuer the cookie is __Host- prefixed and Secure', async () => {
  const https = await startPages({ issuer: 'https://id.example.com' });
  try {
    assert.equal(cookieName(https.ctx, SESSION_COOKIE), '__Host-tessera_session');
    await https.addUser('sec@example.com', PASSWORD);
    const b = new Browser(https.app);
    const res = await signIn(b, 'sec@example.com');
    assert.equal(res.status, 303);
    const cookie = res.setCookies.find((c) => c.startsWith('__Host-tessera_session='));
    assert.ok(cookie, 'prefixed session cookie');
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; Path=\//);
    assert.doesNotMatch(cookie, /; Domain=/i, '__Host- cookies are host-only');
    assert.ok(b.cookies.has('__Host-tessera_csrf'), 'the CSRF cookie is prefixed too');
  } finally {
    await https.close();
  }
});

test('session fixation: a planted session cookie is replaced and stops working', async () => {
  await p.addUser('victim@example.com', PASSWORD);
  await p.addUser('mallory@example.com', PASSWORD);
  // The attacker signs in with their own account and plants that session cookie in the victim's browser.
  const attacker = new Browser(p.app);
  assert.equal((await signIn(attacker, 'mallory@example.com')).status, 303);
  const planted = attacker.cookies.get(SESSION_COOKIE)!;
  const victim = new Browser(p.app);
  victim.cookies.set(SESSION_COOKIE, planted);
  // The victim then signs in for an application (a direct visit would show "signed in as mallory").
  assert.equal((await signIn(victim, 'victim@example.com', PASSWORD, p.addInteraction())).status, 303);
  const fresh = victim.cookies.get(SESSION_COOKIE)!;
  assert.notEqual(fresh, planted, 'a new session secret');
  assert.equal(await p.ctx.store.getSessionBySecret(hashToken(planted), p.ctx.clock()), undefined);
  // The attacker's copy of the old cookie signs nobody in.
  const again = await attacker.get('/signin');
  assert.match(again.body, /<h1>Sign in<\/h1>/);
  const victimPage = await victim.get('/signin');
  assert.match(victimPage.body, /victim@example\.com/);
});

test('with an interaction, a sign-in carries on with the waiting request', async () => {
  const user = await p.addUser('flow@example.com', PASSWORD);
  const id = p.addInteraction({ clientId: 'spa', loginHint: 'flow@example.com' });
  const b = new Browser(p.app);
  const form = await b.get(`/signin?interaction=${id}`);
  assert.match(form.body, /to continue to <strong class="client">spa<\/strong>/);
  assert.match(form.body, /value="flow@example\.com"/);
  const res = await b.post('/signin', {
    csrf: form.csrf!,
    interaction: id,
    username: user.email,
    password: PASSWORD,
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.location, `${CLIENT_CALLBACK}?code=fake&state=${id}`);
  const call = p.calls.find((c) => c.id === id)!;
  assert.equal(call.kind, 'continue');
  assert.deepEqual(call.progress, { signedIn: true });
  assert.equal(call.active?.user.id, user.id);
  assert.ok(b.cookies.has(SESSION_COOKIE));
});

test('Cancel on the sign-in form denies the waiting request without checking anything else', async () => {
  const id = p.addInteraction();
  const b = new Browser(p.app);
  const form = await b.get(`/signin?interaction=${id}`);
  const res = await b.post('/signin', { csrf: form.csrf!, interaction: id, decision: 'cancel' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.location, `${CLIENT_CALLBACK}?error=access_denied&state=${id}`);
  assert.equal(p.calls.find((c) => c.id === id)?.kind, 'deny');
});

test('an unknown or expired interaction shows the expired page, on GET and on POST', async () => {
  const b = new Browser(p.app);
  const get = await b.get('/signin?interaction=gone');
  assert.equal(get.status, 400);
  assert.match(get.body, /This sign-in link has expired; go back to the application and start again\./);
  const form = await b.get('/signin');
  const post = await b.post('/signin', {
    csrf: form.csrf!,
    interaction: 'gone',
    username: 'a@b.c',
    password: 'x',
  });
  assert.equal(post.status, 400);
  assert.match(post.body, /This sign-in link has expired/);
});

test('sign-out ends the session and shows the signed-out page', async () => {
  await p.addUser('leave@example.com', PASSWORD);
  const b = new Browser(p.app);
  await signIn(b, 'leave@example.com');
  const secret = b.cookies.get(SESSION_COOKIE)!;
  const page = await b.get('/signin');
  const res = await b.post('/signout', { csrf: page.csrf! });
  assert.equal(res.status, 200);
  assert.match(res.body, /<h1>You are signed out<\/h1>/);
  assert.equal(b.cookies.has(SESSION_COOKIE), false, 'cookie cleared');
  assert.equal(await p.ctx.store.getSessionBySecret(hashToken(secret), p.ctx.clock()), undefined);
});

test('a sign-in rehashes a password stored with older parameters', async () => {
  const old = await hash(PASSWORD, { algorithm: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 });
  assert.equal(needsRehash(old), true);
  const user = await p.addUser('old@example.com', null, { passwordHash: old });
  const b = new Browser(p.app);
  assert.equal((await signIn(b, 'old@example.com')).status, 303);
  const stored = await p.ctx.store.getUser(user.id);
  assert.notEqual(stored?.passwordHash, old);
  assert.equal(needsRehash(stored!.passwordHash!), false);
});

test('a session of a user disabled afterwards is not shown as signed in', async () => {
  const user = await p.addUser('later-disabled@example.com', PASSWORD);
  const b = new Browser(p.app);
  await signIn(b, user.email);
  await p.ctx.store.updateUser({ ...user, disabled: true });
  const page = await b.get('/signin');
  assert.match(page.body, /<h1>Sign in<\/h1>/);
  const request = { headers: { cookie: `${SESSION_COOKIE}=${b.cookies.get(SESSION_COOKIE)}` } };
  assert.equal(await readSession(p.ctx, request as never), undefined);
});
