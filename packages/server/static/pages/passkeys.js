// Tessera's passkey page script (sign-in page, account page, enrolment link). The passkey parts of those
// pages start hidden, so without JavaScript (or without WebAuthn) the pages work as before; this reveals them,
// asks Tessera for the ceremony's options, lets @simplewebauthn/browser (loaded just before, from Tessera)
// talk to the authenticator, and posts the answer with the form's CSRF token as an ordinary form submission.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;

  var MESSAGES = {
    cancelled: 'The passkey request was cancelled or timed out. Try again.',
    registered: 'This device already holds a passkey for your account.',
    signin: 'Signing in with a passkey did not work. Try again, or use your password.',
    register: 'The passkey could not be added. Try again.',
  };

  function messageFor(error, purpose) {
    var name = error && error.name;
    if (name === 'NotAllowedError' || name === 'AbortError') return MESSAGES.cancelled;
    if (name === 'InvalidStateError') return MESSAGES.registered;
    return purpose === 'signin' ? MESSAGES.signin : MESSAGES.register;
  }

  async function run(form, button, alert) {
    var purpose = form.getAttribute('data-passkey');
    alert.hidden = true;
    button.disabled = true;
    try {
      var body = { purpose: purpose, csrf: form.elements.csrf.value };
      if (form.elements.token) body.token = form.elements.token.value;
      var answer = await fetch('/passkeys/options', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        credentials: 'same-origin',
      });
      if (answer.status === 403 && purpose === 'register') {
        // The sign-in became too old for changes while the page was open: reload, and the account page
        // offers "Sign in again" instead of the add form.
        var refusal = await answer.json().catch(function () {
          return {};
        });
        if (refusal.error === 'insufficient_user_authentication') return window.location.reload();
      }
      if (!answer.ok) throw new Error('options refused');
      var optionsJSON = await answer.json();
      var credential =
        purpose === 'signin'
          ? await lib.startAuthentication({ optionsJSON: optionsJSON })
          : await lib.startRegistration({ optionsJSON: optionsJSON });
      form.elements.response.value = JSON.stringify(credential);
      form.submit();
    } catch (error) {
      button.disabled = false;
      alert.textContent = messageFor(error, purpose);
      alert.hidden = false;
    }
  }

  document.querySelectorAll('form[data-passkey]').forEach(function (form) {
    var box = form.closest('[data-passkey-box]') || form;
    var button = form.querySelector('[data-passkey-start]');
    var alert = form.querySelector('[data-passkey-alert]');
    if (!button || !alert) return;
    box.hidden = false;
    button.addEventListener('click', function () {
      run(form, button, alert);
    });
  });
})();
