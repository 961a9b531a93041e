/**
 * What the pages outside this folder need to show passkeys: the sign-in page's passkey section (its CSRF
 * token and scripts), or nothing when the issuer cannot use passkeys (passkeys/settings.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { csrfToken } from '../sessions/csrf.js';
import { passkeyScriptPaths } from './assets.js';
import { passkeyIdentity } from './settings.js';

/** CSRF purposes of the passkey forms (a token for one form does not work on another). */
export const CSRF_SIGNIN = 'passkey-signin';
export const CSRF_ACCOUNT = 'account';
export const CSRF_ENROL = 'passkey-enrol';

/**
 * The sign-in page's passkey section, or undefined when passkeys are not available on this issuer.
 *
 * @example sendSignInPage(reply, 200, { csrf, passkey: passkeySignInView(ctx, request, reply) });
 */
export function passkeySignInView(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
): { csrf: string; scripts: readonly string[] } | undefined {
  if (passkeyIdentity(ctx.config.issuer) === undefined) return undefined;
  return { csrf: csrfToken(ctx, request, reply, CSRF_SIGNIN), scripts: passkeyScriptPaths() };
}
