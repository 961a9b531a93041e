/**
 * The interaction contract the sign-in and consent pages use (loadInteraction, continueAuthorization,
 * denyAuthorization), driven through a small Fastify app standing in for the pages.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Harness } from '../oauth/harness.js';
import { continueAuthorization, denyAuthorization, loadInteraction } from '../../src/oidc/interaction.js';
import { readSession } from '../../src/sessions/session.js';
import {
  addCodeClient,
  authorize,
  codeRequest,
  createUser,
  pkce,
  signIn,
  startOidcHarness,
  type Browser,
  type CodeClient,
} from './helpers.js';

describe('interactions: sign-in, consent, deny', () => {
  let h: Harness;
  let pages: FastifyInstance;
  let first: CodeClient;
  let third: CodeClient;
  let browser: Browser;

  before(async () => {
    h = await startOidcHarness();
    first = await addCodeClient(h, 'first');
    third = await addCodeClient(h, 'third', { firstParty: false });
    browser = await signIn(h, await createUser(h));
    const ctx = h.server.ctx;
    // Stand-in for the sign-in and consent pages: continue or deny with the request's session.
    pages = Fastify();
    pages.get('/continue', async (request, reply) => {
      const q = request.query as Record<string, string>;
      const active = await readSession(ctx, request);
      if (active === undefined) return reply.code(401).send('no session');
      return continueAuthorization(ctx, request, reply, q.interaction!, active, {
        signedIn: q.signedIn === '1',
        consented: q.consented === '1',
      });
    });
    pages.get('/deny', async (request, reply) =>
      denyAuthorization(ctx, request, reply, (request.query as Record<string, string>).interaction!),
    );
    await pages.ready();
  });
  after(async () => {
    await pages.close();
    await h.close();
  });

  const idOf = (location: string | undefined) => {
    assert.ok(location !== undefined);
    const match = /^\/(signin|consent)\?interaction=([A-Za-z0-9_-]+)$/.exec(location);
    assert.ok(match, location);
    return { page: match[1], id: match[2]! };
  };

  async function proceed(id: string, cookie: string, progress: { signedIn?: boolean; consented?: boolean }) {
    const query = new URLSearchParams({ interaction: id });
    if (progress.signedIn) query.set('signedIn', '1');
    if (progress.consented) query.set('consented', '1');
    const res = await pages.inject({ url: `/continue?${query}`, headers: { cookie } });
    const location = res.headers.location;
    return {
      status: res.statusCode,
      location: typeof location === 'string' ? location : undefined,
      body: res.body,
    };
  }

  it('a third-party client needs consent; consent is remembered per user, client and scope', async () => {
    const res = await authorize(
      h,
      codeRequest(third, pkce().challenge, { scope: 'openid profile', login_hint: 'ada@example.com' }),
      browser.cookie,
    );
    const { page, id } = idOf(res.location);
    assert.equal(page, 'consent');
    assert.deepEqual(await loadInteraction(h.server.ctx, id), {
      id,
      clientId: 'third',
      scope: ['openid', 'profile'],
      loginHint: 'ada@example.com',
      redirectUri: 'https://third.example/callback',
    });
    const done = await proceed(id, browser.cookie, { consented: true });
    assert.equal(done.status, 302);
    const callback = new URL(done.location!);
    assert.equal(callback.origin + callback.pathname, third.redirectUri);
    assert.ok(callback.searchParams.get('code'));
    assert.equal(callback.searchParams.get('iss'), h.url);
    // Single use.
    assert.equal(await loadInteraction(h.server.ctx, id), undefined);
    assert.equal((await proceed(id, browser.cookie, { consented: true })).status, 400);

    // Remembered: the same scope goes straight to a code; a wider one asks again; prompt=consent always asks.
    const again = await authorize(
      h,
      codeRequest(third, pkce().challenge, { scope: 'openid' }),
      browser.cookie,
    );
    assert.ok(new URL(again.location!).searchParams.get('code'));
    const wider = await authorize(
      h,
      codeRequest(third, pkce().challenge, { scope: 'openid email' }),
      browser.cookie,
    );
    assert.equal(idOf(wider.location).page, 'consent');
    const forced = await authorize(
      h,
      codeRequest(third, pkce().challenge, { scope: 'openid', prompt: 'consent' }),
      browser.cookie,
    );
    assert.equal(idOf(forced.location).page, 'consent');
    const silent = await authorize(
      h,
      codeRequest(third, pkce().challenge, { scope: 'openid email', prompt: 'none' }),
      browser.cookie,
    );
    assert.equal(new URL(silent.location!).searchParams.get('error'), 'consent_required');
  });

  it('deny: access_denied back to the client with state and iss', async () => {
    const other = await signIn(h, await createUser(h));
    const res = await authorize(
      h,
      codeRequest(third, pkce().challenge, { state: 'deny-state' }),
      other.cookie,
    );
    const { id } = idOf(res.location);
    const denied = await pages.inject({ url: `/deny?interaction=${id}` });
    assert.equal(denied.statusCode, 302);
    const params = Object.fromEntries(new URL(String(denied.headers.location)).searchParams);
    assert.deepEqual(params, {
      error: 'access_denied',
      error_description: 'the user denied the request',
      state: 'deny-state',
      iss: h.url,
    });
  });

  it('no session: sign-in, then continue with the new session gets a code for it', async () => {
    const res = await authorize(h, codeRequest(first, pkce().challenge));
    const { page, id } = idOf(res.location);
    assert.equal(page, 'signin');
    const fresh = await signIn(h, await createUser(h));
    const done = await proceed(id, fresh.cookie, { signedIn: true });
    assert.ok(new URL(done.location!).searchParams.get('code'));
  });

  it('max_age=0 and prompt=login are satisfied by a fresh sign-in, also across the consent step', async () => {
    for (const extra of [{ max_age: '0' }, { prompt: 'login' }]) {
      // A user who has not consented yet, so the consent step comes after the sign-in.
      const old = await signIn(h, await createUser(h));
      const res = await authorize(h, codeRequest(third, pkce().challenge, extra), old.cookie);
      const { page, id } = idOf(res.location);
      assert.equal(page, 'signin');
      // Without a fresh sign-in the request still waits for one.
      const stale = await proceed(id, old.cookie, {});
      assert.equal(idOf(stale.location).page, 'signin');
      const fresh = await signIn(h, old.user);
      const consent = await proceed(id, fresh.cookie, { signedIn: true });
      assert.equal(idOf(consent.location).page, 'consent');
      const done = await proceed(id, fresh.cookie, { consented: true });
      assert.ok(new URL(done.location!).searchParams.get('code'), JSON.stringify(extra));
    }
  });

  it('a consent page shown to user A cannot be completed by user B signed in since', async () => {
    const userA = await signIn(h, await createUser(h));
    const userB = await signIn(h, await createUser(h));
    const res = await authorize(h, codeRequest(third, pkce().challenge), userA.cookie);
    const { id } = idOf(res.location);
    const done = await proceed(id, userB.cookie, { consented: true });
    assert.equal(done.status, 400);
    assert.equal(done.location, undefined);
    assert.match(done.body, /You signed in as someone else meanwhile/);
  });
});
