/**
 * Passkeys in a real Chromium (Debian's, through playwright-core) with virtual authenticators from the
 * DevTools protocol's WebAuthn domain (CTAP2, internal, resident keys, user verification): register from the
 * account page, sign in with the passkey through a real authorization request and read `amr` from the ID
 * token, enrol through a one-time link, sign in again with the passkey from an account page whose sign-in is
 * too old for changes (back at /account, then add one), then the two attacks: a cloned authenticator whose
 * counter is stale, and another user's credential presented under a victim's user handle. The server's issuer is
 * `http://localhost:PORT`: WebAuthn refuses IP addresses as RP IDs, and localhost is a secure context.
 * With TESSERA_SCREENSHOTS=1 it writes docs/screenshots/account-passkeys.png, account-reauth.png,
 * signin-reauth.png and signin-passkey.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import type { Harness } from '../oauth/harness.js';
import {
  addCodeClient,
  codeRequest,
  createUser,
  pkce,
  redeem,
  startOidcHarness,
  type CodeClient,
} from '../oidc/helpers.js';
import { createPasskeyLink } from '../../src/passkeys/links.js';
import { userHandleOf } from '../../src/passkeys/settings.js';
import type { UserRecord } from '../../src/store/types.js';
import { hashToken, randomToken } from '../../src/oauth/crypto.js';
import { assertChromium, CHROMIUM, CHROMIUM_ARGS, chromiumSkipFor } from '../helpers/chromium.js';

const skip = chromiumSkipFor('passkeys-browser');
const SHOTS = fileURLToPath(new URL('../../../../../docs/screenshots/', import.meta.url));
const writeShots = process.env.TESSERA_SCREENSHOTS === '1';
const PASSWORD = 'correct horse battery staple';

interface Credential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

/** The DevTools protocol's binary fields are standard base64; WebAuthn JSON and Tessera use base64url. */
const b64url = (b64: string): string => Buffer.from(b64, 'base64').toString('base64url');
const b64 = (url: string): string => Buffer.from(url, 'base64url').toString('base64');

interface Tab {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

describe('passkeys in Chromium (virtual authenticators)', { skip }, () => {
  let h: Harness;
  let base: string;
  let browser: Browser;
  let client: CodeClient;
  let callback: Server;
  let ada: UserRecord;
  let bob: UserRecord;
  const problems: string[] = [];
  const tabs: Tab[] = [];
  /** The profile whose authenticator enrolled Bob's passkey. */
  let bobTab: Tab;

  before(async () => {
    assertChromium();
    h = await startOidcHarness();
    base = h.url.replace('127.0.0.1', 'localhost');
    h.server.ctx.config.issuer = base;
    // The client's redirect URI: a loopback server of the test's own, so the code never leaves the machine.
    callback = createServer((_request, response) => response.end('back at photos'));
    callback.listen(0, '127.0.0.1');
    await once(callback, 'listening');
    const redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
    client = await addCodeClient(h, 'photos', { redirectUris: [redirectUri] });
    ada = await createUser(h, { email: 'ada@example.com', name: 'Ada Lovelace' });
    bob = await createUser(h, { email: 'bob@example.com', name: 'Bob', passwordHash: null });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    for (const tab of tabs) await tab.context.close();
    await browser?.close();
    await h?.close();
    callback?.close();
  });

  /** A fresh browser profile with its own virtual authenticator (optionally without one yet). */
  async function openTab(): Promise<Tab> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    // CSP violations are console messages; a refused page's own 400/401 is expected, a failing script is not.
    page.on('console', (m) => {
      if (/Content[- ]Security[- ]Policy/i.test(m.text())) problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.request().resourceType() !== 'document' && r.status() >= 400)
        problems.push(`subresource ${r.status()}: ${r.url()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    const tab = { context, page, cdp, authenticatorId };
    tabs.push(tab);
    return tab;
  }

  async function credentials(tab: Tab): Promise<Credential[]> {
    const { credentials: list } = await tab.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: tab.authenticatorId,
    });
    return list as Credential[];
  }

  async function shot(page: Page, name: string): Promise<void> {
    if (!writeShots) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
  }

  /** Start an authorization request for `photos`: the browser lands on the sign-in page. */
  async function startAuthorization(
    page: Page,
  ): Promise<{ verifier: string; params: Record<string, string> }> {
    const { verifier, challenge } = pkce();
    const params = codeRequest(client, challenge);
    await page.goto(`${base}/oauth/authorize?${new URLSearchParams(params)}`);
    assert.match(new URL(page.url()).pathname, /^\/signin$/);
    return { verifier, params };
  }

  async function passkeySignIn(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  }

  const audits = async (type: string) =>
    (await h.server.ctx.store.listAudit(500)).filter((e) => e.type === type);

  it('registers a passkey from the account page of a password-signed-in user', async () => {
    const { page } = await openTab();
    await page.goto(`${base}/signin`);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('link', { name: 'Manage your passkeys' }).click();
    assert.equal(new URL(page.url()).pathname, '/account');
    await page.getByLabel('Name for the new passkey').fill('Ada’s laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.waitForURL(/\/account\?added=1$/);
    await page.getByText('Passkey added.').waitFor();
    await page.getByText('Ada’s laptop').waitFor();
    const stored = await h.server.ctx.store.listUserPasskeys(ada.id);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.name, 'Ada’s laptop');
    const [held] = await credentials(tabs[0]!);
    assert.equal(
      b64url(held!.credentialId),
      stored[0]!.id,
      'the authenticator holds the credential Tessera stored',
    );
    assert.equal(held!.isResidentCredential, true, 'a discoverable credential');
    assert.equal(
      b64url(held!.userHandle!),
      userHandleOf(ada.id),
      'the user handle is the user id, not the email',
    );
    assert.equal((await audits('passkey.registered')).length, 1);
    await shot(page, 'account-passkeys');
  });

  it('signs in with the passkey alone; the ID token says amr ["hwk", "user"]', async () => {
    const { page, context } = tabs[0]!;
    await context.clearCookies();
    const { verifier, params } = await startAuthorization(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    await shot(page, 'signin-passkey');
    await passkeySignIn(page);
    await page.waitForURL((url) => url.href.startsWith(`${client.redirectUri}?`));
    const callback = new URL(page.url());
    assert.equal(callback.searchParams.get('state'), params.state);
    const res = await redeem(h, client, {
      code: callback.searchParams.get('code')!,
      code_verifier: verifier,
      redirect_uri: client.redirectUri,
    });
    assert.equal(res.status, 200, res.body);
    const idToken = jose.decodeJwt(res.json().id_token as string);
    assert.equal(idToken.sub, ada.id);
    assert.deepEqual(idToken.amr, ['hwk', 'user']);
    assert.equal(idToken.acr, '1');
    assert.deepEqual(jose.decodeJwt(res.json().access_token as string).amr ?? ['hwk', 'user'], [
      'hwk',
      'user',
    ]);
    const [stored] = await h.server.ctx.store.listUserPasskeys(ada.id);
    assert.ok(stored!.lastUsedAt !== null && stored!.counter > 0, 'counter and last use recorded');
  });

  it('refuses a cloned authenticator whose counter is stale, and audits passkey.counter_regressed', async () => {
    const original = tabs[0]!;
    const [snapshot] = await credentials(original);
    // A later use on the original moves the stored counter past the copy's.
    await original.context.clearCookies();
    await original.page.goto(`${base}/signin`);
    await passkeySignIn(original.page);
    await original.page.getByText('You are signed in').waitFor();
    const counter = (await h.server.ctx.store.getPasskey(b64url(snapshot!.credentialId)))!.counter;
    assert.ok(counter > snapshot!.signCount);

    const clone = await openTab();
    await clone.cdp.send('WebAuthn.addCredential', {
      authenticatorId: clone.authenticatorId,
      credential: { ...snapshot!, rpId: 'localhost' },
    });
    await startAuthorization(clone.page);
    await passkeySignIn(clone.page);
    await clone.page.getByText('That passkey could not sign you in.').waitFor();
    assert.equal(new URL(clone.page.url()).pathname, '/signin/passkey');
    const [alarm] = await audits('passkey.counter_regressed');
    assert.equal(alarm?.data.userId, ada.id);
    assert.equal(alarm?.data.stored, counter);
    assert.ok((alarm?.data.received as number) <= counter);
    assert.equal(
      (await h.server.ctx.store.getPasskey(b64url(snapshot!.credentialId)))!.counter,
      counter,
      'unchanged',
    );
  });

  it('enrols a passkey through a one-time link, which then stops working', async () => {
    const url = await createPasskeyLink(h.server.ctx.store, base, bob.id, 3600, h.server.ctx.clock());
    const tab = (bobTab = await openTab());
    await tab.page.goto(url);
    await tab.page.getByRole('button', { name: 'Create a passkey' }).click();
    await tab.page.getByText('Your passkey is ready').waitFor();
    assert.equal((await h.server.ctx.store.listUserPasskeys(bob.id)).length, 1);
    await tab.page.goto(url);
    await tab.page.getByText('This link has expired').waitFor();
  });

  it('an old sign-in signs in again (password, email filled in), comes back to /account and adds one', async () => {
    // A profile whose authenticator holds nothing yet (Ada's first one would be excluded from a registration).
    const { page, context } = await openTab();
    // A session whose sign-in is 11 minutes old (past the default --reauth-max-age of 10 minutes).
    const secret = randomToken(32);
    const now = h.server.ctx.clock();
    await h.server.ctx.store.createSession({
      id: randomToken(16),
      secretHash: hashToken(secret),
      userId: ada.id,
      authTime: now - 11 * 60_000,
      amr: ['pwd'],
      acr: '1',
      idp: 'local',
      createdAt: now - 11 * 60_000,
      idleExpiresAt: now + 3_600_000,
      absoluteExpiresAt: now + 86_400_000,
    });
    await context.addCookies([{ name: 'tessera_session', value: secret, url: base, httpOnly: true }]);
    await page.goto(`${base}/account`);
    await page.getByText('Sign in again to add or remove passkeys').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add a passkey' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Remove/ }).count(), 0);
    await shot(page, 'account-reauth');
    await page.getByRole('button', { name: 'Sign in again' }).click();
    await page.waitForURL(/\/signin\?reauth=account$/);
    await page.getByText('Sign in again to add or remove passkeys.').waitFor();
    assert.equal(await page.getByLabel('Email').inputValue(), 'ada@example.com');
    await shot(page, 'signin-reauth');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(new RegExp(`^${base}/account$`));
    await page.getByLabel('Name for the new passkey').fill('Second key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.waitForURL(/\/account\?added=1$/);
    await page.getByText('Second key').waitFor();
    assert.equal((await h.server.ctx.store.listUserPasskeys(ada.id)).length, 2);
    assert.ok((await audits('passkey.registered')).some((e) => e.data.userId === ada.id));
  });

  it("refuses another user's credential presented under this user's handle", async () => {
    const bobs = bobTab;
    const [bobCredential] = await credentials(bobs);
    assert.equal(b64url(bobCredential!.userHandle!), userHandleOf(bob.id));
    const forger = await openTab();
    await forger.cdp.send('WebAuthn.addCredential', {
      authenticatorId: forger.authenticatorId,
      credential: { ...bobCredential!, rpId: 'localhost', userHandle: b64(userHandleOf(ada.id)) },
    });
    await startAuthorization(forger.page);
    await passkeySignIn(forger.page);
    await forger.page.getByText('That passkey could not sign you in.').waitFor();
    const failures = await audits('passkey.signin_failed');
    assert.ok(failures.some((e) => e.data.reason === 'user_mismatch' && e.data.userId === bob.id));
    assert.deepEqual(problems, [], 'no console errors, no CSP violations');
  });
});
