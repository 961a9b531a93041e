// The consent page: needs a live session, says who asks for what in plain language, remembers "allow"
// per user, client and scope, and sends "deny" back to the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { describeScope } from '../../src/pages/index.js';
import { Browser, element, startPages, type Pages } from './pages-harness.js';

let p: Pages;
before(async () => {
  p = await startPages();
});
after(async () => {
  await p?.close();
});

const PASSWORD = 'correct horse battery staple';

async function signedIn(email: string): Promise<Browser> {
  await p.addUser(email, PASSWORD);
  const b = new Browser(p.app);
  const form = await b.get('/signin');
  assert.equal(
    (await b.post('/signin', { csrf: form.csrf!, username: email, password: PASSWORD })).status,
    303,
  );
  return b;
}

test('each scope has a plain-language line', () => {
  assert.equal(describeScope('openid'), 'Confirm it is you');
  assert.equal(describeScope('profile'), 'Your name');
  assert.equal(describeScope('email'), 'Your email address');
  assert.equal(describeScope('offline_access'), 'Stay signed in (refresh tokens)');
  assert.equal(describeScope('orders:read'), 'orders:read');
});

test('without a session the consent page sends the browser to sign in first', async () => {
  const id = p.addInteraction();
  const res = await new Browser(p.app).get(`/consent?interaction=${id}`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.location, `/signin?interaction=${id}`);
});

test('the consent page shows the client, a line per scope and the two decisions', async () => {
  const b = await signedIn('show@example.com');
  const id = p.addInteraction({
    clientId: 'photos',
    scope: ['openid', 'profile', 'email', 'offline_access', 'albums:read'],
  });
  const res = await b.get(`/consent?interaction=${id}`);
  assert.equal(res.status, 200);
  assert.match(res.body, /<strong class="client">photos<\/strong> wants to:/);
  for (const line of [
    'Confirm it is you',
    'Your name',
    'Your email address',
    'Stay signed in (refresh tokens)',
    'albums:read',
  ])
    assert.ok(res.body.includes(`<span>${line}</span>`), line);
  element(res.body, 'form', { method: 'post', action: '/consent' });
  element(res.body, 'input', { type: 'hidden', name: 'interaction', value: id });
  element(res.body, 'button', { type: 'submit', name: 'decision', value: 'allow' });
  element(res.body, 'button', { type: 'submit', name: 'decision', value: 'deny' });
  assert.match(res.body, /show@example\.com/);
});

test('allow remembers the consent and carries on; deny goes back to the client', async () => {
  const b = await signedIn('decide@example.com');
  const user = (await p.ctx.store.getUserByEmail('decide@example.com'))!;
  const id = p.addInteraction({ clientId: 'notes', scope: ['openid', 'email'] });
  const page = await b.get(`/consent?interaction=${id}`);
  const allowed = await b.post('/consent', { csrf: page.csrf!, interaction: id, decision: 'allow' });
  assert.equal(allowed.status, 303);
  assert.deepEqual(p.calls.find((c) => c.id === id)?.progress, { consented: true });
  const consent = await p.ctx.store.getConsent(user.id, 'notes');
  assert.deepEqual([...consent!.scope].sort(), ['email', 'openid']);

  const id2 = p.addInteraction({ clientId: 'ads', scope: ['openid', 'profile'] });
  const page2 = await b.get(`/consent?interaction=${id2}`);
  const denied = await b.post('/consent', { csrf: page2.csrf!, interaction: id2, decision: 'deny' });
  assert.equal(denied.status, 303);
  assert.match(String(denied.headers.location), /error=access_denied/);
  assert.equal(p.calls.find((c) => c.id === id2)?.kind, 'deny');
  assert.equal(await p.ctx.store.getConsent(user.id, 'ads'), undefined);
  const types = (await p.ctx.store.listAudit(50)).map((e) => e.type);
  assert.ok(types.includes('consent.granted') && types.includes('consent.denied'));
});

test('a consent post without a session goes to sign-in; an unknown decision is a 400 page', async () => {
  const b = await signedIn('odd@example.com');
  const id = p.addInteraction();
  const page = await b.get(`/consent?interaction=${id}`);
  const odd = await b.post('/consent', { csrf: page.csrf!, interaction: id, decision: 'maybe' });
  assert.equal(odd.status, 400);
  assert.equal(
    p.calls.some((c) => c.id === id),
    false,
  );
  const { tessera_session: _, ...rest } = Object.fromEntries(b.cookies);
  b.cookies.clear();
  for (const [n, v] of Object.entries(rest)) b.cookies.set(n, v);
  const res = await b.post('/consent', { csrf: page.csrf!, interaction: id, decision: 'allow' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.location, `/signin?interaction=${id}`);
});
