import { afterAll, beforeAll } from 'vitest';
import type { Broker } from '../../../lib/broker/broker.js';
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
} from '../../../lib/broker/dispatcher.js';
import { LocalFunctions } from '../../../lib/local/lambda-endpoint.js';
import { type ApiServer, startApiServer } from '../../../lib/local/server.js';
import { LambdaFunctionInvoker } from '../../../lib/store/function-invoker.js';
import { createLambdaClient } from '../../../lib/store/lambda-client.js';

/** Short backoff and polls, so that retries and wake-ups fit in a test's seconds. */
export const FAST_DISPATCH: DispatcherOptions = {
  backoff: { baseMs: 2, maxMs: 10 },
  pollIntervalMs: 20,
  sessionTimeoutMs: 10_000,
  log: () => {},
};

/**
 * Consumer functions behind the local server's Lambda Invoke endpoint, and dispatchers over
 * `broker` that invoke them through @aws-sdk/client-lambda, as the Lambda dispatcher does. The
 * server starts before the file's tests; it and every dispatcher made are closed after them.
 */
export function localDispatch(broker: () => Broker, defaults: DispatcherOptions = FAST_DISPATCH) {
  const functions = new LocalFunctions({ log: () => {} });
  const dispatchers: Dispatcher[] = [];
  let server: ApiServer | undefined;
  beforeAll(async () => {
    server = await startApiServer({
      broker: broker(),
      clusterId: 'test',
      functions,
      validateResponses: true,
    });
  });
  afterAll(async () => {
    for (const d of dispatchers) d.close();
    await server?.close();
  });
  return {
    functions,
    dispatcher(options: DispatcherOptions = {}): Dispatcher {
      if (server === undefined) throw new Error('the local server is not started yet');
      const invoker = new LambdaFunctionInvoker(
        createLambdaClient({ endpoint: server.url, maxAttempts: 1 }),
      );
      const d = createDispatcher(broker(), invoker, { ...defaults, ...options });
      dispatchers.push(d);
      return d;
    },
  };
}
