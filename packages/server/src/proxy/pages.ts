/**
 * The proxy's own pages (access denied, sign out, signed out, errors), in Tessera's layout and under the same
 * strict CSP (no script, our stylesheet only). The stylesheet is served under `/.tessera/`, so every other
 * path stays the app's.
 */
import type { FastifyReply } from 'fastify';
import { html, pageStylesheet, sendPage } from '../pages/index.js';

/**
 * Where the proxy serves the stylesheet (content-hashed, cached for a year).
 *
 * @example proxyStylesheetPath(); // '/.tessera/pages/tessera.3kq0…css'
 */
export function proxyStylesheetPath(): string {
  return `/.tessera${pageStylesheet().path}`;
}

const send = (reply: FastifyReply, status: number, title: string, body: ReturnType<typeof html>) =>
  sendPage(reply, status, title, body, [], { stylesheetHref: proxyStylesheetPath() });

/**
 * 403 for a signed-in user the policy refuses: who they are, why in general terms, and a way to sign in as
 * someone else.
 *
 * @example sendDeniedPage(reply, { email: 'mallory@example.net' });
 */
export function sendDeniedPage(reply: FastifyReply, view: { email: string | undefined }): FastifyReply {
  return send(
    reply,
    403,
    'Access denied',
    html`<h1>You don't have access</h1>
      <p class="lead">
        ${
          view.email === undefined
            ? html`Your account is not allowed to use this application.`
            : html`You are signed in as <strong>${view.email}</strong>, and this account is not allowed to use
                this application.`
        }
      </p>
      <p class="note">Ask the application's owner for access, or sign out and use another account.</p>
      <div class="actions"><a class="button" href="/.tessera/logout">Sign out</a></div>`,
  );
}

/**
 * The sign-out confirmation: a POST form with the CSRF token, so another site cannot sign the user out.
 *
 * @example sendProxyLogoutPage(reply, csrf);
 */
export function sendProxyLogoutPage(reply: FastifyReply, csrf: string): FastifyReply {
  return send(
    reply,
    200,
    'Sign out',
    html`<h1>Sign out?</h1>
      <p class="lead">You will be signed out of this application.</p>
      <form method="post" action="/.tessera/logout" class="form">
        <input type="hidden" name="csrf" value="${csrf}" />
        <div class="actions">
          <button type="submit" class="primary">Sign out</button>
        </div>
      </form>`,
  );
}

/**
 * After a logout the issuer could not complete itself (no end_session_endpoint), or its return.
 *
 * @example sendProxySignedOutPage(reply);
 */
export function sendProxySignedOutPage(reply: FastifyReply): FastifyReply {
  return send(
    reply,
    200,
    'Signed out',
    html`<h1>You are signed out</h1>
      <p class="lead">You can close this page.</p>
      <div class="actions"><a class="button" href="/">Sign in again</a></div>`,
  );
}

/**
 * A fixed-text error page (upstream down or slow, sign-in failed). Never the cause: no upstream address, no
 * provider error text, no token.
 *
 * @example sendProxyErrorPage(reply, 502, { title: 'Application unavailable', message: '…' });
 */
export function sendProxyErrorPage(
  reply: FastifyReply,
  status: number,
  page: { title: string; message: string; retry?: boolean },
): FastifyReply {
  return send(
    reply,
    status,
    page.title,
    html`<h1>${page.title}</h1>
      <p class="lead" role="alert">${page.message}</p>
      ${page.retry ? html`<div class="actions"><a class="button" href="/">Try again</a></div>` : ''}`,
  );
}
