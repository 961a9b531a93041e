// Federation in a real headless Chromium (Debian's, driven by playwright-core): our sign-in page with two
// provider buttons; a click through an upstream Tessera's sign-in page (a real `tessera serve` process set
// up through its CLI) and one through oidc-provider's, each back to the application with a code; no CSP
// violation on the way. Saves the sign-in page with its provider buttons to
// docs/screenshots/signin-providers.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser as Chromium, type Page } from 'playwright-core';
import { assertChromium, CHROMIUM, CHROMIUM_ARGS, chromiumSkipFor } from '../helpers/chromium.js';
import { pkce } from '../oidc/helpers.js';
import { startDownstream, type Downstream } from './helpers.js';
import { PANVA_SECRET, startPanva } from './panva.js';
import {
  startUpstreamTessera,
  UPSTREAM_PASSWORD as PASSWORD,
  type UpstreamTessera,
} from './tessera-process.js';

const skip = chromiumSkipFor('federation browser');
// dist/test/federation → repository root → docs/screenshots.
const SHOTS = fileURLToPath(new URL('../../../../../docs/screenshots/', import.meta.url));

let ours: Downstream;
let upstream: UpstreamTessera;
let panva: { issuer: string; close(): Promise<void> };
let browser: Chromium;
const consoleLines: string[] = [];

before(async () => {
  if (skip) return;
  assertChromium();
  ours = await startDownstream();
  upstream = await startUpstreamTessera();
  const client = await upstream.createClient('downstream', `${ours.url}/signin/idp/corp/callback`);
  await upstream.createUser('ada@corp.example', 'Ada Lovelace');
  panva = await startPanva(`${ours.url}/signin/idp/hopper/callback`);
  for (const [id, issuer, clientId, secret, name, domain] of [
    ['corp', upstream.url, 'downstream', client.secret, 'Corp SSO', 'corp.example'],
    ['hopper', panva.issuer, 'tessera', PANVA_SECRET, 'Hopper ID', 'hopper.example'],
  ] as const) {
    const added = await ours.idps(
      [
        'add',
        '--id',
        id,
        '--issuer',
        issuer,
        '--client-id',
        clientId,
        '--client-secret-stdin',
        '--name',
        name,
        '--allowed-domains',
        domain,
      ],
      secret,
    );
    assert.equal(added.code, 0, added.err);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await ours?.close();
  await upstream?.close();
  await panva?.close();
});

/** A page whose application callback (https://app.example) is answered in the browser, recording the URL. */
async function open(): Promise<{ page: Page; landed: Promise<URL> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  let land!: (url: URL) => void;
  const landed = new Promise<URL>((resolve) => (land = resolve));
  await context.route('https://app.example/**', async (route) => {
    land(new URL(route.request().url()));
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>app</h1>' });
  });
  const { challenge } = pkce();
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'app',
    redirect_uri: ours.app.redirectUri,
    scope: 'openid email profile',
    state: 'app-state',
    nonce: 'n1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  await page.goto(`${ours.url}/oauth/authorize?${query}`);
  return { page, landed };
}

/** The app's callback URL, or a failure naming where the browser got stuck and what the console said. */
async function arrived(page: Page, landed: Promise<URL>): Promise<URL> {
  const stuck = page
    .waitForTimeout(15_000)
    .then(() => Promise.reject(new Error(`stuck at ${page.url()}: ${consoleLines.join(' | ')}`)));
  return Promise.race([landed, stuck]);
}

test('the sign-in page shows one button per provider (screenshot)', { skip }, async () => {
  const { page } = await open();
  await page.getByRole('button', { name: 'Continue with Corp SSO' }).waitFor();
  await page.getByRole('button', { name: 'Continue with Hopper ID' }).waitFor();
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}signin-providers.png`, fullPage: true });
  await page.context().close();
});

test(
  'a click on "Continue with Corp SSO" signs in at the upstream Tessera and lands at the app',
  { skip },
  async () => {
    const { page, landed } = await open();
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await page.waitForURL((url) => url.origin === upstream.url);
    await page.getByLabel('Email').fill('ada@corp.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const back = await arrived(page, landed);
    assert.ok(back.searchParams.get('code'));
    assert.equal(back.searchParams.get('iss'), ours.url);
    assert.ok(await ours.h.server.ctx.store.getUserByEmail('ada@corp.example'));
    await page.context().close();
  },
);

test(
  'a click on "Continue with Hopper ID" signs in through oidc-provider and lands at the app',
  { skip },
  async () => {
    const { page, landed } = await open();
    await page.getByRole('button', { name: 'Continue with Hopper ID' }).click();
    await page.waitForURL((url) => url.origin === panva.issuer);
    await page.locator('input[name="login"]').fill('grace');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]', { hasText: 'Continue' }).click();
    const back = await arrived(page, landed);
    assert.ok(back.searchParams.get('code'));
    assert.ok(await ours.h.server.ctx.store.getUserByEmail('grace@hopper.example'));
    await page.context().close();
  },
);

test('no CSP violation or page error on the way', { skip }, () => {
  const ours = consoleLines.filter((l) => /Content Security Policy|pageerror/.test(l));
  assert.deepEqual(ours, []);
});
