import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsClientOptions {
  /** An S3-compatible endpoint (s3rver, LocalStack). Omit to let the SDK decide (see below). */
  s3Endpoint?: string;
  /** A DynamoDB-compatible endpoint (DynamoDB Local, LocalStack). */
  dynamoEndpoint?: string;
  region?: string;
  credentials?: AwsCredentials;
  /** Attempts per call, the first included (SDK default: 3). Fault tests often want 1. */
  maxAttempts?: number;
}

export interface AwsClients {
  s3: S3Client;
  dynamo: DynamoDBClient;
  doc: DynamoDBDocumentClient;
}

/**
 * What the emulators accept: they check no signature, but the SDK insists on signing.
 * 'test'/'test' is also what LocalStack expects (it maps that key to account 000000000000).
 */
export const LOCAL_CREDENTIALS: AwsCredentials = { accessKeyId: 'test', secretAccessKey: 'test' };
export const LOCAL_REGION = 'us-east-1';

/** Tests drive hundreds of concurrent calls; the SDK's default pool of 50 sockets queues them. */
const MAX_SOCKETS = 256;

/**
 * Clients for S3 and DynamoDB. With an endpoint (given here or through the SDK's own
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` variables) the
 * client is set up for an emulator; without one it is a plain AWS client configured by the
 * usual SDK chain (region, credentials, retry mode from the environment).
 *
 * An endpoint from the environment is never copied into the config: the SDK reads it
 * itself, so a variable set later for a child process, or a service-specific variable
 * beating the generic one, behaves exactly as the SDK documents.
 */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const env = process.env;
  const s3Local = options.s3Endpoint !== undefined || hasEndpointEnv(env, 'AWS_ENDPOINT_URL_S3');
  const dynamoLocal =
    options.dynamoEndpoint !== undefined || hasEndpointEnv(env, 'AWS_ENDPOINT_URL_DYNAMODB');

  const common = (local: boolean) => ({
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...regionAndCredentials(options, local),
    requestHandler: {
      httpAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
      httpsAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
      // No connectionTimeout: its clock starts while a request still queues for one of the
      // sockets, so bursts beyond MAX_SOCKETS would fail; a stopped emulator refuses at once.
    },
  });

  const s3 = new S3Client({
    ...common(s3Local),
    ...(options.s3Endpoint === undefined ? {} : { endpoint: options.s3Endpoint }),
    ...(s3Local
      ? {
          // With a host-name endpoint (localhost, LocalStack) the SDK would otherwise put
          // the bucket into the host name, which neither resolves nor reaches s3rver.
          forcePathStyle: true,
          // By default the SDK sends stream bodies aws-chunked with a trailing checksum,
          // and s3rver stores the chunk framing as the object's content.
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
  });

  const dynamo = new DynamoDBClient({
    ...common(dynamoLocal),
    ...(options.dynamoEndpoint === undefined ? {} : { endpoint: options.dynamoEndpoint }),
  });

  const doc = DynamoDBDocumentClient.from(dynamo, {
    // Class instances (a Date, a Map) still throw instead of silently becoming empty maps.
    marshallOptions: { removeUndefinedValues: true },
    // Offsets and counts stay below 2^53, so plain numbers are exact.
    unmarshallOptions: { wrapNumbers: false },
  });

  return { s3, dynamo, doc };
}

/** Closes the clients' sockets so a test process or a local server can exit promptly. */
export function destroyAwsClients(clients: AwsClients): void {
  clients.doc.destroy();
  clients.s3.destroy();
  clients.dynamo.destroy();
}

function hasEndpointEnv(env: NodeJS.ProcessEnv, serviceVariable: string): boolean {
  const value = env[serviceVariable] ?? env['AWS_ENDPOINT_URL'];
  return (
    value !== undefined && value !== '' && env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] !== 'true'
  );
}

function regionAndCredentials(
  options: AwsClientOptions,
  local: boolean,
): { region?: string; credentials?: AwsCredentials } {
  if (!local) {
    return {
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    };
  }
  // Against an emulator, a developer's real AWS profile must not be needed, nor sent.
  return {
    region: options.region ?? process.env['AWS_REGION'] ?? LOCAL_REGION,
    credentials: options.credentials ?? LOCAL_CREDENTIALS,
  };
}
