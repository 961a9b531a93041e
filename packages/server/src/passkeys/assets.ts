/**
 * The two scripts the passkey pages load, served by Tessera itself (no CDN, so the page CSP stays
 * `script-src 'self'`): `@simplewebauthn/browser`'s single-file bundle from node_modules, and Tessera's page
 * script `static/pages/passkeys.js`. Each URL carries a hash of its content, so it can be cached for a year
 * and a new version is a new URL (like the stylesheet, pages/layout.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PageScript {
  path: string;
  body: Buffer;
}

// dist/src/passkeys → package root → static/pages.
const STATIC_DIR = fileURLToPath(new URL('../../../static/pages/', import.meta.url));

function hashed(name: string, body: Buffer): PageScript {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 12);
  return { path: `/pages/${name}.${hash}.js`, body };
}

/**
 * The library's UMD bundle (it defines `SimpleWebAuthnBrowser`; version 14 ships no single-file ES module).
 * Found through Node's resolution, so it is the copy npm installed next to the server.
 */
function libraryFile(): string {
  const main = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return join(dirname(main), '..', 'dist', 'bundle', 'index.umd.min.js');
}

let scripts: readonly PageScript[] | undefined;

/**
 * The scripts, read once: the library first, then the page script that uses it.
 *
 * @example for (const s of passkeyScripts()) app.get(s.path, …);
 */
export function passkeyScripts(): readonly PageScript[] {
  scripts ??= [
    hashed('webauthn', readFileSync(libraryFile())),
    hashed('passkeys', readFileSync(`${STATIC_DIR}passkeys.js`)),
  ];
  return scripts;
}

/** The script URLs for a page's `<script src>` tags. */
export const passkeyScriptPaths = (): string[] => passkeyScripts().map((s) => s.path);
