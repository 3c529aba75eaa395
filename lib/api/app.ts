import { OpenAPIHono } from '@hono/zod-openapi';
import type { Broker } from '../broker/broker.js';
import { BUILT_CONSOLE_DIR, type ConsoleAssets, consoleAssetsFrom } from '../console/assets.js';
import { EventLogError, toEventLogError } from '../log/errors.js';
import { type ApiAuthOptions, authMiddleware } from './auth.js';
import { DEFAULT_MAX_BODY_BYTES } from './body.js';
import { errorResponseParts } from './error-mapping.js';
import { MAX_WAIT_MS } from './long-poll.js';
import { checkResponsesOf } from './response-check.js';
import type { ApiContext } from './route.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerConfluentConsumerRoutes } from './routes/confluent-consumers.js';
import { registerConfluentV2Routes } from './routes/confluent-v2.js';
import { registerConfluentV3Routes } from './routes/confluent-v3.js';
import { registerConsoleRoutes } from './routes/console.js';
import { registerGroupRoutes } from './routes/groups.js';
import { registerMonitoringRoutes } from './routes/monitoring.js';
import { registerOffsetRoutes } from './routes/offsets.js';
import { registerProducerRoutes } from './routes/producers.js';
import { registerRecordRoutes } from './routes/records.js';
import { registerSubscriptionRoutes } from './routes/subscriptions.js';
import { registerTopicRoutes } from './routes/topics.js';

export interface AppOptions {
  broker: Broker;
  /** The id the Confluent v3 routes answer to (GET /v3/clusters lists it). */
  clusterId: string;
  /** Largest request body, in bytes; default 6 MB, the Lambda payload limit. */
  maxBodyBytes?: number;
  /** Longest long-poll wait a fetch may ask for, in ms; default 20000. */
  maxWaitMs?: number;
  /** Where unexpected (5xx) errors are reported; default console.error. */
  logError?: (error: EventLogError) => void;
  /**
   * Authentication and authorization (docs/security.md). Default off: every caller is
   * anonymous and allowed everything, which only the local server on loopback uses.
   */
  auth?: Omit<ApiAuthOptions, 'service'>;
  /** The web console's files, served at /console; default: this checkout's build/console. */
  consoleAssets?: ConsoleAssets;
  /**
   * Check every 2xx JSON answer against the route's declared response schema and fail with an
   * INTERNAL error naming the route and the mismatch. For the tests and client development
   * (EVENTLOG_CHECK_RESPONSES=on); default off, as parsing every answer again costs time in
   * production.
   */
  validateResponses?: boolean;
}

/**
 * The HTTP API: our /v1 routes, Confluent REST Proxy v2 and v3 for existing clients, and the
 * OpenAPI document at /openapi.json. The same app runs in Lambda (hono/aws-lambda) and in
 * the local server (@hono/node-server).
 */
export function createApp(options: AppOptions): OpenAPIHono {
  const api: ApiContext = {
    broker: options.broker,
    clusterId: options.clusterId,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxWaitMs: options.maxWaitMs ?? MAX_WAIT_MS,
  };
  const logError = options.logError ?? ((error: EventLogError) => console.error(error));
  const app = new OpenAPIHono();
  if (options.validateResponses === true) checkResponsesOf(app);

  // First: refuse ambiguous paths, find the caller, apply its rate limit. Each route then
  // checks its own rule (lib/api/route-access.ts) as the router matched it.
  app.use('*', authMiddleware({ enabled: false, ...options.auth, service: options.broker.auth }));

  registerAuthRoutes(app, api);
  registerTopicRoutes(app, api);
  registerRecordRoutes(app, api);
  registerProducerRoutes(app, api);
  registerOffsetRoutes(app, api);
  registerConfluentV3Routes(app, api);
  registerConfluentV2Routes(app, api);
  registerGroupRoutes(app, api);
  registerConfluentConsumerRoutes(app, api);
  registerSubscriptionRoutes(app, api);
  registerMonitoringRoutes(app, api);
  registerConsoleRoutes(app, options.consoleAssets ?? consoleAssetsFrom([BUILT_CONSOLE_DIR]));

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'eventlog',
      version: '1',
      description:
        "A serverless event log with Kafka's model. Our own API lives under /v1; /topics and /v3 speak Confluent REST Proxy v2 and v3. Every error is {error_code, message, code, retriable, ...details}.",
    },
  });

  app.notFound((c) => {
    const error = new EventLogError('NOT_FOUND', `No route for ${c.req.method} ${c.req.path}`);
    const { status, body } = errorResponseParts(error);
    return c.json(body, status);
  });

  app.onError((thrown, c) => {
    const error = toEventLogError(thrown);
    const { status, body } = errorResponseParts(error);
    if (status >= 500) logError(error);
    return c.json(body, status);
  });

  return app;
}
