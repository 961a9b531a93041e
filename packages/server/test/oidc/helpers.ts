/**
 * OIDC test helpers: a server on the memory store, authorization_code clients inserted as ClientRecords,
 * users and live sessions created directly in the store (the browser after sign-in), and an oauth4webapi
 * relying party.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import type { ClientRecord, SessionRecord, UserRecord } from '../../src/store/types.js';
import { hashClientSecret, hashToken } from '../../src/oauth/crypto.js';
import { hashPassword } from '../../src/users/password.js';
import { startHarness, type Harness } from '../oauth/harness.js';

export const INSECURE = { [oauth.allowInsecureRequests]: true } as const;

/** A server on the default SQLite store (temp data dir) with rate limits off. */
export function startOidcHarness(
  values: Record<string, string> = {},
  options: { clock?: () => number } = {},
): Promise<Harness> {
  return startHarness({ 'rate-limit-client': '0', 'rate-limit-ip': '0', ...values }, options);
}

export interface CodeClient {
  record: ClientRecord;
  /** Undefined for a public client. */
  secret: string | undefined;
  redirectUri: string;
}

/** Insert an authorization_code client (confidential by default) straight into the store. */
export async function addCodeClient(
  h: Harness,
  id: string,
  fields: Partial<ClientRecord> = {},
): Promise<CodeClient> {
  const ctx = h.server.ctx;
  const isPublic = fields.authMethod === 'none';
  const secret = isPublic ? undefined : randomBytes(32).toString('base64url');
  const redirectUri = `https://${id}.example/callback`;
  const record: ClientRecord = {
    id,
    secretHash: secret === undefined ? null : hashClientSecret(ctx.pepper, secret),
    authMethod: 'client_secret_basic',
    grants: ['authorization_code', 'refresh_token'],
    audience: [],
    scope: [],
    jwks: null,
    tokenFormat: 'jwt',
    accessTtl: 900,
    allowedClaims: [],
    refreshAbsoluteTtl: 7 * 24 * 3600,
    refreshIdleTtl: 24 * 3600,
    createdAt: ctx.clock(),
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [`https://${id}.example/signed-out`],
    firstParty: true,
    ...fields,
  };
  await ctx.store.createClient(record);
  return { record, secret, redirectUri: record.redirectUris![0]! };
}

let userCount = 0;

/** Create a user (with a password hash, as the CLI would). */
export async function createUser(h: Harness, fields: Partial<UserRecord> = {}): Promise<UserRecord> {
  const now = h.server.ctx.clock();
  userCount += 1;
  const user: UserRecord = {
    id: randomBytes(16).toString('base64url'),
    email: `user${userCount}-${randomBytes(4).toString('hex')}@example.com`,
    name: `User ${userCount}`,
    emailVerified: true,
    disabled: false,
    claims: '{}',
    passwordHash: await hashPassword('correct horse battery staple'),
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
  await h.server.ctx.store.createUser(user);
  return user;
}

export interface Browser {
  user: UserRecord;
  session: SessionRecord;
  /** The Cookie header value. */
  cookie: string;
}

/** A live session for `user`, as the sign-in page would have created it; the cookie plays the browser. */
export async function signIn(
  h: Harness,
  user: UserRecord,
  fields: Partial<SessionRecord> = {},
): Promise<Browser> {
  const ctx = h.server.ctx;
  const now = ctx.clock();
  const secret = randomBytes(32).toString('base64url');
  const session: SessionRecord = {
    id: randomBytes(16).toString('base64url'),
    secretHash: hashToken(secret),
    userId: user.id,
    authTime: now,
    amr: ['pwd'],
    acr: '1',
    createdAt: now,
    idleExpiresAt: now + 3600_000,
    absoluteExpiresAt: now + 7 * 24 * 3600_000,
    ...fields,
  };
  await ctx.store.createSession(session);
  return { user, session, cookie: `tessera_session=${secret}` };
}

/** A PKCE pair (RFC 7636 S256). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface AuthorizeResult {
  status: number;
  location: string | undefined;
  body: string;
  headers: Record<string, unknown>;
}

/** GET /oauth/authorize with `params` (a string is sent as the raw query), in-process. */
export async function authorize(
  h: Harness,
  params: Record<string, string> | string,
  cookie?: string,
): Promise<AuthorizeResult> {
  const query = typeof params === 'string' ? params : new URLSearchParams(params).toString();
  const res = await h.server.app.inject({
    method: 'GET',
    url: `/oauth/authorize?${query}`,
    headers: cookie === undefined ? {} : { cookie },
  });
  const location = res.headers.location;
  return {
    status: res.statusCode,
    location: typeof location === 'string' ? location : undefined,
    body: res.body,
    headers: res.headers,
  };
}

/** The standard parameters of a request for `client` (override or drop with `extra`). */
export function codeRequest(
  client: CodeClient,
  challenge: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: client.record.id,
    redirect_uri: client.redirectUri,
    scope: 'openid profile email',
    state: 'st-' + randomBytes(8).toString('hex'),
    nonce: 'n-' + randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
}

/** Run an authorization request with a signed-in browser and return the code from the redirect. */
export async function getCode(
  h: Harness,
  client: CodeClient,
  browser: Browser,
  extra: Record<string, string | undefined> = {},
): Promise<{ code: string; verifier: string; params: Record<string, string> }> {
  const { verifier, challenge } = pkce();
  const params = codeRequest(client, challenge, extra);
  const res = await authorize(h, params, browser.cookie);
  if (res.status !== 302 || res.location === undefined)
    throw new Error(`no redirect: ${res.status} ${res.body}`);
  const code = new URL(res.location).searchParams.get('code');
  if (code === null) throw new Error(`no code: ${res.location}`);
  return { code, verifier, params };
}

/** Token request for a code, with the client's own credentials. */
export function redeem(
  h: Harness,
  client: CodeClient,
  form: Record<string, string>,
  authAs: CodeClient = client,
) {
  const headers: Record<string, string> = {};
  const body: Record<string, string> = { grant_type: 'authorization_code', ...form };
  if (authAs.secret !== undefined)
    headers.authorization = `Basic ${Buffer.from(`${authAs.record.id}:${authAs.secret}`).toString('base64')}`;
  else body.client_id = authAs.record.id;
  return h.post('/oauth/token', body, headers);
}

/** oauth4webapi's view of the server (discovery over real HTTP). */
export async function discover(h: Harness): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(h.url);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, INSECURE));
}
