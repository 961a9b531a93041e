/**
 * The page bodies (the layout wraps them). Every form carries its CSRF token; every field has a `<label>`;
 * errors are announced (`role="alert"`) and tied to their field (`aria-describedby`).
 */
import { html, type SafeHtml } from './html.js';
import { providerButtons, type ProviderButton } from './federation-templates.js';
import { passkeySignInSection, type PasskeySignInView } from './passkeys.js';

function hiddenFields(fields: Record<string, string | undefined>): SafeHtml {
  return html`${Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}`;
}

function alert(message: string | undefined, id = 'form-error'): SafeHtml {
  return message === undefined ? html`` : html`<p class="alert" role="alert" id="${id}">${message}</p>`;
}

export interface SignInView {
  csrf: string;
  interaction?: string;
  /** The application asking (shown as "to continue to …"). */
  clientId?: string;
  email?: string;
  error?: string;
  /** The client's redirect URI: where the form's answer may send the browser (the page CSP names it). */
  returnTo?: string;
  /** Upstream identity providers: one "Continue with …" button each (federation). */
  providers?: readonly ProviderButton[];
  /** Where the provider buttons' answers redirect (the upstreams' authorization endpoints; page CSP). */
  providerTargets?: readonly string[];
  /** "Sign in with a passkey" (when the issuer allows passkeys): its CSRF token and scripts. */
  passkey?: Omit<PasskeySignInView, 'interaction'>;
  /** A sign-in asked for again (reauth/return-path.ts): the lead that says why, and a link back. */
  again?: { lead: string; back: string; backTo: string };
}

/** The sign-in form; the attributes are the ones password managers rely on. */
export function signInBody(view: SignInView): SafeHtml {
  const describedBy = view.error === undefined ? undefined : 'form-error';
  return html`<h1>Sign in</h1>
    ${
      view.clientId !== undefined
        ? html`<p class="lead">to continue to <strong class="client">${view.clientId}</strong></p>`
        : html`<p class="lead">${view.again?.lead ?? 'Use your Tessera account.'}</p>`
    }
    ${alert(view.error)}
    <form method="post" action="/signin" class="form">
      ${hiddenFields({ csrf: view.csrf, interaction: view.interaction })}
      <div class="field">
        <label for="username">Email</label>
        <input
          id="username"
          name="username"
          type="email"
          autocomplete="username"
          inputmode="email"
          autocapitalize="none"
          spellcheck="false"
          required
          maxlength="320"
          value="${view.email ?? ''}"
          ${describedBy ? html` aria-describedby="${describedBy}" aria-invalid="true"` : ''}${view.email ? '' : html` autofocus`}
        />
      </div>
      <div class="field">
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxlength="1024"
          ${describedBy ? html` aria-describedby="${describedBy}" aria-invalid="true"` : ''}${view.email ? html` autofocus` : ''}
        />
      </div>
      <div class="actions">
        <button type="submit" class="primary">Sign in</button>
        ${view.interaction === undefined ? '' : html`<button type="submit" name="decision" value="cancel" class="secondary" formnovalidate>Cancel</button>`}
      </div>
    </form>
    ${otherWaysIn(view)}
    ${
      view.again === undefined || view.interaction !== undefined
        ? ''
        : html`<p class="note back"><a href="${view.again.backTo}">${view.again.back}</a></p>`
    }`;
}

/**
 * Below the form: the passkey button (hidden until its script finds WebAuthn) and one button per identity
 * provider, under one "or" divider. The passkey section brings its own divider only when it is alone, so a
 * page without JavaScript never shows a divider above nothing.
 */
function otherWaysIn(view: SignInView): SafeHtml {
  const providers = view.providers ?? [];
  return html`${providers.length === 0 ? '' : html`<div class="divider" role="separator"><span>or</span></div>`}
  ${
    view.passkey === undefined
      ? ''
      : passkeySignInSection({
          ...view.passkey,
          interaction: view.interaction,
          divider: providers.length === 0,
        })
  }
  ${providerButtons(providers, view.csrf, view.interaction)}`;
}

/** What a scope means, in plain language, for the consent page. */
export function describeScope(scope: string): string {
  switch (scope) {
    case 'openid':
      return 'Confirm it is you';
    case 'profile':
      return 'Your name';
    case 'email':
      return 'Your email address';
    case 'offline_access':
      return 'Stay signed in (refresh tokens)';
    default:
      return scope;
  }
}

export interface ConsentView {
  csrf: string;
  interaction: string;
  clientId: string;
  scope: string[];
  email: string;
  /** The client's redirect URI: where Allow and Deny send the browser (the page CSP names it). */
  returnTo: string;
}

export function consentBody(view: ConsentView): SafeHtml {
  const scopes = view.scope.length === 0 ? ['openid'] : view.scope;
  return html`<h1>Allow access?</h1>
    <p class="lead"><strong class="client">${view.clientId}</strong> wants to:</p>
    <ul class="scopes">
      ${scopes.map((s) => html`<li><span class="check" aria-hidden="true"></span><span>${describeScope(s)}</span></li>`)}
    </ul>
    <p class="note">
      Signed in as <strong>${view.email}</strong>. If you allow, Tessera remembers your choice for this
      application.
    </p>
    <form method="post" action="/consent" class="form">
      ${hiddenFields({ csrf: view.csrf, interaction: view.interaction })}
      <div class="actions">
        <button type="submit" name="decision" value="allow" class="primary">Allow</button>
        <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
      </div>
    </form>`;
}

export function errorBody(page: { title: string; message: string }): SafeHtml {
  return html`<h1>${page.title}</h1>
    <p class="lead" role="alert">${page.message}</p>
    <p class="note">You can close this page.</p>`;
}

export interface LogoutView {
  csrf: string;
  clientId?: string;
  fields: Record<string, string>;
}

export function logoutBody(view: LogoutView): SafeHtml {
  return html`<h1>Sign out?</h1>
    <p class="lead">
      ${
        view.clientId === undefined
          ? 'You will be signed out of Tessera.'
          : html`<strong class="client">${view.clientId}</strong> asks to sign you out of Tessera.`
      }
    </p>
    <form method="post" action="/oauth/logout" class="form">
      ${hiddenFields({ ...view.fields, csrf: view.csrf })}
      <div class="actions">
        <button type="submit" name="decision" value="logout" class="primary">Sign out</button>
      </div>
    </form>`;
}

export function signedOutBody(): SafeHtml {
  return html`<h1>You are signed out</h1>
    <p class="lead">You can close this page.</p>`;
}

export function signedInBody(view: {
  csrf: string;
  email: string;
  name: string | null;
  /** Link to the account page (passkeys). */
  account?: boolean;
}): SafeHtml {
  return html`<h1>You are signed in</h1>
    <p class="lead">
      Signed in as
      <strong>${view.name ?? view.email}</strong
      >${view.name === null ? '' : html` <span class="muted">(${view.email})</span>`}.
    </p>
    <p class="note">Go back to the application to carry on, or sign out here.</p>
    ${view.account ? html`<p class="note"><a href="/account">Manage your passkeys</a></p>` : ''}
    <form method="post" action="/signout" class="form">
      ${hiddenFields({ csrf: view.csrf })}
      <div class="actions">
        <button type="submit" class="secondary">Sign out</button>
      </div>
    </form>`;
}

export interface SetPasswordView {
  csrf: string;
  token: string;
  email: string;
  error?: string;
}

export function setPasswordBody(view: SetPasswordView): SafeHtml {
  const invalid = view.error === undefined ? '' : html` aria-invalid="true"`;
  return html`<h1>Choose a password</h1>
    <p class="lead">for <strong>${view.email}</strong></p>
    ${alert(view.error)}
    <form method="post" action="/account/set-password" class="form">
      ${hiddenFields({ csrf: view.csrf, token: view.token })}
      <input type="email" name="username" autocomplete="username" value="${view.email}" hidden readonly />
      <div class="field">
        <label for="password">New password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          minlength="8"
          maxlength="256"
          aria-describedby="password-hint${view.error === undefined ? '' : ' form-error'}"
          ${invalid}
          autofocus
        />
        <p class="hint" id="password-hint">
          At least 8 characters. A few random words make a strong, memorable passphrase.
        </p>
      </div>
      <div class="field">
        <label for="password-confirm">Repeat the password</label>
        <input
          id="password-confirm"
          name="password_confirm"
          type="password"
          autocomplete="new-password"
          required
          minlength="8"
          maxlength="256"
          ${invalid}
        />
      </div>
      <div class="actions">
        <button type="submit" class="primary">Set password</button>
      </div>
    </form>`;
}

export function setPasswordDoneBody(): SafeHtml {
  return html`<h1>Your password is set</h1>
    <p class="lead">Go back to the application and sign in with your new password.</p>
    <p class="note">You can close this page.</p>`;
}
