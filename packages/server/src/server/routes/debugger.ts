import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ServerContext } from '../context.js';
import { answerWrongMethods } from './method-not-allowed.js';

/**
 * The token debugger at `/debugger`: a static page that decodes, lints and verifies a pasted token entirely
 * in the browser. The server only hands out the page, its script, the shared lint module
 * (`@tessera/jwt/lint`, the same code `tessera inspect` runs) and this server's public JWKS. The token is
 * never sent: the Content-Security-Policy below allows scripts and connections to this origin only, no
 * inline code, no forms, no frames.
 */
export const DEBUGGER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': DEBUGGER_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

// dist/src/server/routes → package root → static/debugger.
const STATIC_DIR = fileURLToPath(new URL('../../../../static/debugger/', import.meta.url));
const PAGE_FILES = ['index.html', 'debugger.js', 'debugger.css'] as const;
// Only plain module names are served from the lint directory; never a path the request chose.
const LINT_FILE = /^[a-z][a-z0-9-]*\.js$/;

function lintDir(): string {
  return dirname(fileURLToPath(import.meta.resolve('@tessera/jwt/lint')));
}

function send(reply: FastifyReply, name: string, body: Buffer | string, cache: string): FastifyReply {
  const ext = name.slice(name.lastIndexOf('.'));
  return reply
    .headers(SECURITY_HEADERS)
    .header('cache-control', cache)
    .type(TYPES[ext] ?? 'application/octet-stream')
    .send(body);
}

/**
 * Registers `GET /debugger` and its assets. Register without a prefix: the page refers to its assets by
 * absolute path.
 *
 * @example await app.register(debuggerRoutes, { ctx });
 */
export const debuggerRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const cache = new Map<string, Buffer>();
  const lintRoot = lintDir();
  const lintFiles = new Set((await readdir(lintRoot).catch(() => [])).filter((f) => LINT_FILE.test(f)));

  async function load(path: string): Promise<Buffer> {
    let body = cache.get(path);
    if (body === undefined) {
      body = await readFile(path);
      cache.set(path, body);
    }
    return body;
  }

  app.get('/debugger', async (_req, reply) =>
    send(reply, 'index.html', await load(join(STATIC_DIR, 'index.html')), 'no-cache'),
  );
  app.get('/debugger/', async (_req, reply) => reply.headers(SECURITY_HEADERS).redirect('/debugger', 301));

  for (const file of PAGE_FILES.filter((f) => f !== 'index.html')) {
    app.get(`/debugger/${file}`, async (_req, reply) =>
      send(reply, file, await load(join(STATIC_DIR, file)), 'no-cache'),
    );
  }

  app.get<{ Params: { file: string } }>('/debugger/lint/:file', async (req, reply) => {
    const { file } = req.params;
    if (!LINT_FILE.test(file) || !lintFiles.has(file)) {
      return reply.headers(SECURITY_HEADERS).code(404).type('text/plain; charset=utf-8').send('not found');
    }
    return send(reply, file, await load(join(lintRoot, file)), 'no-cache');
  });

  // The public keys the page verifies against: the same document as the JWKS endpoint, at a fixed path so
  // the page does not depend on where the server mounts it.
  app.get('/debugger/jwks.json', async (_req, reply) => {
    const jwks = ctx.keys.published();
    return reply
      .headers(SECURITY_HEADERS)
      .header('cache-control', `public, max-age=${jwks.maxAge}`)
      .header('etag', jwks.etag)
      .type('application/jwk-set+json')
      .send(jwks.body);
  });
  const paths = ['/debugger', '/debugger/', '/debugger/lint/:file', '/debugger/jwks.json'];
  for (const path of [...paths, ...PAGE_FILES.filter((f) => f !== 'index.html').map((f) => `/debugger/${f}`)])
    answerWrongMethods(app, path, ['GET']);
};
