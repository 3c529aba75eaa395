import type { Context, MiddlewareHandler } from 'hono';
import type { AuthService } from '../broker/auth.js';
import {
  CLUSTER_RESOURCE,
  type Operation,
  principalOfIamArn,
  type ResourceType,
} from '../log/acl.js';
import { EventLogError } from '../log/errors.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import { checkRawPath, pathOfUrl } from './raw-path.js';
import type { RouteAccess } from './route-access.js';

/**
 * The API's side of authorization: a middleware that refuses ambiguous paths, finds the
 * caller's principal (the front door's SigV4 identity, else an `Authorization: Bearer` API
 * key or JWT) and applies the rate limit; then each route, as the router matched it, checks
 * its rule from lib/api/route-access.ts (see route.ts), and handlers check the names their
 * bodies carry with {@link requireAccess}.
 */

export interface ApiAuthOptions {
  /**
   * With auth off every caller is `anonymous` and may do anything: the local server on
   * loopback only (lib/local/main.ts refuses another HOST), and development stacks.
   */
  enabled: boolean;
  service?: AuthService;
  /**
   * The IAM ARN that the front door verified with SigV4 (API Gateway's or a function URL's
   * request context), if any. Never taken from a header the caller controls.
   */
  iamArnOf?: (c: Context) => string | undefined;
  /** Per-principal request rate; off by default. */
  rateLimit?: RateLimitOptions;
  /** Where authentication failures and refusals are logged (never a credential). */
  log?: (entry: Record<string, unknown>) => void;
}

/** The anonymous caller of an API with auth off. */
export const ANONYMOUS = 'anonymous';

export interface Caller {
  /** undefined: no credentials came (allowed on public routes only). */
  principal: string | undefined;
  /** Throws AUTHORIZATION_FAILED (or UNAUTHENTICATED) unless allowed. */
  require(type: ResourceType, name: string, operation: Operation): Promise<void>;
  allows(type: ResourceType, name: string, operation: Operation): Promise<boolean>;
  /** Kafka 3's rule for InitProducerId: produce on some topic. */
  requireAnyProduce(): Promise<void>;
  /** Whether checks apply at all (auth on). */
  enforced: boolean;
  service: AuthService | undefined;
}

const CALLER = 'eventlogCaller';

export function caller(c: Context): Caller {
  const found = c.get(CALLER as never) as Caller | undefined;
  // Fail closed: a handler reached without the middleware has no caller.
  if (found === undefined) throw new EventLogError('INTERNAL', 'The request has no caller');
  return found;
}

export function authMiddleware(options: ApiAuthOptions): MiddlewareHandler {
  const limiter = options.rateLimit === undefined ? undefined : new RateLimiter(options.rateLimit);
  const log = options.log ?? (() => {});
  const service = options.service;
  if (options.enabled && service === undefined) {
    throw new Error('Auth is on but no AuthService was given');
  }
  return async (c, next) => {
    checkRawPath(pathOfUrl(c.req.raw.url));
    let principal: string | undefined;
    if (!options.enabled) {
      principal = ANONYMOUS;
    } else {
      try {
        principal = await identify(c, options, service as AuthService);
      } catch (error) {
        if (error instanceof EventLogError && error.code === 'UNAUTHENTICATED') {
          log({ event: 'unauthenticated', reason: error.message, path: c.req.path });
        }
        throw error;
      }
    }
    if (limiter !== undefined && principal !== undefined) {
      const waitMs = limiter.take(principal);
      if (waitMs > 0) {
        const seconds = Math.max(1, Math.ceil(waitMs / 1000));
        c.header('Retry-After', String(seconds));
        throw new EventLogError('RATE_LIMITED', `Too many requests from ${principal}`, {
          details: { retryAfterSeconds: seconds },
        });
      }
    }
    const enforced = options.enabled;
    const require = async (type: ResourceType, name: string, operation: Operation) => {
      if (!enforced) return;
      if (principal === undefined) throw missingCredentials();
      try {
        await (service as AuthService).require(principal, type, name, operation);
      } catch (error) {
        if (error instanceof EventLogError && error.code === 'AUTHORIZATION_FAILED') {
          log({ event: 'denied', principal, type, name, operation, path: c.req.path });
        }
        throw error;
      }
    };
    const value: Caller = {
      principal,
      enforced,
      service,
      require,
      allows: async (type, name, operation) => {
        if (!enforced) return true;
        if (principal === undefined) return false;
        return (service as AuthService).allows(principal, type, name, operation);
      },
      requireAnyProduce: async () => {
        if (!enforced) return;
        if (principal === undefined) throw missingCredentials();
        await (service as AuthService).requireAnyProduce(principal);
      },
    };
    c.set(CALLER as never, value as never);
    await next();
  };
}

async function identify(
  c: Context,
  options: ApiAuthOptions,
  service: AuthService,
): Promise<string | undefined> {
  const arn = options.iamArnOf?.(c);
  if (arn !== undefined) return principalOfIamArn(arn);
  const header = c.req.header('authorization');
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) {
    throw new EventLogError(
      'UNAUTHENTICATED',
      'The Authorization header is not "Bearer <API key or JWT>"; SigV4 callers use the IAM front door',
    );
  }
  return service.authenticateBearer(match[1] as string);
}

function missingCredentials(): EventLogError {
  return new EventLogError(
    'UNAUTHENTICATED',
    'No credentials: sign the request with SigV4 (IAM front door) or send Authorization: Bearer <API key or JWT>',
  );
}

/** Runs a route's path checks (the rule of the route the router matched). */
export async function checkRoute(c: Context, access: RouteAccess): Promise<void> {
  if (access.public === true) return;
  const who = caller(c);
  if (who.enforced && who.principal === undefined) throw missingCredentials();
  for (const check of access.checks) {
    const name = check.param === undefined ? CLUSTER_RESOURCE : (c.req.param(check.param) ?? '');
    await who.require(check.type, name, check.operation);
  }
}

/** Checks every name a body carries (each topic of a subscription, of a commit, of a seek). */
export async function requireAccess(
  c: Context,
  type: ResourceType,
  names: Iterable<string>,
  operation: Operation,
): Promise<void> {
  const who = caller(c);
  for (const name of new Set(names)) await who.require(type, name, operation);
}
