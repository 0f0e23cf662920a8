// Serves the approvals page: index.html, styles.css, a favicon, config.json (the kinds and the
// scopes that read them, so the page never guesses), and app.js, bundled from app.ts by esbuild on
// the first request and kept in memory. Every answer carries the strict security headers; the page
// holds no data of its own, so no token is needed to fetch it — the REST API it calls checks that.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Response, type Router } from 'express';
import { SystemManagerError } from '../../resources/errors.ts';
import { KIND_NAMES, KINDS } from '../../resources/kinds.ts';
import { KIND_SCOPES } from '../../resources/scopes.ts';
import { jsonErrorHandler } from '../http/security.ts';
import { REST_PREFIX } from '../rest/index.ts';

/** UI_PREFIX is where the agent mounts the page. */
export const UI_PREFIX = '/ui';

/**
 * CONTENT_SECURITY_POLICY allows only this server's own scripts, styles, images and API: no inline
 * code, no framing, no form posts, no <base> tricks. A manifest value that slipped into markup
 * still could not run.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** UI_SECURITY_HEADERS are sent with every answer under UI_PREFIX, errors included. */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
});

/** UiConfig is /ui/config.json: what the page needs to know about the API it calls. */
export interface UiConfig {
  apiPrefix: string;
  kinds: { kind: string; plural: string; readScope?: string; writeScope?: string }[];
}

/** UiRouterOptions configure the page's router. */
export interface UiRouterOptions {
  /** assetsDir: where index.html, app.ts and styles.css live (default: this folder). */
  assetsDir?: string;
  /** onUnexpected: told when an asset cannot be read or built (answered 500). */
  onUnexpected?: (err: unknown) => void;
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f6feb"/><path d="M4 8.5l2.5 2.5L12 5" stroke="#fff" stroke-width="2" fill="none"/></svg>`;

/** uiConfig lists every kind with its REST plural and the scopes that read and change it. */
export function uiConfig(): UiConfig {
  return {
    apiPrefix: REST_PREFIX,
    kinds: KIND_NAMES.map((kind) => {
      const scopes = KIND_SCOPES[kind];
      return { kind, plural: KINDS[kind].plural, ...(scopes ? { readScope: scopes.read, writeScope: scopes.write } : {}) };
    }),
  };
}

/** buildAppScript bundles app.ts (and what it imports) into one browser ES module with esbuild. */
export async function buildAppScript(assetsDir: string = HERE): Promise<string> {
  // esbuild comes with tsx; loaded lazily so an agent whose page is never opened never loads it.
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(assetsDir, 'app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const file = out.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output for app.ts');
  return file.text;
}

/** createUiRouter builds the router; mount it at UI_PREFIX behind the Host/Origin guard. */
export function createUiRouter(opts: UiRouterOptions = {}): Router {
  const dir = opts.assetsDir ?? HERE;
  const cache = new Map<string, Promise<Asset>>();
  const loaders: Record<string, () => Promise<Asset>> = {
    '/': async () => asset(await readFile(join(dir, 'index.html')), 'text/html; charset=utf-8'),
    '/styles.css': async () => asset(await readFile(join(dir, 'styles.css')), 'text/css; charset=utf-8'),
    '/app.js': async () => asset(Buffer.from(await buildAppScript(dir)), 'text/javascript; charset=utf-8'),
    '/favicon.svg': async () => asset(Buffer.from(FAVICON), 'image/svg+xml'),
    '/config.json': async () => asset(Buffer.from(JSON.stringify(uiConfig())), 'application/json; charset=utf-8'),
  };
  const load = (path: string): Promise<Asset> => {
    let p = cache.get(path);
    if (!p) {
      p = loaders[path]!();
      // A failed build is not cached: fixing app.ts and reloading the page must work.
      p.catch(() => cache.delete(path));
      cache.set(path, p);
    }
    return p;
  };

  const router = express.Router({ caseSensitive: true, strict: true });
  router.use((req, res, next) => {
    for (const [name, value] of Object.entries(UI_SECURITY_HEADERS)) res.setHeader(name, value);
    // `/ui` without the slash: relative asset URLs would resolve against `/`, so send the browser on.
    if (req.originalUrl === UI_PREFIX || req.originalUrl.startsWith(`${UI_PREFIX}?`)) {
      res.redirect(301, `${UI_PREFIX}/`);
      return;
    }
    next();
  });
  router.get(Object.keys(loaders), async (req, res) => {
    let a: Asset;
    try {
      a = await load(req.path);
    } catch (err) {
      opts.onUnexpected?.(err);
      throw new SystemManagerError('INTERNAL', 'the approvals page cannot be served; see the server log', { cause: err });
    }
    send(res, a, req.headers['if-none-match']);
  });
  router.all(Object.keys(loaders), (req) => {
    throw new SystemManagerError('METHOD_NOT_ALLOWED', `${req.method} is not supported on the approvals page; it only serves files (GET)`);
  });
  router.use((req) => {
    throw new SystemManagerError('NOT_FOUND', `no such file ${UI_PREFIX}${req.path} on the approvals page`);
  });
  router.use(jsonErrorHandler());
  return router;
}

function asset(body: Buffer, type: string): Asset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` };
}

function send(res: Response, a: Asset, ifNoneMatch: string | undefined): void {
  res.setHeader('Content-Type', a.type);
  res.setHeader('ETag', a.etag);
  // Revalidate every time: after an upgrade the page and its script must change together.
  res.setHeader('Cache-Control', 'no-cache');
  if (ifNoneMatch === a.etag) {
    res.status(304).end();
    return;
  }
  res.status(200).end(a.body);
}
