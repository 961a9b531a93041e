/**
 * The proxy's two cookies, both sealed (cookie-crypto.ts), HttpOnly (no script can read the tokens, XSS in
 * the app cannot exfiltrate them) and SameSite=Lax (not sent on cross-site subrequests: CSRF). On an https
 * public URL they are `Secure` and `__Host-` prefixed (RFC 6265bis §4.1.3.2: host-only, path `/`, so a
 * sibling subdomain cannot plant or overwrite them: session fixation by cookie tossing).
 *
 * - the session: access token, refresh token, access-token expiry, and the ID token when it fits (the
 *   logout hint); at most 7 days old, whatever the refresh token allows.
 * - the pending sign-in: state, nonce, PKCE verifier and return path, 10 minutes, single use (cleared at the
 *   callback).
 */
import { parseCookie, stringifySetCookie } from 'cookie';
import type { PendingSignIn } from '../relying-party/types.js';
import { createCookieSealer, type CookieSealer } from './cookie-crypto.js';

export interface ProxySession {
  accessToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  refreshToken?: string;
  idToken?: string;
  /** When the user signed in (ms): bounds the session's whole life. */
  createdAt: number;
}

export interface PendingProxySignIn extends PendingSignIn {
  returnTo: string;
}

export const SESSION_MAX_AGE_S = 7 * 24 * 3600;
export const PENDING_MAX_AGE_S = 600;
/** Browsers keep at least 4096 bytes per cookie, name and attributes included (RFC 6265bis §5.6). */
const COOKIE_VALUE_BUDGET = 3800;
/** Opened session cookies kept (oldest first out). */
const OPENED_MAX = 10_000;

/** Read and write the proxy's cookies for one public origin. */
export interface CookieJar {
  readonly sessionName: string;
  readonly pendingName: string;
  /** Every cookie name this proxy owns (stripped before forwarding). */
  readonly names: ReadonlySet<string>;
  readSession(cookieHeader: string | undefined, now: number): ProxySession | undefined;
  /** The Set-Cookie value; the ID token is left out when the cookie would not fit. */
  sessionCookie(session: ProxySession, now: number): string;
  readPending(cookieHeader: string | undefined, now: number): PendingProxySignIn | undefined;
  pendingCookie(pending: PendingProxySignIn): string;
  clear(name: string): string;
}

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 16384) return undefined;
  const value = parseCookie(header)[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The cookie jar for a proxy reachable at `publicUrl`.
 *
 * @example
 * const jar = createCookieJar(new URL('https://app.example'), secret); // __Host-tessera_proxy_session
 */
export function createCookieJar(publicUrl: URL, secret: string): CookieJar {
  const secure = publicUrl.protocol === 'https:';
  const prefix = secure ? '__Host-' : '';
  const sessionName = `${prefix}tessera_proxy_session`;
  const pendingName = `${prefix}tessera_proxy_signin`;
  const sessions: CookieSealer = createCookieSealer(secret, sessionName);
  const pendings: CookieSealer = createCookieSealer(secret, pendingName);
  const opened = new Map<string, Record<string, unknown>>();
  const set = (name: string, value: string, maxAge: number) =>
    stringifySetCookie(name, value, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge });
  return {
    sessionName,
    pendingName,
    names: new Set([sessionName, pendingName]),
    readSession(header, now) {
      const raw = cookieValue(header, sessionName);
      if (raw === undefined) return undefined;
      // The same cookie comes back on every request: its opened value is kept by its exact bytes (an
      // AES-GCM open per request was a tenth of the proxy's CPU). Only authenticated values are kept.
      let v = opened.get(raw);
      if (v === undefined) {
        v = sessions.open(raw);
        if (v !== undefined) {
          if (opened.size >= OPENED_MAX) opened.delete(opened.keys().next().value!);
          opened.set(raw, v);
        }
      }
      if (v === undefined || !str(v['at']) || typeof v['exp'] !== 'number' || typeof v['c'] !== 'number')
        return undefined;
      if (v['c'] + SESSION_MAX_AGE_S * 1000 <= now) return undefined;
      return {
        accessToken: v['at'],
        expiresAt: v['exp'],
        createdAt: v['c'],
        ...(str(v['rt']) && { refreshToken: v['rt'] }),
        ...(str(v['it']) && { idToken: v['it'] }),
      };
    },
    sessionCookie(s, now) {
      const base = {
        at: s.accessToken,
        exp: s.expiresAt,
        c: s.createdAt,
        ...(s.refreshToken && { rt: s.refreshToken }),
      };
      let sealed = sessions.seal(s.idToken === undefined ? base : { ...base, it: s.idToken });
      // The ID token only serves as the logout hint: dropped rather than split across cookies.
      if (sealed.length > COOKIE_VALUE_BUDGET) sealed = sessions.seal(base);
      const left = Math.max(0, Math.floor((s.createdAt + SESSION_MAX_AGE_S * 1000 - now) / 1000));
      return set(sessionName, sealed, Math.min(SESSION_MAX_AGE_S, left));
    },
    readPending(header, now) {
      const raw = cookieValue(header, pendingName);
      const v = raw === undefined ? undefined : pendings.open(raw);
      if (v === undefined) return undefined;
      const { state, nonce, codeVerifier, createdAt, returnTo } = v;
      if (!str(state) || !str(nonce) || !str(codeVerifier) || !str(returnTo) || typeof createdAt !== 'number')
        return undefined;
      if (createdAt + PENDING_MAX_AGE_S * 1000 <= now) return undefined;
      return { state, nonce, codeVerifier, createdAt, returnTo };
    },
    pendingCookie(p) {
      return set(pendingName, pendings.seal(p), PENDING_MAX_AGE_S);
    },
    clear(name) {
      return set(name, '', 0);
    },
  };
}
