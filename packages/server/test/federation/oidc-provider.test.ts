/**
 * Federation with a provider no Tessera code controls: oidc-provider (panva), in process on 127.0.0.1:0
 * with its development login and consent pages, signing ID tokens with its own keys.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PANVA_SECRET, startPanva } from './panva.js';
import { census, clickProvider, HttpBrowser, startDownstream, type Downstream } from './helpers.js';

describe('federation: Tessera signing in through oidc-provider', () => {
  let ours: Downstream;
  let panva: { issuer: string; close(): Promise<void> };
  let issuer: string;

  before(async () => {
    ours = await startDownstream();
    panva = await startPanva(`${ours.url}/signin/idp/panva/callback`);
    issuer = panva.issuer;
    const added = await ours.idps(
      [
        'add',
        '--id',
        'panva',
        '--issuer',
        issuer,
        '--client-id',
        'tessera',
        '--client-secret-stdin',
        '--name',
        'Hopper ID',
        '--allowed-domains',
        'hopper.example',
        '--claims-map',
        '{"department":"claims.department"}',
      ],
      PANVA_SECRET,
    );
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, new RegExp(`${ours.url}/signin/idp/panva/callback`));
  });
  after(async () => {
    await ours?.close();
    await panva?.close();
  });

  /** The dev interactions: the login form (any login), then the consent form. */
  async function throughProvider(browser: HttpBrowser, login: string) {
    const started = await ours.startAuthorization(browser);
    let page = await clickProvider(browser, ours, started.page, 'panva');
    for (let step = 0; step < 3 && page.location === undefined && page.url.startsWith(issuer); step++) {
      const action = /action="([^"]+)"/.exec(page.body)?.[1];
      assert.ok(action, `no form on the provider's page: ${page.body.slice(0, 200)}`);
      const prompt = /name="prompt" value="([^"]+)"/.exec(page.body)?.[1] ?? 'consent';
      page = await browser.follow(new URL(action, issuer).href, {
        form: prompt === 'login' ? { prompt, login, password: 'any' } : { prompt },
      });
    }
    return { ...started, page };
  }

  it('advertises RFC 9207 iss, and signs a new user in with idp "panva" and amr ["fed"]', async () => {
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(meta.authorization_response_iss_parameter_supported, true);

    const browser = new HttpBrowser();
    const { page, verifier } = await throughProvider(browser, 'grace');
    assert.ok(page.location?.startsWith(ours.app.redirectUri), `${page.status} ${page.body.slice(0, 300)}`);
    const tokens = await ours.redeem(page.location!, verifier);
    const local = await ours.h.server.ctx.store.getUserByEmail('grace@hopper.example');
    assert.ok(local);
    assert.equal(local.name, 'Grace Hopper');
    assert.deepEqual(JSON.parse(local.claims), { department: 'navy' }, 'the claims map');
    const id = await ours.verify(tokens.id_token!, 'app');
    assert.equal(id.sub, local.id);
    assert.notEqual(id.sub, 'grace');
    assert.equal(id.idp, 'panva');
    assert.deepEqual(id.amr, ['fed'], 'no amr upstream: federated');
    const access = await ours.verify(tokens.access_token!, ours.url);
    assert.equal(access.idp, 'panva');
  });

  it('refuses to provision an upstream account whose email is not verified', async () => {
    const before = await census(ours);
    const { page } = await throughProvider(new HttpBrowser(), 'unverified-joe');
    assert.equal(page.status, 403);
    assert.match(page.body, /not allowed to sign in/);
    assert.deepEqual(await census(ours), before);
  });
});
