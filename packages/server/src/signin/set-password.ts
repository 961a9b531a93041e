import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { csrfToken, verifyCsrf } from '../sessions/csrf.js';
import { PasswordPolicyError } from '../users/password.js';
import { sendErrorPage, sendSetPasswordDonePage, sendSetPasswordPage } from '../pages/index.js';
import type { SetPasswordLinks } from './flow.js';
import { formOf } from './errors.js';

const EXPIRED_LINK = {
  title: 'This link has expired',
  message: 'This set-password link has expired or was already used. Ask your administrator for a new one.',
};

/** Link tokens are short random strings; anything else is not looked up. */
const linkToken = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;

/**
 * `GET /account/set-password?token=…`: the form, if the link is live. The token sits in the URL, which is
 * why every page sends `Referrer-Policy: no-referrer` and links nowhere (leaking it through Referer).
 */
export async function showSetPassword(
  ctx: ServerContext,
  links: SetPasswordLinks,
  request: FastifyRequest<{ Querystring: Record<string, unknown> }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const token = linkToken(request.query.token);
  const user = token === undefined ? undefined : await links.find(ctx.store, token, ctx.clock());
  if (token === undefined || user === undefined) return sendErrorPage(reply, 400, EXPIRED_LINK);
  return sendSetPasswordPage(reply, 200, {
    csrf: csrfToken(ctx, request, reply, 'set-password'),
    token,
    email: user.email,
  });
}

/** `POST /account/set-password`: the policy, then the link is used up and the password set. */
export async function submitSetPassword(
  ctx: ServerContext,
  links: SetPasswordLinks,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const form = formOf(request);
  verifyCsrf(ctx, request, form.get('csrf'), 'set-password');
  const token = linkToken(form.get('token'));
  const user = token === undefined ? undefined : await links.find(ctx.store, token, ctx.clock());
  if (token === undefined || user === undefined) return sendErrorPage(reply, 400, EXPIRED_LINK);
  const again = (error: string) =>
    sendSetPasswordPage(reply, 400, {
      csrf: csrfToken(ctx, request, reply, 'set-password'),
      token,
      email: user.email,
      error,
    });
  const password = form.get('password') ?? '';
  if (password !== (form.get('password_confirm') ?? '')) return again('The two passwords do not match.');
  let updated;
  try {
    updated = await links.use(ctx.store, token, password, ctx.clock());
  } catch (err) {
    if (err instanceof PasswordPolicyError)
      return again(`${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}.`);
    throw err;
  }
  if (updated === undefined) return sendErrorPage(reply, 400, EXPIRED_LINK);
  await ctx.audit('user.password_set', { userId: updated.id, via: 'link' });
  return sendSetPasswordDonePage(reply);
}
