// The pages in a real headless Chromium (Debian's, driven by playwright-core): sign in by typing into the
// labelled fields and pressing the button, see a wrong password's error, allow on the consent page, sign
// in with JavaScript switched off, and not one CSP violation in the console. With TESSERA_SCREENSHOTS=1
// it also writes the screenshots in docs/screenshots (desktop and a 390 px phone, light and dark).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser as Chromium, type BrowserContext, type Page } from 'playwright-core';
import { assertChromium, CHROMIUM, CHROMIUM_ARGS, chromiumSkipFor } from '../helpers/chromium.js';
import { startPages, type Pages } from './pages-harness.js';

const skip = chromiumSkipFor('signin-browser');
// dist/test/signin → repository root → docs/screenshots.
const SHOTS = fileURLToPath(new URL('../../../../../docs/screenshots/', import.meta.url));
const writeShots = process.env.TESSERA_SCREENSHOTS === '1';

const PASSWORD = 'correct horse battery staple';
let p: Pages;
let url: string;
let browser: Chromium;
/** Every console message and page error, from every page (CSP violations are console errors). */
const consoleLines: string[] = [];

before(async () => {
  if (skip) return;
  assertChromium();
  p = await startPages();
  url = await p.listen();
  // Like the real protocol code: after sign-in to the consent page, after consent back to the client.
  p.continueTo = (id, progress) =>
    progress.signedIn ? `/consent?interaction=${id}` : `/test/callback?code=fake&state=${id}`;
  await p.addUser('ada@example.com', PASSWORD, { name: 'Ada Lovelace' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await p?.close();
});

async function open(
  options: { width?: number; height?: number; javaScript?: boolean; dark?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    javaScriptEnabled: options.javaScript ?? true,
    colorScheme: options.dark ? 'dark' : 'light',
    ...(options.width !== undefined && options.width < 500 && { isMobile: true, deviceScaleFactor: 2 }),
  });
  const page = await context.newPage();
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  // Any subresource that fails (a missing stylesheet, an icon); the documents' own 400/401s are expected.
  page.on('response', (r) => {
    if (r.request().resourceType() !== 'document' && r.status() >= 400)
      consoleLines.push(`subresource ${r.status()}: ${r.url()}`);
  });
  return { context, page };
}

async function shot(page: Page, name: string): Promise<void> {
  if (!writeShots) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

async function tour(suffix: string, viewport: { width?: number; height?: number; dark?: boolean }) {
  const { context, page } = await open(viewport);
  try {
    const id = p.addInteraction({
      clientId: 'photos-web',
      scope: ['openid', 'profile', 'email', 'offline_access'],
    });
    await page.goto(`${url}/signin?interaction=${id}`);
    await shot(page, `signin${suffix}`);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('not my password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Email or password is incorrect.').waitFor();
    assert.equal(await page.getByLabel('Email').inputValue(), 'ada@example.com', 'the email is kept');
    await shot(page, `signin-error${suffix}`);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent\?interaction=/);
    await page.getByText('Your email address').waitFor();
    await shot(page, `consent${suffix}`);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/\/test\/callback\?code=fake/);
    await page.goto(`${url}/signin`);
    await page.getByText('You are signed in').waitFor();
    await shot(page, `signed-in${suffix}`);
    await page.goto(`${url}/signin?interaction=expired`);
    await page.getByText('This sign-in link has expired').first().waitFor();
    await shot(page, `error${suffix}`);
    const user = await p.addUser(`new${suffix}@example.com`, null);
    p.linkTokens.set(`link${suffix}`, { userId: user.id, expiresAt: p.ctx.clock() + 600_000 });
    await page.goto(`${url}/account/set-password?token=link${suffix}`);
    await shot(page, `set-password${suffix}`);
    await page.getByLabel('New password').fill('short');
    await page.getByLabel('Repeat the password').fill('short');
    // The browser's own minlength check would stop the post; the server's rule is what is shown here.
    await page.locator('form').evaluate((form) => form.setAttribute('novalidate', ''));
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('A password needs at least 8 characters.').waitFor();
    await shot(page, `set-password-error${suffix}`);
    await page.getByLabel('New password').fill('purple elephant umbrella');
    await page.getByLabel('Repeat the password').fill('purple elephant umbrella');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Your password is set').waitFor();
    await shot(page, `set-password-done${suffix}`);
  } finally {
    await context.close();
  }
}

test('sign in, a wrong password, consent and set-password on a desktop', { skip }, async () => {
  await tour('', {});
});

test('the same on a 390 px wide phone', { skip }, async () => {
  await tour('-phone', { width: 390, height: 844 });
});

test('the same in dark mode', { skip }, async () => {
  await tour('-dark', { dark: true });
});

test('with JavaScript disabled the sign-in form still works', { skip }, async () => {
  const { context, page } = await open({ javaScript: false });
  try {
    await page.goto(`${url}/signin`);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${url}/signin`);
    await page.getByText('You are signed in').waitFor();
    assert.match(await page.content(), /Ada Lovelace/);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out').waitFor();
  } finally {
    await context.close();
  }
});

test('no page logged a CSP violation or any console error', { skip }, () => {
  assert.deepEqual(
    // "Failed to load resource" lines are the documents' own statuses (401 for a wrong password, 400 for an
    // expired link), reported again below for subresources.
    consoleLines.filter(
      (l) => !l.startsWith('error: Failed to load resource: the server responded with a status of'),
    ),
    [],
  );
});
