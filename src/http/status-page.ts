/**
 * The browser side of the gateway: the status page at `/`, GraphiQL at
 * GET /graphql for a browser (Accept: text/html), and their static files
 * under /assets/. The pages hold no secret: the operator types the token
 * into them and they call the public GraphQL API (HTTP POST and graphql-ws)
 * like any other client, so authentication is unchanged.
 */
import type { Express, NextFunction, Request, Response } from 'express';
import { ASSETS, type Asset, PAGES } from './assets.js';

/**
 * Pages and scripts come only from this origin; GraphiQL and React set
 * inline styles, so styles may be inline. Connections: same origin, which
 * in current browsers includes ws:// of the same host and port.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function send(res: Response, asset: Asset, cache: boolean): void {
  res.set({
    'Content-Type': asset.type,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': cache ? 'public, max-age=3600' : 'no-cache',
  });
  res.sendFile(asset.file);
}

/** True for a browser navigating to the URL (it prefers HTML), false for API clients. */
function wantsHtml(req: Request): boolean {
  return req.accepts(['application/json', 'text/html']) === 'text/html';
}

/** Registers `/`, `/assets/*` and the HTML branch of GET /graphql. Call before the GraphQL middleware. */
export function mountStatusPages(app: Express): void {
  app.get('/', (_req, res) => send(res, PAGES.status, false));
  app.get('/assets/:name', (req, res, next) => {
    const name = req.params.name;
    const asset = typeof name === 'string' && Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) {
      next();
      return;
    }
    send(res, asset, true);
  });
  app.get('/graphql', (req: Request, res: Response, next: NextFunction) => {
    if (wantsHtml(req)) send(res, PAGES.graphiql, false);
    else next();
  });
}
