/**
 * TEMPORARY minimal pages (the sign-in UI work replaces this module with the real layout, stylesheet and
 * templates, keeping these exports). Every page is server-rendered HTML with a strict CSP.
 */
import type { FastifyReply } from 'fastify';

/** No inline script or style, no framing (clickjacking), forms post only to ourselves. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function send(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-security-policy', PAGE_CSP)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Tessera</title></head><body>${body}</body></html>`,
    );
}

/** Tessera's own error page: used whenever an error must not be redirected (unknown client, bad redirect_uri). */
export function sendErrorPage(
  reply: FastifyReply,
  status: number,
  page: { title: string; message: string },
): FastifyReply {
  return send(
    reply,
    status,
    page.title,
    `<h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p>`,
  );
}

/**
 * The RP-initiated logout confirmation: a form posting to `/oauth/logout` with the hidden `fields`, the
 * `csrf` field and `<button type="submit" name="decision" value="logout">`.
 */
export function sendLogoutPage(
  reply: FastifyReply,
  page: { csrf: string; clientId?: string; fields: Record<string, string> },
): FastifyReply {
  const hidden = Object.entries({ ...page.fields, csrf: page.csrf })
    .map(([n, v]) => `<input type="hidden" name="${escapeHtml(n)}" value="${escapeHtml(v)}">`)
    .join('');
  return send(
    reply,
    200,
    'Sign out',
    `<h1>Sign out?</h1><form method="post" action="/oauth/logout">${hidden}<button type="submit" name="decision" value="logout">Sign out</button></form>`,
  );
}

/** Shown after a logout with no (valid) post_logout_redirect_uri. */
export function sendSignedOutPage(reply: FastifyReply): FastifyReply {
  return send(reply, 200, 'Signed out', '<h1>You are signed out</h1>');
}
