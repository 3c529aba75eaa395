import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  type AwsClients,
  createAwsClients,
  destroyAwsClients,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
} from '../store/aws-clients.js';
import { type ResourceNames, resourceNamesToEnv } from '../store/resources.js';
import { createResources, deleteResources, localResourceNames } from './create-resources.js';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.js';
import { type S3Local, startS3Local } from './s3-local.js';

export interface StartLocalEnvironmentOptions {
  /**
   * Keep tables and objects here (e.g. '.eventlog'): DynamoDB Local's database in
   * `{dataDir}/dynamodb`, s3rver's files in `{dataDir}/s3`. In memory / a temporary
   * directory when omitted.
   */
  dataDir?: string;
  /** No summary line on stderr. The one-time DynamoDB Local download still reports. */
  quiet?: boolean;
  /**
   * Resource name prefix. Defaults to 'eventlog' on our own emulators, and to a unique
   * 'eventlog-xxxxxxxx' on external endpoints, whose resources stop() then deletes.
   */
  prefix?: string;
}

export interface LocalEnvironment {
  names: ResourceNames;
  endpoints: { s3: string; dynamodb: string };
  clients: AwsClients;
  /** What a function would find in its environment to reach these resources. */
  env: Record<string, string>;
  /** True when the endpoints came from AWS_ENDPOINT_URL_S3/_DYNAMODB (LocalStack or other). */
  external: boolean;
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local and s3rver (in parallel) and creates the event log's tables and
 * bucket. When AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_DYNAMODB are both set, starts
 * nothing and uses those endpoints instead.
 */
export async function startLocalEnvironment(
  options: StartLocalEnvironmentOptions = {},
): Promise<LocalEnvironment> {
  const started = Date.now();
  const externalS3 = process.env['AWS_ENDPOINT_URL_S3'];
  const externalDynamo = process.env['AWS_ENDPOINT_URL_DYNAMODB'];
  if (externalS3 && externalDynamo) {
    return useExternalEndpoints(externalS3, externalDynamo, options, started);
  }

  const [dynamoResult, s3Result] = await Promise.allSettled([
    startDynamoDbLocal(
      options.dataDir === undefined ? {} : { dataDir: join(options.dataDir, 'dynamodb') },
    ),
    startS3Local(options.dataDir === undefined ? {} : { directory: join(options.dataDir, 's3') }),
  ]);
  if (dynamoResult.status === 'rejected' || s3Result.status === 'rejected') {
    await Promise.all([
      dynamoResult.status === 'fulfilled' ? dynamoResult.value.stop() : undefined,
      s3Result.status === 'fulfilled' ? s3Result.value.stop() : undefined,
    ]);
    throw dynamoResult.status === 'rejected'
      ? dynamoResult.reason
      : (s3Result as PromiseRejectedResult).reason;
  }
  const dynamoDb: DynamoDbLocal = dynamoResult.value;
  const s3: S3Local = s3Result.value;
  const stopEmulators = () => Promise.all([dynamoDb.stop(), s3.stop()]).then(() => undefined);

  const endpoints = { s3: s3.endpoint, dynamodb: dynamoDb.endpoint };
  const clients = createAwsClients({
    s3Endpoint: endpoints.s3,
    dynamoEndpoint: endpoints.dynamodb,
  });
  const names = localResourceNames(options.prefix);
  try {
    await createResources(clients, names);
  } catch (error) {
    destroyAwsClients(clients);
    await stopEmulators();
    throw error;
  }
  report(options, `DynamoDB Local ${endpoints.dynamodb}, s3rver ${endpoints.s3}`, started);

  return environment(names, endpoints, clients, false, async () => {
    destroyAwsClients(clients);
    await stopEmulators();
  });
}

async function useExternalEndpoints(
  s3Endpoint: string,
  dynamoEndpoint: string,
  options: StartLocalEnvironmentOptions,
  started: number,
): Promise<LocalEnvironment> {
  // A shared LocalStack outlives this process and may serve several runs at once.
  const throwAway = options.prefix === undefined;
  const names = localResourceNames(options.prefix ?? `eventlog-${randomBytes(4).toString('hex')}`);
  // No endpoints passed: the SDK reads the same variables itself.
  const clients = createAwsClients();
  try {
    await createResources(clients, names);
  } catch (error) {
    destroyAwsClients(clients);
    throw error;
  }
  const endpoints = { s3: s3Endpoint, dynamodb: dynamoEndpoint };
  report(options, `external endpoints S3 ${s3Endpoint}, DynamoDB ${dynamoEndpoint}`, started);

  return environment(names, endpoints, clients, true, async () => {
    try {
      if (throwAway) await deleteResources(clients, names);
    } finally {
      destroyAwsClients(clients);
    }
  });
}

/** The environment over these resources; `stop` runs `release` once, however often called. */
function environment(
  names: ResourceNames,
  endpoints: { s3: string; dynamodb: string },
  clients: AwsClients,
  external: boolean,
  release: () => Promise<void>,
): LocalEnvironment {
  let stopped: Promise<void> | undefined;
  return {
    names,
    endpoints,
    clients,
    env: functionEnv(names, endpoints),
    external,
    stop: () => {
      stopped ??= release();
      return stopped;
    },
  };
}

function functionEnv(
  names: ResourceNames,
  endpoints: { s3: string; dynamodb: string },
): Record<string, string> {
  return {
    ...resourceNamesToEnv(names),
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_REGION: process.env['AWS_REGION'] ?? LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  };
}

function report(options: StartLocalEnvironmentOptions, what: string, started: number): void {
  if (options.quiet) return;
  process.stderr.write(
    `eventlog local environment: ${what} (ready in ${Date.now() - started} ms)\n`,
  );
}
