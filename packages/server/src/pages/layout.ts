import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import { html, type SafeHtml } from './html.js';

/**
 * No script (pages with passkey buttons add Tessera's own, see pageCsp), styles only from our own stylesheet (no inline style), no framing (clickjacking, RFC
 * 7034 / CSP `frame-ancestors`), forms post only to ourselves, no `<base>` rewriting of relative URLs.
 */
export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Headers on every page. `X-Frame-Options` for browsers older than CSP level 2 (clickjacking);
 * `no-referrer` because the set-password page carries its token in the URL and no page should leak its
 * query to another site; `no-store` because pages show who is signed in and carry CSRF tokens.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PAGE_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
};

// dist/src/pages → package root → static/pages (the folder ships in the npm package).
const STATIC_DIR = fileURLToPath(new URL('../../../static/pages/', import.meta.url));

/** The stylesheet, read once; its URL carries a hash of its content so it can be cached for a year. */
export interface Stylesheet {
  path: string;
  body: Buffer;
}

let stylesheet: Stylesheet | undefined;
export function pageStylesheet(): Stylesheet {
  if (stylesheet === undefined) {
    const body = readFileSync(`${STATIC_DIR}tessera.css`);
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
    stylesheet = { path: `/pages/tessera.${hash}.css`, body };
  }
  return stylesheet;
}

// Four tiles of a mosaic (a tessera is one of them): drawn inline so the page needs no image request.
const MARK = html`<svg
  class="mark"
  viewBox="0 0 24 24"
  width="28"
  height="28"
  aria-hidden="true"
  focusable="false"
>
  <rect x="2" y="2" width="9" height="9" rx="2.5" />
  <rect x="13" y="2" width="9" height="9" rx="2.5" class="t2" />
  <rect x="2" y="13" width="9" height="9" rx="2.5" class="t3" />
  <rect x="13" y="13" width="9" height="9" rx="2.5" />
</svg>`;

/** What a page may add to the layout. */
export interface PageExtras {
  /** Same-origin script URLs (the passkey pages), loaded deferred; the page's CSP then allows `script-src 'self'`. */
  scripts?: readonly string[];
  /** A same-origin path the page moves on to at once (`<meta http-equiv="refresh">`, no script). */
  refreshTo?: string;
  /**
   * Where this server serves the stylesheet (default: its hashed path at the root; `tessera proxy` serves it
   * under `/.tessera/`, leaving every other path to the app).
   */
  stylesheetHref?: string;
}

/** The one layout: brand header, a card holding the page's content, a footer. */
export function layout(
  title: string,
  body: SafeHtml,
  { scripts = [], refreshTo, stylesheetHref = pageStylesheet().path }: PageExtras = {},
): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex, nofollow" />
        <meta name="color-scheme" content="light dark" />
        ${refreshTo === undefined ? '' : html`<meta http-equiv="refresh" content="0;url=${refreshTo}" />`}
        <title>${title} · Tessera</title>
        <link rel="stylesheet" href="${stylesheetHref}" />
        <link rel="icon" href="data:," />
        ${scripts.map((src) => html`<script src="${src}" defer></script>`)}
      </head>
      <body>
        <div class="page">
          <header class="brand">${MARK}<span class="brand-name">Tessera</span></header>
          <main class="card">${body}</main>
          <footer class="footer">
            Secured by Tessera. Never share your password with anyone, including the applications you use.
          </footer>
        </div>
      </body>
    </html> `;
}

/**
 * The CSP source for where a form's answer may redirect: the origin of an http(s) URI, the scheme of a
 * native app's private-use URI (RFC 8252 §7.1). Undefined for anything else.
 */
export function formTargetSource(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol === 'https:' || url.protocol === 'http:') return url.origin;
  return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? url.protocol : undefined;
}

/**
 * The page CSP. Browsers apply `form-action` to every redirect that follows a form post (CSP Level 3
 * §6.4.1), so a sign-in, consent or logout form whose answer sends the browser back to the application
 * names that one registered destination, and nothing else: `form-action 'self' https://app.example`.
 */
export function pageCsp(formTargets: readonly string[] = [], scripts = false): string {
  const sources = formTargets.map(formTargetSource).filter((s): s is string => s !== undefined);
  let csp = PAGE_CSP;
  if (sources.length > 0)
    csp = csp.replace("form-action 'self'", `form-action 'self' ${[...new Set(sources)].join(' ')}`);
  // A page with scripts (passkeys) runs only Tessera's own files and fetches only from Tessera: no inline
  // script, no eval, no CDN (XSS mitigation, CSP Level 3 §2.3).
  if (scripts)
    csp = csp.replace("style-src 'self'", "script-src 'self'; connect-src 'self'; style-src 'self'");
  return csp;
}

/**
 * Send a page with the security headers. `formTargets`: registered URIs the page's forms may end up
 * redirecting to (see pageCsp); `extras`: Tessera's own script URLs the page loads, or where it moves on to.
 *
 * @example
 * sendPage(reply, 200, 'Sign in', html`<h1>Sign in</h1>`);
 */
export function sendPage(
  reply: FastifyReply,
  status: number,
  title: string,
  body: SafeHtml,
  formTargets: readonly string[] = [],
  extras: PageExtras = {},
): FastifyReply {
  return reply
    .code(status)
    .headers(PAGE_HEADERS)
    .header('content-security-policy', pageCsp(formTargets, (extras.scripts ?? []).length > 0))
    .type('text/html; charset=utf-8')
    .send(layout(title, body, extras).toString());
}
