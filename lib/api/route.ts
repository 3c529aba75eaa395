import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Broker } from '../broker/broker.js';
import { checkRoute } from './auth.js';
import { withResponseCheck } from './response-check.js';
import { ROUTE_ACCESS, type RouteAccess, routeKey } from './route-access.js';

/** What every route needs, fixed when the app is built. */
export interface ApiContext {
  broker: Broker;
  /** The one cluster id the Confluent v3 routes answer to. */
  clusterId: string;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Longest long-poll a fetch may ask for, in ms. */
  maxWaitMs: number;
}

export type ApiApp = OpenAPIHono;

/**
 * Registers a route: its OpenAPI description (request and response schemas) goes into the
 * document as declared, and the handler is mounted as a plain Hono route.
 *
 * Why the handler does its own parsing instead of @hono/zod-openapi's validators: bodies are
 * read with a byte limit and a JSON reader that keeps key bytes exact and accepts Confluent's
 * concatenated JSON, and every failure must be our error envelope, which the validators
 * would not give. Apps built with `validateResponses` check each 2xx JSON answer against the
 * declared schema (response-check.ts).
 */
export function defineRoute(
  app: ApiApp,
  config: RouteConfig,
  handler: (c: Context) => Promise<Response> | Response,
): void {
  app.openAPIRegistry.registerPath(config);
  const checked = withAccess(config.method, config.path, withResponseCheck(app, config, handler));
  app.on(config.method.toUpperCase(), config.path.replaceAll(/\/{([^}]+)}/g, '/:$1'), checked);
}

/**
 * The handler behind its access rule (lib/api/route-access.ts): the check runs inside the
 * route the router matched, after any normalization, with that route's own parameters. A
 * route without a rule cannot be registered.
 */
export function withAccess(
  method: string,
  path: string,
  handler: (c: Context) => Promise<Response> | Response,
): (c: Context) => Promise<Response> {
  const key = routeKey(method, path);
  const access: RouteAccess | undefined = ROUTE_ACCESS[key];
  if (access === undefined) {
    throw new Error(`The route ${key} has no access rule in lib/api/route-access.ts`);
  }
  return async (c) => {
    await checkRoute(c, access);
    return handler(c);
  };
}

/**
 * A path parameter, percent-decoded once (Hono's c.req.param() decodes; decoding again would
 * turn `%2525` into `%`). Encoded separators never get this far: see raw-path.ts.
 */
export function pathParam(c: Context, name: string): string {
  return c.req.param(name) ?? '';
}
