import { createBroker, createStores } from '../lib/broker/broker.js';
import { createDispatcher, type DispatchReport } from '../lib/broker/dispatcher.js';
import { metricsFromEnv } from '../lib/broker/metrics.js';
import { createAwsClients } from '../lib/store/aws-clients.js';
import {
  AwsFailureDestinationStore,
  createFailureDestinationClients,
} from '../lib/store/failure-destination-store.js';
import { LambdaFunctionInvoker } from '../lib/store/function-invoker.js';
import { createLambdaClient } from '../lib/store/lambda-client.js';
import { BOOTSTRAP_SERVERS_ENV_VAR, resourceNamesFromEnv } from '../lib/store/resources.js';

/**
 * The dispatcher of Lambda consumers. Invoked asynchronously by the API after a produce
 * ({ topic, partitions }) and every minute by a schedule (an EventBridge event: everything).
 * Its own timeout bounds the run; no new batch starts after a minute of work.
 */

// One attempt per call: the dispatcher retries itself, counting attempts as Lambda's ESM does.
const invoker = new LambdaFunctionInvoker(createLambdaClient({ maxAttempts: 1 }));
// SQS and SNS on-failure destinations: a client per region of the ARNs, made on first use.
const failureDestinations = new AwsFailureDestinationStore(createFailureDestinationClients());
const dispatcher = createDispatcher(
  createBroker(createStores(createAwsClients(), resourceNamesFromEnv(), { failureDestinations }), {
    // Per-subscription metrics of each run, and produce counts of dead-letter topics.
    metrics: metricsFromEnv(),
  }),
  invoker,
  {
    ...(process.env[BOOTSTRAP_SERVERS_ENV_VAR]
      ? { bootstrapServers: process.env[BOOTSTRAP_SERVERS_ENV_VAR] }
      : {}),
  },
);

export const handler = async (
  event: unknown,
  context: { getRemainingTimeInMillis(): number; invokedFunctionArn?: string },
): Promise<Pick<DispatchReport, 'ms' | 'errors'> & { partitions: number; invocations: number }> => {
  const notice = event as { topic?: unknown; partitions?: unknown };
  const report = await dispatcher.run({
    ...(typeof notice.topic === 'string' ? { topic: notice.topic } : {}),
    ...(Array.isArray(notice.partitions)
      ? { partitions: notice.partitions.filter((p): p is number => Number.isInteger(p)) }
      : {}),
    deadline: Date.now() + context.getRemainingTimeInMillis(),
    ...(context.invokedFunctionArn === undefined ? {} : { ownArn: context.invokedFunctionArn }),
  });
  const busy = report.partitions.filter((p) => p.invocations > 0 || p.outcome === 'stopped');
  if (busy.length > 0) console.log(JSON.stringify({ dispatch: busy }));
  return {
    ms: report.ms,
    errors: report.errors,
    partitions: report.partitions.length,
    invocations: report.partitions.reduce((n, p) => n + p.invocations, 0),
  };
};
