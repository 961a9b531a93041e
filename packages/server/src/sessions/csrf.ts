import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { OAuthError } from '../server/errors.js';
import { randomToken } from '../oauth/crypto.js';
import { readCookie, writeCookie } from './cookies.js';

/**
 * CSRF protection for every form Tessera serves (sign-in, consent, logout, set-password): the
 * synchronizer-token pattern bound to a per-browser cookie (OWASP CSRF Prevention Cheat Sheet, "signed
 * double-submit cookie"). The form's hidden `csrf` field is an HMAC of the cookie value and the form's
 * purpose under a key derived from the server pepper, so another site can neither read nor forge it, and
 * a token for one form does not work on another. Login CSRF is covered too: the cookie exists before any
 * session does. On top, a cross-site `Sec-Fetch-Site` or a foreign `Origin` is refused outright.
 */
export const CSRF_COOKIE = 'tessera_csrf';
export const CSRF_FIELD = 'csrf';

const keys = new WeakMap<Buffer, Buffer>();
function csrfKey(ctx: ServerContext): Buffer {
  let key = keys.get(ctx.pepper);
  if (key === undefined) {
    key = createHmac('sha256', ctx.pepper).update('tessera csrf v1').digest();
    keys.set(ctx.pepper, key);
  }
  return key;
}

function mac(ctx: ServerContext, browser: string, purpose: string): string {
  return createHmac('sha256', csrfKey(ctx)).update(`${purpose}\0${browser}`).digest('base64url');
}

/** Cookie values set during a request that arrived without one. */
const issued = new WeakMap<FastifyRequest, string>();

/**
 * The token for a form's hidden `csrf` field; sets the browser cookie when it has none.
 *
 * @example
 * const csrf = csrfToken(ctx, request, reply, 'signin');
 */
export function csrfToken(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  purpose: string,
): string {
  let browser = issued.get(request) ?? readCookie(ctx, request, CSRF_COOKIE);
  if (browser === undefined || browser.length !== 43) {
    browser = randomToken(32);
    // A session cookie (no Max-Age): it only needs to outlive the form.
    writeCookie(ctx, reply, CSRF_COOKIE, browser, undefined);
    // A page with several forms (sign-in with a passkey section, the account page) asks more than once:
    // every token of this response must be bound to the one cookie it sets.
    issued.set(request, browser);
  }
  return mac(ctx, browser, purpose);
}

/** Refused form posts are 403 with a fixed message; the page layer renders it. */
export class CsrfError extends OAuthError {
  override readonly name = 'CsrfError';
  constructor() {
    super(403, 'invalid_request', 'the form expired or did not come from this site; go back and try again');
  }
}

/**
 * Check a form post's `csrf` field against the browser cookie and its purpose, and refuse cross-site posts
 * (`Sec-Fetch-Site: cross-site`/`same-site`, or an `Origin` other than the issuer's).
 *
 * @example
 * verifyCsrf(ctx, request, form.get('csrf'), 'signin');
 */
export function verifyCsrf(
  ctx: ServerContext,
  request: FastifyRequest,
  submitted: string | undefined,
  purpose: string,
): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new CsrfError();
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null' && origin !== new URL(ctx.config.issuer).origin)
    throw new CsrfError();
  const browser = readCookie(ctx, request, CSRF_COOKIE);
  if (browser === undefined || submitted === undefined) throw new CsrfError();
  const expected = Buffer.from(mac(ctx, browser, purpose));
  const given = Buffer.from(submitted);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new CsrfError();
}
