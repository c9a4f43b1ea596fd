import { Logger } from '@nestjs/common';
import express from 'express';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The web UI built by `npm run build:web` (Vite) into dist/web, beside the compiled server
 * (dist/src): absent when running from the TypeScript sources or without a build.
 */
export function defaultWebUiDir(): string | undefined {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');
  return existsSync(join(dir, '.vite', 'manifest.json')) ? dir : undefined;
}

/** Paths the server answers itself: the registry, the API, the token realm and Swagger UI. */
export function isServerPath(path: string): boolean {
  return /^\/(v2|api|auth)(\/|$)/.test(path);
}

const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};

/**
 * Serves the single-page app at `/`: its files, and its index.html for any other GET or HEAD
 * outside /v2/, /api/ and /auth/ (the app's own routes), so that a page can be reloaded or linked.
 * A missing file under /assets/ falls through to the server's 404.
 */
export function webUiMiddleware(dir: string): express.RequestHandler {
  const index = readFileSync(join(dir, 'index.html'));
  const files = express.static(dir, {
    index: false,
    redirect: false,
    dotfiles: 'ignore',
    setHeaders(res, path) {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      // Vite names built assets by content hash: they never change.
      res.setHeader(
        'Cache-Control',
        path.includes(`${join(dir, 'assets')}`)
          ? 'public, max-age=31536000, immutable'
          : 'no-cache',
      );
    },
  });
  return (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isServerPath(req.path)) return next();
    if (req.path === '/index.html' || req.path === '/') return sendIndex(res);
    files(req, res, () => {
      if (req.path.startsWith('/assets/') || req.path.startsWith('/.')) return next();
      sendIndex(res);
    });
  };

  function sendIndex(res: express.Response) {
    res.status(200).set(PAGE_HEADERS).type('html').send(index);
  }
}

/** Mounts the web UI when it was built; says so in the log either way. */
export function mountWebUi(app: { use: (h: express.RequestHandler) => unknown }): void {
  const dir = defaultWebUiDir();
  if (!dir) {
    new Logger('WebUI').debug('no web UI build (npm run build:web); not serving one at /');
    return;
  }
  app.use(webUiMiddleware(dir));
}
