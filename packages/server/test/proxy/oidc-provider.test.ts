/**
 * "Works with any OpenID provider": the proxy in front of the app with node-oidc-provider as the issuer (its
 * development login and consent pages play the user). The app verifies the forwarded token with
 * @tessera/jwt against oidc-provider's JWKS and shows the email.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildProxyOptions } from '../../src/proxy/options.js';
import { startProxy, type ProxyHandle } from '../../src/proxy/app.js';
import { Browser, startApp, type App } from './setup.js';

// dist/test/proxy → packages/server/test/proxy (the fixture is plain JavaScript, not compiled).
const IDP = fileURLToPath(new URL('../../../test/proxy/oidc-idp.mjs', import.meta.url));
const RESOURCE = 'https://app.example';
const SECRET = 'a-long-client-secret-for-oidc-provider-tests-0123456789';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

describe('tessera proxy with oidc-provider as the issuer', () => {
  let idp: ChildProcess;
  let issuer: string;
  let app: App;
  let proxy: ProxyHandle;

  before(async () => {
    const [idpPort, proxyPort] = [await freePort(), await freePort()];
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    idp = spawn(
      process.execPath,
      [
        IDP,
        JSON.stringify({
          port: idpPort,
          clientId: 'gate',
          clientSecret: SECRET,
          redirectUri: `${proxyUrl}/.tessera/callback`,
          postLogoutRedirectUri: `${proxyUrl}/.tessera/signed-out`,
          resource: RESOURCE,
        }),
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    // Keep reading its stdout to the end (leaving it unread would break the provider's writes with EPIPE).
    const out = await new Promise<string>((resolve) => {
      let text = '';
      idp.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text);
      });
    });
    issuer = /READY (\S+)/.exec(out)![1]!;
    app = await startApp(issuer, RESOURCE, Date.now, `${issuer}/jwks`);
    proxy = await startProxy(
      buildProxyOptions(
        {
          listen: `127.0.0.1:${proxyPort}`,
          upstream: app.url,
          issuer,
          'client-id': 'gate',
          audience: RESOURCE,
          scope: 'openid email api:read',
          'allow-email-domain': ['oidc-provider.example'],
        },
        SECRET,
      ),
    );
  });

  after(async () => {
    await proxy?.close();
    await app?.close();
    idp?.kill('SIGTERM');
  });

  it('signs a browser in through oidc-provider and forwards a token the app verifies', async () => {
    const browser = new Browser();
    let res = await browser.fetch(`${proxy.url}/dashboard`);
    assert.equal(res.status, 302);
    let location = new URL(res.headers.get('location')!);
    assert.equal(location.origin, issuer);
    // The provider's pages: login, then consent, each a form posted back to /interaction/:uid.
    for (let step = 0; step < 12 && location.origin === issuer; step++) {
      res = await browser.fetch(location.href);
      if (res.status >= 300 && res.status < 400) {
        location = new URL(res.headers.get('location')!, location);
        continue;
      }
      const page = await res.text();
      const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
      assert.ok(prompt === 'login' || prompt === 'consent', page.slice(0, 500));
      const body = new URLSearchParams({
        prompt,
        ...(prompt === 'login' && { login: 'ada', password: 'x' }),
      });
      res = await browser.fetch(location.href, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      location = new URL(res.headers.get('location')!, location);
    }
    assert.equal(`${location.origin}${location.pathname}`, `${proxy.url}/.tessera/callback`);
    const { res: final, visited } = await browser.follow(location.href);
    assert.equal(visited.at(-1), `${proxy.url}/dashboard`);
    assert.equal(final.status, 200, await final.clone().text());
    assert.match(await final.text(), /Hello ada@oidc-provider\.example/);
    assert.equal(app.seen.at(-1)!.verified, true);
    // Logout goes to the provider's end_session_endpoint.
    const confirm = await browser.fetch(`${proxy.url}/.tessera/logout`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await confirm.text())![1]!;
    const out = await browser.fetch(`${proxy.url}/.tessera/logout`, {
      method: 'POST',
      body: `csrf=${csrf}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(out.status, 303);
    assert.equal(new URL(out.headers.get('location')!).origin, issuer);
  });
});
