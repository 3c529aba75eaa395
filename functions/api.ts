import { fileURLToPath } from 'node:url';
import { handle } from 'hono/aws-lambda';
import { createApp } from '../lib/api/app.js';
import { authSettingsFromEnv } from '../lib/api/auth-config.js';
import {
  iamArnFromLambdaContext,
  type LambdaHttpEvent,
  type LambdaHttpResult,
  refuseRawPath,
} from '../lib/api/lambda.js';
import { checkResponsesFromEnv } from '../lib/api/response-check.js';
import { createBroker, createStores } from '../lib/broker/broker.js';
import { metricsFromEnv } from '../lib/broker/metrics.js';
import { notifyDispatcher } from '../lib/broker/produce-notifier.js';
import { BUILT_CONSOLE_DIR, consoleAssetsFrom } from '../lib/console/assets.js';
import { createAwsClients } from '../lib/store/aws-clients.js';
import { LambdaFunctionInvoker } from '../lib/store/function-invoker.js';
import { createLambdaClient } from '../lib/store/lambda-client.js';
import {
  clusterIdFor,
  DISPATCH_FUNCTION_ENV_VAR,
  resourceNamesFromEnv,
} from '../lib/store/resources.js';

/**
 * The HTTP API's Lambda, behind a function URL or API Gateway's HTTP API (both payload format
 * 2.0). Clients, stores and the broker are built once per execution environment, so warm
 * invocations reuse sockets and the topic and ACL caches. Auth is on unless EVENTLOG_AUTH=off
 * (development stacks only).
 */

const names = resourceNamesFromEnv();
const auth = authSettingsFromEnv(process.env, 'on');
// Each produce wakes the dispatcher of Lambda consumers, when the stack has one.
const dispatchFunction = process.env[DISPATCH_FUNCTION_ENV_VAR];
const broker = createBroker(createStores(createAwsClients(), names), {
  // Per-topic produce metrics: one EMF line per request on stdout (docs/metrics.md).
  metrics: metricsFromEnv(),
  ...(dispatchFunction
    ? {
        // One attempt: a lost notification costs at most the schedule's minute, a retry
        // costs every produce its wait.
        onProduced: notifyDispatcher(
          new LambdaFunctionInvoker(createLambdaClient({ maxAttempts: 1 })),
          dispatchFunction,
        ),
      }
    : {}),
  ...(auth.jwt === undefined ? {} : { auth: { jwt: auth.jwt } }),
});
const app = createApp({
  broker,
  validateResponses: checkResponsesFromEnv(process.env),
  clusterId: clusterIdFor(names),
  auth: {
    enabled: auth.enabled,
    iamArnOf: iamArnFromLambdaContext,
    ...(auth.rateLimit === undefined ? {} : { rateLimit: auth.rateLimit }),
    log: (entry) => console.warn(JSON.stringify({ auth: entry })),
  },
  // The bundling puts the console beside index.mjs; run from a checkout, its build/console.
  consoleAssets: consoleAssetsFrom([
    fileURLToPath(new URL('./console/', import.meta.url)),
    BUILT_CONSOLE_DIR,
  ]),
});
const serve = handle(app) as unknown as (
  event: LambdaHttpEvent,
  context: unknown,
) => Promise<LambdaHttpResult>;

/** The raw path is checked before Hono's adapter turns it into a (normalized) URL. */
export const handler = async (
  event: LambdaHttpEvent,
  context: unknown,
): Promise<LambdaHttpResult> => refuseRawPath(event) ?? serve(event, context);
