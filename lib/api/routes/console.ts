import type { Context } from 'hono';
import type { ConsoleAssets } from '../../console/assets.js';
import { EventLogError } from '../../log/errors.js';
import { type ApiApp, withAccess } from '../route.js';

/**
 * The web console's static files (lib/console). Public, like the OpenAPI document: they hold
 * no data, and every call the console makes goes through the API's own auth with the
 * credentials its sign-in form keeps. Not in the OpenAPI document: they are not API routes.
 */

/** Pages may load their own files and call this origin, nothing else. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function registerConsoleRoutes(app: ApiApp, assets: ConsoleAssets): void {
  const serve = async (name: string) => {
    const asset = await assets.get(name);
    if (asset === undefined) {
      throw new EventLogError(
        'NOT_FOUND',
        name === 'index.html'
          ? 'The console is not built here (npm start and npm test build it into build/console)'
          : `No console file ${name}`,
      );
    }
    return new Response(asset.body, {
      headers: {
        'content-type': asset.contentType,
        // Small files, rebuilt with the API: always revalidated, never stale after a deploy.
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'referrer-policy': 'no-referrer',
      },
    });
  };
  app.get(
    '/console',
    withAccess('get', '/console', () => serve('index.html')),
  );
  // The address with a slash, as people type it: the same page (its links are absolute).
  app.get(
    '/console/',
    withAccess('get', '/console/', () => serve('index.html')),
  );
  app.get(
    '/console/:file',
    withAccess('get', '/console/{file}', (c: Context) => serve(c.req.param('file') ?? '')),
  );
}
