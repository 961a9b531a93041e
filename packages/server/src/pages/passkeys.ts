/**
 * The passkey pages' markup: the sign-in page's passkey section (its own function, so the sign-in page can
 * hold it next to other ways to sign in), the account page and the enrolment-link page. Every part that needs
 * JavaScript starts `hidden` and static/pages/passkeys.js reveals it; each form carries its CSRF token.
 */
import type { FastifyReply } from 'fastify';
import { html, type SafeHtml } from './html.js';
import { sendPage } from './layout.js';

const DATE = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' });
const day = (ms: number): string => DATE.format(new Date(ms));

function alert(message: string | undefined): SafeHtml {
  return message === undefined ? html`` : html`<p class="alert" role="alert" id="form-error">${message}</p>`;
}

/** The passkey button's form: `purpose` is what it asks /passkeys/options for. */
function ceremonyForm(options: {
  purpose: 'signin' | 'register' | 'enrol';
  action: string;
  fields: Record<string, string | undefined>;
  button: string;
  buttonClass: string;
  extra?: SafeHtml;
}): SafeHtml {
  const hidden = Object.entries({ ...options.fields, response: '' })
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`);
  return html`<form method="post" action="${options.action}" class="form" data-passkey="${options.purpose}">
    ${hidden} ${options.extra ?? ''}
    <p class="alert" role="alert" data-passkey-alert hidden></p>
    <div class="actions">
      <button type="button" class="${options.buttonClass}" data-passkey-start>${options.button}</button>
    </div>
  </form>`;
}

export interface PasskeySignInView {
  csrf: string;
  interaction?: string;
  /** The passkey script URLs the page must load. */
  scripts: readonly string[];
  /** Its own "or" divider: when nothing else (no provider buttons) sits under the form. Default true. */
  divider?: boolean;
}

/**
 * The sign-in page's "Sign in with a passkey" section (hidden until the script finds WebAuthn).
 *
 * @example html`${signInBody(view)}${passkeySignInSection({ csrf, interaction })}`
 */
export function passkeySignInSection(view: PasskeySignInView): SafeHtml {
  return html`<div class="passkey-signin" data-passkey-box hidden>
    ${view.divider === false ? '' : html`<p class="divider"><span>or</span></p>`}
    ${ceremonyForm({
      purpose: 'signin',
      action: '/signin/passkey',
      fields: { csrf: view.csrf, interaction: view.interaction },
      button: 'Sign in with a passkey',
      buttonClass: 'secondary passkey',
    })}
  </div>`;
}

export interface AccountPasskey {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  backedUp: boolean;
}

export interface AccountView {
  csrf: string;
  /** The sign-out form's token (its own CSRF purpose). */
  signoutCsrf: string;
  email: string;
  name: string | null;
  passkeys: AccountPasskey[];
  /** Passkeys work on this issuer (https, or localhost); otherwise the page says why none can be added. */
  available: boolean;
  /**
   * Set when the sign-in is too old to add or remove passkeys: the "Sign in again" form's CSRF token and the
   * window in words ("10 minutes"). The list stays; the add and remove forms give way to that form.
   */
  reauth?: { csrf: string; window: string };
  error?: string;
  notice?: string;
}

function passkeyRow(p: AccountPasskey, csrf: string | undefined): SafeHtml {
  return html`<li class="passkey-item">
    <div class="passkey-text">
      <strong class="passkey-name">${p.name}</strong>
      <span class="passkey-meta"
        >Added ${day(p.createdAt)} ·
        ${p.lastUsedAt === null ? 'never used' : html`last used ${day(p.lastUsedAt)}`}${
          p.backedUp ? ' · synced' : ''
        }</span
      >
    </div>
    ${
      csrf === undefined
        ? ''
        : html`<form method="post" action="/account/passkeys/remove" class="inline-form">
            <input type="hidden" name="csrf" value="${csrf}" />
            <input type="hidden" name="id" value="${p.id}" />
            <button type="submit" class="secondary small" aria-label="Remove ${p.name}">Remove</button>
          </form>`
    }
  </li>`;
}

/** In place of the add and remove forms while the sign-in is too old for changes. */
function reauthBox(reauth: { csrf: string; window: string }): SafeHtml {
  return html`<div class="reauth">
    <p class="reauth-title">Sign in again to add or remove passkeys</p>
    <p class="hint">
      For your security, changing how you sign in needs a sign-in from the last ${reauth.window}. You will
      come back to this page.
    </p>
    <form method="post" action="/account/reauth" class="form">
      <input type="hidden" name="csrf" value="${reauth.csrf}" />
      <div class="actions"><button type="submit" class="primary">Sign in again</button></div>
    </form>
  </div>`;
}

/** The add form (its script reveals it), or why passkeys cannot be added on this issuer. */
function addSection(view: AccountView): SafeHtml {
  const https = html`<p class="note">Passkeys need Tessera to be served over https.</p>`;
  // Removing still works where adding cannot (an issuer whose host name changed), so the box comes first.
  if (view.reauth !== undefined) return html`${reauthBox(view.reauth)}${view.available ? '' : https}`;
  if (!view.available) return https;
  return html`<div data-passkey-box hidden>
      ${ceremonyForm({
        purpose: 'register',
        action: '/account/passkeys',
        fields: { csrf: view.csrf },
        button: 'Add a passkey',
        buttonClass: 'primary',
        extra: html`<div class="field">
          <label for="passkey-name">Name for the new passkey</label>
          <input id="passkey-name" name="name" type="text" maxlength="64" autocomplete="off" />
          <p class="hint">For example “Work laptop” or “Phone”.</p>
        </div>`,
      })}
    </div>
    <noscript><p class="note">Adding a passkey needs JavaScript in this browser.</p></noscript>`;
}

/** The account page: who is signed in, their passkeys, add one, remove one. */
export function accountBody(view: AccountView): SafeHtml {
  return html`<h1>Your passkeys</h1>
    <p class="lead">
      Signed in as
      <strong>${view.name ?? view.email}</strong
      >${view.name === null ? '' : html` <span class="muted">(${view.email})</span>`}
    </p>
    ${alert(view.error)}
    ${view.notice === undefined ? '' : html`<p class="notice" role="status">${view.notice}</p>`}
    ${
      view.passkeys.length === 0
        ? html`<p class="note empty">
            No passkeys yet. A passkey lets you sign in with your fingerprint, face or device PIN instead of a
            password.
          </p>`
        : html`<ul class="passkeys">
            ${view.passkeys.map((p) => passkeyRow(p, view.reauth === undefined ? view.csrf : undefined))}
          </ul>`
    }
    ${addSection(view)}
    <form method="post" action="/signout" class="form">
      <input type="hidden" name="csrf" value="${view.signoutCsrf}" />
      <div class="actions"><button type="submit" class="secondary">Sign out</button></div>
    </form>`;
}

export interface EnrolView {
  csrf: string;
  token: string;
  email: string;
  error?: string;
}

/** The enrolment link's page: one button that registers a passkey for the link's user. */
export function enrolBody(view: EnrolView): SafeHtml {
  return html`<h1>Add a passkey</h1>
    <p class="lead">for <strong>${view.email}</strong></p>
    ${alert(view.error)}
    <p class="note first">
      Your device will ask for your fingerprint, face or PIN. The passkey stays on your device; Tessera only
      keeps its public key.
    </p>
    <div data-passkey-box hidden>
      ${ceremonyForm({
        purpose: 'enrol',
        action: '/account/passkey',
        fields: { csrf: view.csrf, token: view.token },
        button: 'Create a passkey',
        buttonClass: 'primary',
      })}
    </div>
    <noscript><p class="note">Creating a passkey needs JavaScript in this browser.</p></noscript>`;
}

export function enrolDoneBody(): SafeHtml {
  return html`<h1>Your passkey is ready</h1>
    <p class="lead">Go back to the application and choose “Sign in with a passkey”.</p>
    <p class="note">You can close this page.</p>`;
}

/**
 * Send the account page (with the passkey scripts).
 *
 * @example sendAccountPage(reply, 200, view, passkeyScriptPaths());
 */
export function sendAccountPage(
  reply: FastifyReply,
  status: number,
  view: AccountView,
  scripts: readonly string[],
): FastifyReply {
  return sendPage(reply, status, 'Your passkeys', accountBody(view), [], {
    // Stale: no add form, so no script (the page works the same without it).
    scripts: view.available && view.reauth === undefined ? scripts : [],
  });
}

/** Send the enrolment-link page (with the passkey scripts). */
export function sendEnrolPage(
  reply: FastifyReply,
  status: number,
  view: EnrolView,
  scripts: readonly string[],
): FastifyReply {
  return sendPage(reply, status, 'Add a passkey', enrolBody(view), [], { scripts });
}

export function sendEnrolDonePage(reply: FastifyReply): FastifyReply {
  return sendPage(reply, 200, 'Passkey added', enrolDoneBody());
}
