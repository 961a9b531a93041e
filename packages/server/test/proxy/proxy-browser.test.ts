// `tessera proxy` in a real headless Chromium: a user opens a page of the app through the proxy, signs in
// on Tessera's page by typing the password, lands back on the page they asked for and sees the app greet
// them by the email from the verified token; a user the policy refuses sees the 403 page (no CSP violation,
// the stylesheet served by the proxy). With TESSERA_SCREENSHOTS=1 it writes docs/screenshots/proxy-denied.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser as Chromium, type Page } from 'playwright-core';
import { assertChromium, CHROMIUM, CHROMIUM_ARGS, chromiumSkipFor } from '../helpers/chromium.js';
import { createUser } from '../oidc/helpers.js';
import { startWorld, type World } from './setup.js';

const skip = chromiumSkipFor('proxy-browser');
// dist/test/proxy → repository root → docs/screenshots.
const SHOTS = fileURLToPath(new URL('../../../../../docs/screenshots/', import.meta.url));
const writeShots = process.env.TESSERA_SCREENSHOTS === '1';
const PASSWORD = 'correct horse battery staple';

let w: World;
let browser: Chromium;
const consoleLines: string[] = [];

before(async () => {
  if (skip) return;
  assertChromium();
  w = await startWorld({ 'allow-email-domain': ['allowed.example'] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await w?.close();
});

async function signInThroughProxy(
  email: string,
  path: string,
): Promise<{ page: Page; close: () => Promise<void> }> {
  await createUser(w.h, { email });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.request().resourceType() !== 'document' && r.status() >= 400)
      consoleLines.push(`subresource ${r.status()}: ${r.url()}`);
  });
  await page.goto(`${w.proxy.url}${path}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return { page, close: () => context.close() };
}

test(
  'a browser signs in through the proxy and the app shows the email from the verified token',
  { skip },
  async () => {
    const { page, close } = await signInThroughProxy('ada@allowed.example', '/reports?year=2026');
    try {
      await page.waitForURL(`${w.proxy.url}/reports?year=2026`);
      await page.getByText('Hello ada@allowed.example').waitFor();
      const seen = w.app.seen.at(-1)!;
      assert.equal(seen.verified, true);
      assert.equal(seen.email, 'ada@allowed.example');
      const cookies = await page.context().cookies(w.proxy.url);
      const session = cookies.find((c) => c.name === 'tessera_proxy_session')!;
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.doesNotMatch(String(seen.headers.cookie ?? ''), /tessera_proxy/);
    } finally {
      await close();
    }
  },
);

test('a user the policy refuses sees the 403 page, styled, without a CSP violation', { skip }, async () => {
  consoleLines.length = 0;
  const { page, close } = await signInThroughProxy('mallory@example.com', '/reports');
  try {
    await page.getByText("You don't have access").waitFor();
    assert.match(await page.content(), /mallory@example\.com/);
    // The stylesheet came from the proxy's own path and applied (the card has its background).
    const background = await page
      .locator('main.card')
      .evaluate(
        (el) =>
          (
            globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
          ).getComputedStyle(el).backgroundColor,
      );
    assert.notEqual(background, 'rgba(0, 0, 0, 0)');
    if (writeShots) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: `${SHOTS}proxy-denied.png`, fullPage: true });
    }
    // The document's own 403 is logged by Chromium as a failed load; subresources are checked by URL above.
    assert.deepEqual(
      consoleLines.filter(
        (l) => !/Failed to load resource: the server responded with a status of 403/.test(l),
      ),
      [],
    );
  } finally {
    await close();
  }
});
