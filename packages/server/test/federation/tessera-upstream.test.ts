/**
 * Tessera federating with Tessera: the upstream is a real `tessera serve` process (its own data dir, port,
 * users and sign-in page, set up only through its CLI), registered in ours with the real `tessera idps add`;
 * a cookie-keeping HTTP browser signs in on the upstream's page, and the app's tokens are ours.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createUser } from '../oidc/helpers.js';
import { hasSignInListing } from '../../src/store/listing.js';
import {
  census,
  clickProvider,
  formFields,
  HttpBrowser,
  startDownstream,
  type Downstream,
} from './helpers.js';
import {
  startUpstreamTessera,
  UPSTREAM_PASSWORD as PASSWORD,
  type UpstreamTessera,
} from './tessera-process.js';

describe('federation: Tessera signing in through an upstream Tessera', () => {
  let ours: Downstream;
  let upstream: UpstreamTessera;
  let ada: { id: string; email: string };

  before(async () => {
    ours = await startDownstream();
    upstream = await startUpstreamTessera();
    const client = await upstream.createClient('downstream', `${ours.url}/signin/idp/up/callback`);
    ada = await upstream.createUser('ada@corp.example', 'Ada Lovelace');
    const added = await ours.idps(
      [
        'add',
        '--id',
        'up',
        '--issuer',
        upstream.url,
        '--client-id',
        'downstream',
        '--client-secret-stdin',
        '--name',
        'Upstream Tessera',
        '--allowed-domains',
        'corp.example',
        '--json',
      ],
      `${client.secret}\n`,
    );
    assert.equal(added.code, 0, added.err);
    assert.equal(JSON.parse(added.out).redirect_uri, `${ours.url}/signin/idp/up/callback`);
  });
  after(async () => {
    await ours?.close();
    await upstream?.close();
  });

  /** Through our sign-in page, the upstream's sign-in page with Ada's password, back to the app. */
  async function signInUpstream(browser: HttpBrowser, email = ada.email) {
    const started = await ours.startAuthorization(browser);
    assert.match(started.page, /Continue with Upstream Tessera/);
    const upstreamPage = await clickProvider(browser, ours, started.page, 'up');
    assert.equal(new URL(upstreamPage.url).origin, upstream.url, 'the button leads to the upstream');
    const fields = formFields(upstreamPage.body, '/signin');
    const back = await browser.follow(`${upstream.url}/signin`, {
      form: { ...fields, username: email, password: PASSWORD },
    });
    return { ...started, back };
  }

  it('provisions a user on first sign-in; tokens carry our sub, idp and the upstream amr', async () => {
    const browser = new HttpBrowser();
    const { back, verifier, nonce } = await signInUpstream(browser);
    assert.ok(back.location?.startsWith(ours.app.redirectUri), back.body);
    const tokens = await ours.redeem(back.location!, verifier);

    const local = await ours.h.server.ctx.store.getUserByEmail(ada.email);
    assert.ok(local, 'provisioned just in time');
    assert.equal(local.name, 'Ada Lovelace');
    assert.equal(local.emailVerified, true);
    assert.equal(local.passwordHash, null, 'a federated user has no local password');
    assert.notEqual(local.id, ada.id);

    const access = await ours.verify(tokens.access_token!, ours.url);
    assert.equal(access.sub, local.id, "sub is ours, not the upstream's");
    assert.equal(access.idp, 'up');
    assert.deepEqual(access.amr, ['pwd'], "the upstream's amr");
    const id = await ours.verify(tokens.id_token!, 'app');
    assert.equal(id.sub, local.id);
    assert.equal(id.idp, 'up');
    assert.deepEqual(id.amr, ['pwd']);
    assert.equal(id.nonce, nonce);
    assert.equal(id.email, ada.email);

    // The refresh family keeps idp like amr.
    const refreshed = await fetch(`${ours.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`app:${ours.app.secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }),
    });
    const again = (await refreshed.json()) as Record<string, string>;
    assert.equal((await ours.verify(again.access_token!, ours.url)).idp, 'up');

    const links = await ours.h.server.ctx.store.listIdentityLinks(local.id);
    assert.deepEqual(
      links.map((l) => [l.providerId, l.subject]),
      [['up', ada.id]],
    );
    const audit = (await ours.h.server.ctx.store.listAudit(50)).map((e) => e.type);
    for (const type of ['idp.provisioned', 'idp.linked', 'signin.success'])
      assert.ok(audit.includes(type), type);
    const metrics = await ours.h.server.ctx.metrics.render();
    assert.match(metrics, /tessera_federated_signins_total\{idp="up",result="provisioned"\} 1/);
  });

  it('a second sign-in finds the link (no new user); a password sign-in says idp "local"', async () => {
    const before = await census(ours);
    const browser = new HttpBrowser();
    const { back, verifier } = await signInUpstream(browser);
    const tokens = await ours.redeem(back.location!, verifier);
    const after = await census(ours);
    assert.equal(after.users, before.users);
    assert.equal(after.links, before.links);
    assert.equal((await ours.verify(tokens.access_token!, ours.url)).idp, 'up');

    // A local user with a password, signing in on our own page.
    await createUser(ours.h, { email: 'local@example.com' });
    const local = new HttpBrowser();
    const started = await ours.startAuthorization(local);
    const fields = formFields(started.page, '/signin');
    const done = await local.follow(`${ours.url}/signin`, {
      form: { ...fields, username: 'local@example.com', password: PASSWORD },
    });
    const own = await ours.redeem(done.location!, started.verifier);
    const claims = await ours.verify(own.id_token!, 'app');
    assert.equal(claims.idp, 'local');
    assert.deepEqual(claims.amr, ['pwd']);
  });

  it('a callback replayed, or opened in another browser, is refused and creates nothing', async () => {
    const browser = new HttpBrowser();
    const started = await ours.startAuthorization(browser);
    const upstreamPage = await clickProvider(browser, ours, started.page, 'up');
    const fields = formFields(upstreamPage.body, '/signin');
    const toCallback = await browser.request(`${upstream.url}/signin`, {
      form: { ...fields, username: ada.email, password: PASSWORD },
    });
    const callback = toCallback.location!;
    assert.ok(callback.startsWith(`${ours.url}/signin/idp/up/callback?`));
    const before = await census(ours);
    // Another browser (the attacker's, or a link sent by mail) has no binding cookie: login CSRF refused.
    const other = await new HttpBrowser().request(callback);
    assert.equal(other.status, 400);
    assert.match(other.body, /This sign-in has expired/);
    // The pending sign-in was single use: the right browser now finds nothing either.
    const replay = await browser.request(callback);
    assert.equal(replay.status, 400);
    assert.deepEqual(await census(ours), before);
  });

  it('the continue page hands the request back once, and only to the browser whose session signed in', async () => {
    const browser = new HttpBrowser();
    const started = await ours.startAuthorization(browser);
    const upstreamPage = await clickProvider(browser, ours, started.page, 'up');
    const atCallback = await browser.request(
      (
        await browser.request(`${upstream.url}/signin`, {
          form: { ...formFields(upstreamPage.body, '/signin'), username: ada.email, password: PASSWORD },
        })
      ).location!,
    );
    // A page, not a redirect: the upstream page's CSP form-action would stop a redirect to the app.
    assert.equal(atCallback.status, 200);
    const next = /<meta http-equiv="refresh" content="0;url=([^"]+)"/.exec(atCallback.body)?.[1];
    assert.ok(next?.startsWith('/signin/idp/continue?token='));
    const continueUrl = `${ours.url}${next!.replace(/&amp;/g, '&')}`;
    // Another browser (no session, or another one) gets nothing, and the token is spent.
    const stranger = await new HttpBrowser().request(continueUrl);
    assert.equal(stranger.status, 400);
    assert.equal((await browser.request(continueUrl)).status, 400, 'single use: the stranger spent it');
  });

  it('a session started through the upstream records its idp and the upstream amr', async () => {
    const browser = new HttpBrowser();
    await signInUpstream(browser);
    const store = ours.h.server.ctx.store;
    assert.ok(hasSignInListing(store));
    const sessions = await store.listLiveSessions(ours.h.server.ctx.clock());
    const local = await store.getUserByEmail(ada.email);
    const mine = sessions.filter((s) => s.userId === local!.id);
    assert.ok(mine.length > 0);
    for (const s of mine) {
      assert.equal(s.idp, 'up');
      assert.deepEqual(s.amr, ['pwd']);
    }
  });

  // Last: it disables Ada at the upstream.
  it("an account the upstream's administrator disables (its own CLI) signs in through it no more", async () => {
    const disabled = await upstream.cli(['users', 'disable', ada.email]);
    assert.equal(disabled.code, 0, disabled.stderr);
    const before = await census(ours);
    const browser = new HttpBrowser();
    const started = await ours.startAuthorization(browser);
    const upstreamPage = await clickProvider(browser, ours, started.page, 'up');
    const refused = await browser.request(`${upstream.url}/signin`, {
      form: { ...formFields(upstreamPage.body, '/signin'), username: ada.email, password: PASSWORD },
    });
    // The upstream's own refusal, on its own page: the browser never reaches our callback.
    assert.equal(refused.status, 401);
    assert.equal(refused.location, undefined);
    assert.deepEqual(await census(ours), before);
  });
});
