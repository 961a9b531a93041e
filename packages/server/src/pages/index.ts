/**
 * Tessera's own pages, rendered on the server: no script, one static stylesheet, a strict CSP and the
 * anti-framing headers on every page (issue 14, "Login, sessions, consent").
 */
import type { FastifyReply } from 'fastify';
import { sendPage } from './layout.js';
import { continueBody, linkNeededBody, type LinkNeededView } from './federation-templates.js';
import {
  consentBody,
  errorBody,
  logoutBody,
  setPasswordBody,
  setPasswordDoneBody,
  signedInBody,
  signedOutBody,
  signInBody,
  type ConsentView,
  type SetPasswordView,
  type SignInView,
} from './templates.js';

export { PAGE_CSP, PAGE_HEADERS, pageCsp, pageStylesheet, sendPage } from './layout.js';
export { escapeHtml, html, SafeHtml } from './html.js';
export { describeScope } from './templates.js';
export {
  sendAccountPage,
  sendEnrolDonePage,
  sendEnrolPage,
  type AccountPasskey,
  type AccountView,
  type EnrolView,
} from './passkeys.js';
export type { ConsentView, SetPasswordView, SignInView } from './templates.js';
export type { LinkNeededView, ProviderButton } from './federation-templates.js';

/** Tessera's own error page: used whenever an error must not be redirected (unknown client, bad redirect_uri). */
export function sendErrorPage(
  reply: FastifyReply,
  status: number,
  page: { title: string; message: string },
): FastifyReply {
  return sendPage(reply, status, page.title, errorBody(page));
}

/**
 * The RP-initiated logout confirmation: a form posting to `/oauth/logout` with the hidden `fields`, the
 * `csrf` field and `<button type="submit" name="decision" value="logout">`.
 */
export function sendLogoutPage(
  reply: FastifyReply,
  page: { csrf: string; clientId?: string; fields: Record<string, string>; returnTo?: string },
): FastifyReply {
  return sendPage(
    reply,
    200,
    'Sign out',
    logoutBody(page),
    page.returnTo === undefined ? [] : [page.returnTo],
  );
}

/** Shown after a logout with no (valid) post_logout_redirect_uri. */
export function sendSignedOutPage(reply: FastifyReply): FastifyReply {
  return sendPage(reply, 200, 'Signed out', signedOutBody());
}

/** The sign-in form (status 401 when it comes back with an error). */
export function sendSignInPage(reply: FastifyReply, status: number, view: SignInView): FastifyReply {
  return sendPage(
    reply,
    status,
    'Sign in',
    signInBody(view),
    [...(view.returnTo === undefined ? [] : [view.returnTo]), ...(view.providerTargets ?? [])],
    { scripts: view.passkey?.scripts ?? [] },
  );
}

/**
 * Federation: a page that moves on at once to `next` (a same-origin path) by `<meta http-equiv="refresh">`,
 * starting a fresh navigation (see federation/continue.ts for why).
 *
 * @example return sendContinuePage(reply, '/signin/idp/continue?token=abc');
 */
export function sendContinuePage(reply: FastifyReply, next: string): FastifyReply {
  return sendPage(reply, 200, 'Signing you in', continueBody(next), [], { refreshTo: next });
}

/**
 * Federation: an upstream identity asserted the email of an existing account (see federation/linking.ts).
 *
 * @example return sendLinkNeededPage(reply, { providerName: 'Corp SSO', email, signInUrl: '/signin' });
 */
export function sendLinkNeededPage(reply: FastifyReply, view: LinkNeededView): FastifyReply {
  return sendPage(reply, 200, 'Link your account', linkNeededBody(view));
}

/** The consent page: the client, a line per scope, Allow and Deny. */
export function sendConsentPage(reply: FastifyReply, view: ConsentView): FastifyReply {
  return sendPage(reply, 200, 'Allow access', consentBody(view), [view.returnTo]);
}

/** A direct visit to /signin with a live session: who is signed in, and a sign-out form. */
export function sendSignedInPage(
  reply: FastifyReply,
  view: { csrf: string; email: string; name: string | null; account?: boolean },
): FastifyReply {
  return sendPage(reply, 200, 'Signed in', signedInBody(view));
}

export function sendSetPasswordPage(
  reply: FastifyReply,
  status: number,
  view: SetPasswordView,
): FastifyReply {
  return sendPage(reply, status, 'Choose a password', setPasswordBody(view));
}

export function sendSetPasswordDonePage(reply: FastifyReply): FastifyReply {
  return sendPage(reply, 200, 'Password set', setPasswordDoneBody());
}
