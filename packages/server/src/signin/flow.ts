/**
 * The two contracts the pages call into, gathered so the routes take them as options: the waiting
 * authorization request (oidc/interaction.ts) and one-time set-password links (users/links.ts). The app
 * passes nothing and gets the real modules; tests can pass their own.
 */
import { continueAuthorization, denyAuthorization, loadInteraction } from '../oidc/interaction.js';
import { findSetPasswordLink, useSetPasswordLink } from '../users/links.js';

export interface InteractionFlow {
  load: typeof loadInteraction;
  continue: typeof continueAuthorization;
  deny: typeof denyAuthorization;
}

export interface SetPasswordLinks {
  find: typeof findSetPasswordLink;
  use: typeof useSetPasswordLink;
}

export const DEFAULT_FLOW: InteractionFlow = {
  load: loadInteraction,
  continue: continueAuthorization,
  deny: denyAuthorization,
};

export const DEFAULT_LINKS: SetPasswordLinks = {
  find: findSetPasswordLink,
  use: useSetPasswordLink,
};
