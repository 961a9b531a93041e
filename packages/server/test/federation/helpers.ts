/**
 * Federation test setup: "our" Tessera (a real server over loopback HTTP, SQLite in a temp dir) with an
 * application client, providers added through the real `tessera idps add`, and a small cookie-keeping
 * HTTP browser that walks redirects across our server and the upstream.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import * as jose from 'jose';
import { run as runIdps } from '../../src/cli/commands/idps.js';
import { captureIO } from '../server/helpers.js';
import type { Harness } from '../oauth/harness.js';
import { hasSignInListing } from '../../src/store/listing.js';
import { addCodeClient, pkce, startOidcHarness, type CodeClient } from '../oidc/helpers.js';

/** One cookie jar per origin; paths and expiry are ignored (every test server is ours). */
export class HttpBrowser {
  readonly jars = new Map<string, Map<string, string>>();

  cookies(origin: string): Map<string, string> {
    let jar = this.jars.get(origin);
    if (jar === undefined) this.jars.set(origin, (jar = new Map()));
    return jar;
  }

  /** One request, no redirect followed. */
  async request(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<{ status: number; location?: string; body: string; url: string; headers: Headers }> {
    const target = new URL(url);
    const jar = this.cookies(target.origin);
    const headers: Record<string, string> = {};
    if (jar.size > 0) headers.cookie = [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(init.form && { body: new URLSearchParams(init.form).toString() }),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';', 1);
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0\b/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line))
        jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    return {
      status: res.status,
      ...(location !== null && { location: new URL(location, target).href }),
      body: await res.text(),
      url: target.href,
      headers: res.headers,
    };
  }

  /** Follow redirects until a page answers or the browser is sent to `stopAt` (an app's callback). */
  async follow(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
    stopAt = 'https://app.example/',
  ) {
    let res = await this.request(url, init);
    for (let hops = 0; hops < 15; hops++) {
      // A page that moves on by itself (federation's continue page) is followed like a browser does.
      const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)"/.exec(res.body)?.[1];
      const next = res.location ?? (refresh && new URL(refresh.replace(/&amp;/g, '&'), res.url).href);
      if (next === undefined || next.startsWith(stopAt)) return res;
      res = await this.request(next);
    }
    return res;
  }
}

/** The attributes of a form's hidden inputs, by the form's action. */
export function formFields(body: string, action: string): Record<string, string> {
  const forms = [...body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const form = forms.find((f) =>
    new RegExp(`action="${action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`).test(f[1]!),
  );
  assert.ok(form, `no form posting to ${action}`);
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input\b([^>]*)>/g)) {
    const name = /name="([^"]*)"/.exec(input[1]!)?.[1];
    const value = /value="([^"]*)"/.exec(input[1]!)?.[1];
    if (name !== undefined && value !== undefined) fields[name] = value.replace(/&amp;/g, '&');
  }
  return fields;
}

export interface Downstream {
  h: Harness;
  url: string;
  app: CodeClient;
  /** `tessera idps …` against this server's data dir; stdin is the client secret. */
  idps(args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }>;
  /** Start an authorization request for the app; returns the sign-in page and the PKCE verifier. */
  startAuthorization(
    browser: HttpBrowser,
  ): Promise<{ page: string; signInUrl: string; verifier: string; nonce: string }>;
  /** Redeem the app's code; returns the token response. */
  redeem(location: string, verifier: string): Promise<Record<string, string>>;
  /** Verify one of our tokens with jose against our JWKS. */
  verify(token: string, audience: string): Promise<jose.JWTPayload>;
  close(): Promise<void>;
}

/**
 * Our Tessera: a real server with a first-party app client.
 *
 * @example const ours = await startDownstream();
 */
export async function startDownstream(): Promise<Downstream> {
  const h = await startOidcHarness();
  const app = await addCodeClient(h, 'app', { scope: [] });
  const jwks = jose.createRemoteJWKSet(new URL(`${h.url}/.well-known/jwks.json`));
  return {
    h,
    url: h.url,
    app,
    async idps(args, stdin = '') {
      const io = captureIO({ TESSERA_ISSUER: h.url });
      const code = await runIdps([...args, '--data-dir', h.dataDir], {
        ...io,
        stdin: Readable.from([stdin]),
      });
      return { code, out: io.out(), err: io.err() };
    },
    async startAuthorization(browser) {
      const { verifier, challenge } = pkce();
      const nonce = `n-${Math.random().toString(36).slice(2)}`;
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: 'app',
        redirect_uri: app.redirectUri,
        scope: 'openid email profile',
        state: 'app-state',
        nonce,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const res = await browser.follow(`${h.url}/oauth/authorize?${query}`);
      assert.equal(res.status, 200, res.body);
      return { page: res.body, signInUrl: res.url, verifier, nonce };
    },
    async redeem(location, verifier) {
      const back = new URL(location);
      assert.equal(back.origin + back.pathname, app.redirectUri);
      assert.equal(back.searchParams.get('state'), 'app-state');
      const res = await fetch(`${h.url}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`app:${app.secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: back.searchParams.get('code')!,
          redirect_uri: app.redirectUri,
          code_verifier: verifier,
        }),
      });
      const body = (await res.json()) as Record<string, string>;
      assert.equal(res.status, 200, JSON.stringify(body));
      return body;
    },
    async verify(token, audience) {
      return (await jose.jwtVerify(token, jwks, { issuer: h.url, audience })).payload;
    },
    close: () => h.close(),
  };
}

/**
 * Click "Continue with …" on a sign-in page: the form post to /signin/idp/{id}, redirects followed to the
 * upstream's first page.
 *
 * @example const upstreamPage = await clickProvider(browser, ours, page, 'corp');
 */
export async function clickProvider(browser: HttpBrowser, ours: Downstream, page: string, id: string) {
  const fields = formFields(page, `/signin/idp/${id}`);
  return browser.follow(`${ours.url}/signin/idp/${id}`, { form: fields });
}

/** Counts of what a refused sign-in must not have created. */
export async function census(ours: Downstream) {
  const store = ours.h.server.ctx.store;
  const users = (await store.listUsers()).length;
  const links = (await store.listIdentityLinks()).length;
  assert.ok(hasSignInListing(store));
  const sessions = (await store.listLiveSessions(ours.h.server.ctx.clock())).length;
  return { users, links, sessions };
}
