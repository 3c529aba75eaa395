import { LambdaClient } from '@aws-sdk/client-lambda';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './aws-clients.js';

export interface LambdaClientOptions {
  /** A Lambda-compatible endpoint (the local server, LocalStack). Omit to let the SDK decide. */
  endpoint?: string;
  /** Attempts per call, the first included (SDK default: 3). */
  maxAttempts?: number;
}

/**
 * A Lambda client configured as createAwsClients configures S3 and DynamoDB: with an endpoint
 * (given, or `AWS_ENDPOINT_URL_LAMBDA` / `AWS_ENDPOINT_URL`, which the SDK reads itself) it
 * uses the emulator's fake region and credentials; without one it is a plain AWS client.
 */
export function createLambdaClient(options: LambdaClientOptions = {}): LambdaClient {
  const env = process.env;
  const fromEnv = env['AWS_ENDPOINT_URL_LAMBDA'] ?? env['AWS_ENDPOINT_URL'];
  const local =
    options.endpoint !== undefined ||
    (fromEnv !== undefined &&
      fromEnv !== '' &&
      env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] !== 'true');
  return new LambdaClient({
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(local ? { region: env['AWS_REGION'] ?? LOCAL_REGION, credentials: LOCAL_CREDENTIALS } : {}),
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: 256 },
      httpsAgent: { keepAlive: true, maxSockets: 256 },
    },
  });
}
