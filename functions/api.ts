import { handle } from 'hono/aws-lambda';
import { createApp } from '../lib/api/app.js';
import { createBroker, createStores } from '../lib/broker/broker.js';
import { notifyDispatcher } from '../lib/broker/produce-notifier.js';
import {
  clusterIdFor,
  DISPATCH_FUNCTION_ENV_VAR,
  resourceNamesFromEnv,
} from '../lib/infra/resources.js';
import { createLambdaClient } from '../lib/local/lambda-client.js';
import { createAwsClients } from '../lib/store/aws-clients.js';
import { LambdaFunctionInvoker } from '../lib/store/function-invoker.js';

/**
 * The HTTP API's Lambda, behind API Gateway HTTP API (payload format 2.0). Clients, stores and
 * the broker are built once per execution environment, so warm invocations reuse sockets and
 * the topic cache.
 */

const names = resourceNamesFromEnv();
// Each produce wakes the dispatcher of Lambda consumers, when the stack has one.
const dispatchFunction = process.env[DISPATCH_FUNCTION_ENV_VAR];
const broker = createBroker(createStores(createAwsClients(), names), {
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
});
const app = createApp({ broker, clusterId: clusterIdFor(names) });

export const handler = handle(app);
