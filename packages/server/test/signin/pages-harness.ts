/**
 * Test setup for the sign-in pages: a real server (the OAuth harness, memory store) plus a second Fastify
 * app that registers the same `signInRoutes` over the same context with stand-ins for the two contracts
 * written in parallel (the waiting authorization request and set-password links), so the pages can be
 * tested before those land. A tiny cookie jar plays the browser.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { startHarness, type Harness } from '../oauth/harness.js';
import type { ServerContext } from '../../src/server/context.js';
import { signInRoutes } from '../../src/signin/routes.js';
import type { InteractionFlow, SetPasswordLinks } from '../../src/signin/flow.js';
import type { InteractionView } from '../../src/oidc/interaction.js';
import type { ActiveSession } from '../../src/sessions/session.js';
import type { UserRecord } from '../../src/store/types.js';
import { checkPasswordPolicy, hashPassword } from '../../src/users/password.js';
import { sendLogoutPage, sendSignedOutPage } from '../../src/pages/index.js';

export interface FlowCall {
  kind: 'continue' | 'deny';
  id: string;
  active?: ActiveSession;
  progress?: { signedIn?: boolean; consented?: boolean };
}

export interface Pages {
  harness: Harness;
  ctx: ServerContext;
  /** The app with the stand-in flow and links (the harness's own app has the real ones). */
  app: FastifyInstance;
  interactions: Map<string, InteractionView>;
  calls: FlowCall[];
  /** Set-password link stand-ins: token → user id and expiry (ms). */
  linkTokens: Map<string, { userId: string; expiresAt: number }>;
  /** Where the stand-in continueAuthorization sends the browser (default: the fake client's callback). */
  continueTo: (id: string, progress: { signedIn?: boolean; consented?: boolean }) => string;
  /** Listen on 127.0.0.1 port 0 and make that the issuer (for a real browser: its Origin must match). */
  listen(): Promise<string>;
  /** Moves the clock of the server (sessions, throttling, links). */
  advance(ms: number): void;
  addUser(email: string, password: string | null, extra?: Partial<UserRecord>): Promise<UserRecord>;
  addInteraction(view?: Partial<InteractionView>): string;
  close(): Promise<void>;
}

/** What the stand-in continueAuthorization/denyAuthorization answer: a redirect to a fake client. */
export const CLIENT_CALLBACK = 'https://app.example/callback';

export async function startPages(values: Record<string, string> = {}): Promise<Pages> {
  let offset = 0;
  const clock = () => Date.now() + offset;
  const harness = await startHarness({ ...values }, { clock });
  // A copy with its own config, so `listen` can make the page app's URL the issuer.
  const ctx: ServerContext = { ...harness.server.ctx, config: { ...harness.server.ctx.config } };
  const interactions = new Map<string, InteractionView>();
  const calls: FlowCall[] = [];
  const linkTokens = new Map<string, { userId: string; expiresAt: number }>();

  const flow: InteractionFlow = {
    load: async (_ctx, id) => interactions.get(id),
    continue: async (_ctx, _request, reply, id, active, progress) => {
      calls.push({ kind: 'continue', id, active, progress });
      return reply.redirect(pages.continueTo(id, progress), 303);
    },
    deny: async (_ctx, _request, reply, id) => {
      calls.push({ kind: 'deny', id });
      return reply.redirect(`${CLIENT_CALLBACK}?error=access_denied&state=${id}`, 303);
    },
  };
  // The users/links.ts contract: find without using; use checks the policy first (link kept), then once.
  const links: SetPasswordLinks = {
    find: async (store, token, now) => {
      const link = linkTokens.get(token);
      return link === undefined || link.expiresAt <= now ? undefined : store.getUser(link.userId);
    },
    use: async (store, token, password, now) => {
      checkPasswordPolicy(password);
      const link = linkTokens.get(token);
      if (link === undefined || link.expiresAt <= now) return undefined;
      linkTokens.delete(token);
      const user = await store.getUser(link.userId);
      if (user === undefined) return undefined;
      const updated = { ...user, passwordHash: await hashPassword(password), updatedAt: now };
      await store.updateUser(updated);
      return updated;
    },
  };

  const app = Fastify();
  await app.register(signInRoutes, { ctx, flow, links });
  // The two pages the OIDC logout route sends (not routed by the sign-in plugin), for the header checks.
  app.get('/test/logout-page', async (_request, reply: FastifyReply) =>
    sendLogoutPage(reply, { csrf: 'x', clientId: 'web', fields: { state: 's', id_token_hint: 'h' } }),
  );
  app.get('/test/callback', async (_request, reply: FastifyReply) =>
    reply.type('text/plain; charset=utf-8').send('back at the application'),
  );
  app.get('/test/signed-out-page', async (_request, reply: FastifyReply) => sendSignedOutPage(reply));
  await app.ready();

  const pages: Pages = {
    continueTo: (id) => `${CLIENT_CALLBACK}?code=fake&state=${id}`,
    async listen() {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      ctx.config.issuer = url;
      return url;
    },
    harness,
    ctx,
    app,
    interactions,
    calls,
    linkTokens,
    advance(ms) {
      offset += ms;
    },
    async addUser(email, password, extra = {}) {
      const now = clock();
      const user: UserRecord = {
        id: randomBytes(12).toString('base64url'),
        email,
        name: null,
        emailVerified: true,
        disabled: false,
        claims: '{}',
        passwordHash: password === null ? null : await hashPassword(password),
        createdAt: now,
        updatedAt: now,
        ...extra,
      };
      await ctx.store.createUser(user);
      return user;
    },
    addInteraction(view = {}) {
      const id = randomBytes(16).toString('base64url');
      interactions.set(id, {
        id,
        clientId: 'web-app',
        scope: ['openid'],
        loginHint: undefined,
        redirectUri: CLIENT_CALLBACK,
        ...view,
      });
      return id;
    },
    async close() {
      await app.close();
      await harness.close();
    },
  };
  return pages;
}

export interface PageResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  /** The hidden csrf field's value, if the page has one. */
  csrf: string | undefined;
  setCookies: string[];
}

/** A browser in miniature: keeps cookies across requests to one app (inject). */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly app: FastifyInstance,
    readonly remoteAddress = '127.0.0.1',
  ) {}

  get(url: string, headers: Record<string, string> = {}): Promise<PageResponse> {
    return this.#send('GET', url, undefined, headers);
  }

  post(
    url: string,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<PageResponse> {
    return this.#send('POST', url, new URLSearchParams(form).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
    });
  }

  async #send(
    method: 'GET' | 'POST',
    url: string,
    payload: string | undefined,
    headers: Record<string, string>,
  ): Promise<PageResponse> {
    const cookie = [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
    const res = await this.app.inject({
      method,
      url,
      remoteAddress: this.remoteAddress,
      ...(payload !== undefined && { payload }),
      headers: { ...(cookie && { cookie }), ...headers },
    });
    const raw = res.headers['set-cookie'];
    const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
    for (const line of setCookies) {
      const [pair] = line.split(';', 1);
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: res.statusCode,
      headers: res.headers,
      body: res.body,
      csrf: /name="csrf" value="([^"]+)"/.exec(res.body)?.[1],
      setCookies,
    };
  }
}

/** A page body with its csrf token value and the email field's value blanked, for byte comparison. */
export function normalisePage(body: string): string {
  return body
    .replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value=""')
    .replace(/(name="username"[^>]*value=")[^"]*"/g, '$1"');
}

/** The attributes of every `<tag …>` in a page (a bare attribute maps to ''), in document order. */
export function elements(body: string, tag: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  for (const match of body.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'gi'))) {
    const attrs: Record<string, string> = {};
    for (const a of match[1]!.matchAll(/([a-zA-Z-]+)(?:="([^"]*)")?/g)) attrs[a[1]!] = a[2] ?? '';
    found.push(attrs);
  }
  return found;
}

/** The one element matching every given attribute; fails unless exactly one does. */
export function element(body: string, tag: string, match: Record<string, string>): Record<string, string> {
  const hits = elements(body, tag).filter((attrs) => Object.entries(match).every(([k, v]) => attrs[k] === v));
  if (hits.length !== 1)
    throw new Error(`expected one <${tag}> with ${JSON.stringify(match)}, found ${hits.length}`);
  return hits[0]!;
}
