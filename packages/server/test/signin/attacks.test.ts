// One test per attack on the sign-in and consent forms: CSRF (missing, wrong, other form's token,
// cross-site Sec-Fetch-Site, foreign Origin), user enumeration by status and body, and password guessing
// (per-account and per-IP throttling with growing delays).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT_FREE_FAILURES, IP_FREE_FAILURES } from '../../src/sessions/throttle.js';
import { Browser, normalisePage, startPages, type Pages } from './pages-harness.js';

let p: Pages;
before(async () => {
  p = await startPages();
});
after(async () => {
  await p?.close();
});

const PASSWORD = 'correct horse battery staple';
const CSRF_MESSAGE = 'The form expired or did not come from this site; go back and try again.';
let nextIp = 1;
/** A browser on its own IP, so the per-IP counters of one test do not reach another. */
const browser = () => new Browser(p.app, `192.0.2.${nextIp++}`);

async function assertCsrfRefused(res: { status: number; body: string }, what: string) {
  assert.equal(res.status, 403, what);
  assert.match(res.body, /<h1>This form has expired<\/h1>/, what);
  assert.ok(res.body.includes(CSRF_MESSAGE), what);
}

/** A signed-in browser with a consent page open: [browser, consent csrf, interaction id]. */
async function consentPage(): Promise<[Browser, string, string]> {
  const user = await p.addUser(`consent-${nextIp}@example.com`, PASSWORD);
  const b = browser();
  const form = await b.get('/signin');
  assert.equal(
    (await b.post('/signin', { csrf: form.csrf!, username: user.email, password: PASSWORD })).status,
    303,
  );
  const id = p.addInteraction({ scope: ['openid', 'email'] });
  const page = await b.get(`/consent?interaction=${id}`);
  assert.equal(page.status, 200);
  return [b, page.csrf!, id];
}

for (const [name, form] of [
  ['sign-in', '/signin'],
  ['consent', '/consent'],
] as const) {
  const setup = async (): Promise<[Browser, string, Record<string, string>]> => {
    if (form === '/consent') {
      const [b, csrf, id] = await consentPage();
      return [b, csrf, { interaction: id, decision: 'allow' }];
    }
    await p.addUser(`csrf-${nextIp}@example.com`, PASSWORD);
    const b = browser();
    const page = await b.get('/signin');
    return [b, page.csrf!, { username: `csrf-${nextIp - 1}@example.com`, password: PASSWORD }];
  };

  test(`CSRF on the ${name} form: a post without the token is refused`, async () => {
    const [b, , fields] = await setup();
    await assertCsrfRefused(await b.post(form, fields), 'missing token');
  });

  test(`CSRF on the ${name} form: a wrong token is refused`, async () => {
    const [b, csrf, fields] = await setup();
    const wrong = (csrf[0] === 'A' ? 'B' : 'A') + csrf.slice(1);
    await assertCsrfRefused(await b.post(form, { ...fields, csrf: wrong }), 'wrong token');
  });

  test(`CSRF on the ${name} form: another browser's token is refused`, async () => {
    const [, csrf, fields] = await setup();
    const other = browser();
    await other.get('/signin'); // has its own CSRF cookie
    await assertCsrfRefused(await other.post(form, { ...fields, csrf }), 'token of another browser');
  });

  test(`CSRF on the ${name} form: a token made for another form is refused`, async () => {
    const [b, , fields] = await setup();
    // The set-password form's token, from the same browser and cookie.
    const user = await p.addUser(`purpose-${nextIp}-${name}@example.com`, null);
    p.linkTokens.set(`purpose-${name}`, { userId: user.id, expiresAt: p.ctx.clock() + 60_000 });
    const other = await b.get(`/account/set-password?token=purpose-${name}`);
    await assertCsrfRefused(await b.post(form, { ...fields, csrf: other.csrf! }), 'token of another purpose');
  });

  test(`CSRF on the ${name} form: a cross-site post (Sec-Fetch-Site) is refused even with a valid token`, async () => {
    const [b, csrf, fields] = await setup();
    await assertCsrfRefused(
      await b.post(form, { ...fields, csrf }, { 'sec-fetch-site': 'cross-site' }),
      'cross-site',
    );
    await assertCsrfRefused(
      await b.post(form, { ...fields, csrf }, { 'sec-fetch-site': 'same-site' }),
      'same-site',
    );
  });

  test(`CSRF on the ${name} form: a foreign Origin is refused even with a valid token`, async () => {
    const [b, csrf, fields] = await setup();
    await assertCsrfRefused(
      await b.post(form, { ...fields, csrf }, { origin: 'https://evil.example' }),
      'foreign origin',
    );
    // The same post from our own origin goes through: the refusals above are about the origin alone.
    const ok = await b.post(
      form,
      { ...fields, csrf },
      { origin: new URL(p.ctx.config.issuer).origin, 'sec-fetch-site': 'same-origin' },
    );
    assert.equal(ok.status, 303);
  });
}

test('user enumeration: unknown email, wrong password, no password and disabled user get the same answer', async () => {
  await p.addUser('known@example.com', PASSWORD);
  await p.addUser('nopass@example.com', null);
  await p.addUser('off@example.com', PASSWORD, { disabled: true });
  const answers = [];
  for (const [email, password] of [
    ['nobody@example.com', PASSWORD],
    ['known@example.com', 'not the password'],
    ['nopass@example.com', PASSWORD],
    ['off@example.com', PASSWORD],
  ] as const) {
    const b = browser();
    const form = await b.get('/signin');
    const res = await b.post('/signin', { csrf: form.csrf!, username: email, password });
    assert.ok(res.body.includes(`value="${email}"`), 'the email stays in the field');
    answers.push({ status: res.status, body: normalisePage(res.body), cookies: res.setCookies.length });
  }
  assert.equal(answers[0]!.status, 401);
  assert.match(answers[0]!.body, /Email or password is incorrect\./);
  for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);
  const metrics = await p.ctx.metrics.render();
  assert.match(metrics, /tessera_signins_total\{result="disabled"\} 1/);
});

test('login throttling: after the free failures the account is locked with growing delays', async () => {
  const user = await p.addUser('target@example.com', PASSWORD);
  const b = browser();
  const csrf = (await b.get('/signin')).csrf!;
  const attempt = (password: string, email = user.email) =>
    b.post('/signin', { csrf, username: email, password });
  for (let i = 1; i <= ACCOUNT_FREE_FAILURES; i++)
    assert.equal((await attempt(`guess ${i}`)).status, 401, `failure ${i}`);
  // This failure is still checked and answered 401, and starts a 1 s lock.
  assert.equal((await attempt('guess 6')).status, 401);
  const locked = await attempt(PASSWORD); // even the right password is not checked now
  assert.equal(locked.status, 429);
  assert.equal(locked.headers['retry-after'], '1');
  assert.match(locked.body, /Too many attempts; try again in 1 second\./);
  p.advance(1100);
  assert.equal((await attempt('guess 7')).status, 401, 'after the wait one more guess is checked');
  const longer = await attempt('guess 8');
  assert.equal(longer.status, 429);
  assert.equal(longer.headers['retry-after'], '2', 'the delay doubled');
  p.advance(2100);
  // A success clears the account's failures: the next failures are free again.
  assert.equal((await attempt(PASSWORD)).status, 303);
  b.cookies.clear();
  const csrf2 = (await b.get('/signin')).csrf!;
  const res = await b.post('/signin', { csrf: csrf2, username: user.email, password: 'one typo' });
  assert.equal(res.status, 401);
  const events = (await p.ctx.store.listAudit(100)).map((e) => e.type);
  assert.ok(events.includes('signin.locked'));
  assert.ok(events.includes('signin.failure'));
  assert.ok(events.includes('signin.success'));
  assert.doesNotMatch(JSON.stringify(await p.ctx.store.listAudit(100)), /guess|correct horse/);
  assert.match(await p.ctx.metrics.render(), /tessera_signins_total\{result="throttled"\} [1-9]/);
});

test('login throttling: an unknown email is locked exactly like a real one', async () => {
  const answers = [];
  for (const email of ['real-locked@example.com', 'ghost@example.com']) {
    if (email.startsWith('real')) await p.addUser(email, PASSWORD);
    const b = browser();
    const csrf = (await b.get('/signin')).csrf!;
    for (let i = 0; i <= ACCOUNT_FREE_FAILURES; i++)
      await b.post('/signin', { csrf, username: email, password: 'nope' });
    const res = await b.post('/signin', { csrf, username: email, password: 'nope' });
    answers.push({ status: res.status, retry: res.headers['retry-after'], body: normalisePage(res.body) });
  }
  assert.equal(answers[0]!.status, 429);
  assert.deepEqual(answers[1], answers[0]);
});

test('login throttling: another account from the same IP still signs in until the IP threshold', async () => {
  await p.addUser('locked-out@example.com', PASSWORD);
  const other = await p.addUser('bystander@example.com', PASSWORD);
  const b = browser();
  const csrf = (await b.get('/signin')).csrf!;
  for (let i = 0; i <= ACCOUNT_FREE_FAILURES; i++)
    await b.post('/signin', { csrf, username: 'locked-out@example.com', password: 'nope' });
  assert.equal(
    (await b.post('/signin', { csrf, username: 'locked-out@example.com', password: PASSWORD })).status,
    429,
  );
  assert.equal((await b.post('/signin', { csrf, username: other.email, password: PASSWORD })).status, 303);
});

test('login throttling: past the IP threshold every account is refused from that IP, not from others', async () => {
  const user = await p.addUser('ip-victim@example.com', PASSWORD);
  const b = browser();
  const csrf = (await b.get('/signin')).csrf!;
  // One failure per account (no account lock), many accounts: a password spray from one address.
  for (let i = 1; i <= IP_FREE_FAILURES; i++) {
    const res = await b.post('/signin', {
      csrf,
      username: `spray-${i}@example.com`,
      password: 'Winter2026!',
    });
    assert.equal(res.status, 401, `failure ${i}`);
  }
  assert.equal(
    (await b.post('/signin', { csrf, username: 'spray-last@example.com', password: 'x' })).status,
    401,
  );
  const refused = await b.post('/signin', { csrf, username: user.email, password: PASSWORD });
  assert.equal(refused.status, 429);
  const elsewhere = browser();
  const csrf2 = (await elsewhere.get('/signin')).csrf!;
  assert.equal(
    (await elsewhere.post('/signin', { csrf: csrf2, username: user.email, password: PASSWORD })).status,
    303,
  );
});
