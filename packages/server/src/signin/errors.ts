import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../server/context.js';
import { OAuthError } from '../server/errors.js';
import { StoreUnavailableError } from '../store/types.js';
import { CsrfError } from '../sessions/csrf.js';
import { sendErrorPage } from '../pages/index.js';
import { FormParams } from '../oauth/form.js';

/** The page for an unknown or expired interaction id: nothing to continue, the client must start again. */
export const EXPIRED_SIGNIN = {
  title: 'This sign-in has expired',
  message: 'This sign-in link has expired; go back to the application and start again.',
};

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1) + '.';

/**
 * Every failure on a page route is a page, never a JSON body: a refused CSRF check (403), a store or Redis
 * outage (503), a malformed request (400), anything else a logged 500 that says nothing about the cause.
 */
export function sendPageError(
  ctx: ServerContext,
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (err instanceof CsrfError)
    return sendErrorPage(reply, 403, { title: 'This form has expired', message: sentence(err.message) });
  if (err instanceof StoreUnavailableError) {
    request.log.warn({ err: { message: err.message } }, 'page unavailable: store');
    reply.header('retry-after', '1');
    return sendErrorPage(reply, 503, {
      title: 'Temporarily unavailable',
      message: 'Tessera cannot answer right now. Please try again in a moment.',
    });
  }
  const fe = err as Partial<FastifyError> | undefined;
  const status = err instanceof OAuthError ? err.status : fe?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return sendErrorPage(reply, status === 413 || status === 415 ? status : 400, {
      title: 'Something is wrong with this request',
      message: 'The page could not handle what was sent. Go back to the application and start again.',
    });
  }
  ctx.log.error({ err, path: request.url.split('?', 1)[0] }, 'page failed');
  return sendErrorPage(reply, 500, {
    title: 'Something went wrong',
    message: 'Tessera could not finish this request. Please go back to the application and try again.',
  });
}

/** The parsed form of a page post; anything but a form body (JSON, none at all) is a 400 page. */
export function formOf(request: FastifyRequest): FormParams {
  if (request.body instanceof FormParams) return request.body;
  throw new OAuthError(400, 'invalid_request', 'expected a form body');
}
