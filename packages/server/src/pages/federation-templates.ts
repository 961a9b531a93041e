/**
 * Page parts for federation: one "Continue with …" button per upstream identity provider under the
 * sign-in form, and the page shown when an upstream identity asserts the email of an existing account.
 * In their own module so other sign-in methods add their buttons beside these without touching them.
 */
import { html, type SafeHtml } from './html.js';

/** A provider as the sign-in page shows it. */
export interface ProviderButton {
  id: string;
  name: string;
}

/**
 * One form per provider (the sign-in page puts them under its "or" divider), each posting to `/signin/idp/{id}` with the CSRF token and the waiting request's id
 * (CSRF: a form, not a link, so another site cannot start a sign-in in the user's browser).
 *
 * @example providerButtons([{ id: 'corp', name: 'Corp SSO' }], csrf, interaction)
 */
export function providerButtons(
  providers: readonly ProviderButton[],
  csrf: string,
  interaction: string | undefined,
): SafeHtml {
  if (providers.length === 0) return html``;
  return html`<div class="providers">
    ${providers.map(
      (p) =>
        html`<form method="post" action="/signin/idp/${p.id}" class="provider-form">
          <input type="hidden" name="csrf" value="${csrf}" />
          ${interaction === undefined ? '' : html`<input type="hidden" name="interaction" value="${interaction}" />`}
          <button type="submit" class="provider">Continue with ${p.name}</button>
        </form>`,
    )}
  </div>`;
}

/**
 * The moment between an upstream sign-in and the application (see federation/continue.ts).
 *
 * @example continueBody('/signin/idp/continue?token=abc')
 */
export function continueBody(next: string): SafeHtml {
  return html`<h1>Signing you in…</h1>
    <p class="lead">You are signed in. Taking you back to the application.</p>
    <div class="actions">
      <a class="button primary" href="${next}">Continue</a>
    </div>`;
}

export interface LinkNeededView {
  providerName: string;
  email: string;
  /** Where the password sign-in continues (the waiting request's sign-in page, or /signin). */
  signInUrl: string;
}

/**
 * An account with this email exists: its owner must prove the password before the identity is linked.
 *
 * @example linkNeededBody({ providerName: 'Corp SSO', email: 'ada@corp.example', signInUrl: '/signin' })
 */
export function linkNeededBody(view: LinkNeededView): SafeHtml {
  return html`<h1>Link your account</h1>
    <p class="lead">
      An account with the email <strong>${view.email}</strong> already exists. Sign in with your password to
      link it to ${view.providerName}.
    </p>
    <p class="note">
      After that, you can continue with ${view.providerName} directly. If this is not your account, close this
      page.
    </p>
    <div class="actions">
      <a class="button primary" href="${view.signInUrl}">Sign in with your password</a>
    </div>`;
}
