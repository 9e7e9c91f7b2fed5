/**
 * The admin dashboard at `/admin`: static HTML, CSS and one vanilla JS module from `public/`, no build step. The page
 * talks to `/admin/api` with the admin token the user signs in with, so serving it needs no authentication.
 *
 * `npm run build` copies `public/` next to the compiled module; a `dist` compiled without that step falls back to the
 * sources in `src/`.
 */
import express, { Router } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';

const CANDIDATES = [path.join(__dirname, 'public'), path.resolve(__dirname, '../../../../src/admin/dashboard/public')];
export const DASHBOARD_DIR = CANDIDATES.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? CANDIDATES[0];

/** Nothing inline, nothing from elsewhere: scripts, styles and API calls only from this origin. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function dashboardRouter(): Router {
  const router = Router();
  router.use((_req, res, next) => {
    res.set({
      'Content-Security-Policy': DASHBOARD_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    next();
  });
  router.use(express.static(DASHBOARD_DIR, { index: 'index.html', fallthrough: true }));
  return router;
}
