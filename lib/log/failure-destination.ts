/**
 * A subscription's on-failure destination (Lambda's DestinationConfig.OnFailure.Destination):
 * the forms it may take, and its parsing, apart from the rest of the settings in
 * subscription-config.ts, which re-exports what is public here.
 */
import { EventLogError } from './errors.js';
import type { SettingProblem } from './subscription-config.js';
import { validateTopicName } from './topic-config.js';

/** An SQS queue or SNS topic, with the parts of its ARN the sender needs. */
export interface AwsDestination {
  kind: 'sqs' | 'sns';
  arn: string;
  /** The client for it is made in this region. */
  region: string;
  account: string;
  /** The queue's or topic's name. */
  name: string;
  /** A FIFO queue or topic (name ending in .fifo): messages need a group and a deduplication id. */
  fifo: boolean;
}

/** An S3 bucket: each failure is one object, the invocation record with the batch's payload. */
export interface S3Destination {
  kind: 's3';
  arn: string;
  bucket: string;
}

export type OnFailureDestination =
  | { kind: 'topic'; topic: string }
  | AwsDestination
  | S3Destination;

/** The forms an on-failure destination may take. */
export const SUPPORTED_DESTINATIONS = [
  'kafka://{topic}',
  'arn:aws:sqs:{region}:{account}:{queue}',
  'arn:aws:sns:{region}:{account}:{topic}',
  'arn:aws:s3:::{bucket}',
] as const;

const AWS_DESTINATION_ARN =
  /^arn:aws[a-zA-Z-]*:(sqs|sns):([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):([a-zA-Z0-9_-]+(?:\.fifo)?)$/;
/**
 * S3's rules for bucket names: 3-63 characters of lowercase letters, digits, dots and hyphens,
 * starting and ending with a letter or digit, no two dots in a row, not an IP address.
 */
const S3_BUCKET_ARN = /^arn:aws[a-zA-Z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/;
/** SQS queue names are at most 80 characters, SNS topic names 256, `.fifo` included. */
const NAME_LIMITS = { sqs: 80, sns: 256 } as const;

/** The destination of a stored or validated config. */
export function parseDestination(destination: string): OnFailureDestination {
  const parsed = parseDestinationQuietly(destination);
  if (parsed === undefined) {
    throw new EventLogError('INVALID_CONFIG', `Unknown on-failure destination "${destination}"`, {
      details: { destination, supported: SUPPORTED_DESTINATIONS },
    });
  }
  return parsed;
}

export function parseDestinationQuietly(destination: string): OnFailureDestination | undefined {
  if (destination.startsWith('kafka://')) {
    return { kind: 'topic', topic: destination.slice('kafka://'.length) };
  }
  const bucket = S3_BUCKET_ARN.exec(destination)?.[1];
  if (bucket !== undefined) {
    if (bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return undefined;
    return { kind: 's3', arn: destination, bucket };
  }
  const match = AWS_DESTINATION_ARN.exec(destination);
  if (match === null) return undefined;
  const [, service, region, account, name] = match as unknown as [
    string,
    'sqs' | 'sns',
    string,
    string,
    string,
  ];
  if (name.length > NAME_LIMITS[service]) return undefined;
  return {
    kind: service,
    arn: destination,
    region,
    account,
    name,
    fifo: name.endsWith('.fifo'),
  };
}

export function destinationProblem(destination: unknown): SettingProblem | undefined {
  const field = 'destinationConfig.onFailure.destination';
  if (typeof destination !== 'string') {
    return { field, message: 'destinationConfig.onFailure.destination must be a string' };
  }
  const parsed = parseDestinationQuietly(destination);
  if (parsed === undefined) {
    return {
      field,
      message: `destinationConfig.onFailure.destination must be kafka://{topic} (a topic of this log), an SQS queue or SNS topic ARN (arn:aws:sqs:{region}:{account}:{queue}, arn:aws:sns:{region}:{account}:{topic}), or an S3 bucket ARN (arn:aws:s3:::{bucket}); got ${JSON.stringify(destination)}`,
      limit: { allowed: SUPPORTED_DESTINATIONS },
    };
  }
  if (parsed.kind !== 'topic') return undefined;
  try {
    validateTopicName(parsed.topic);
  } catch (error) {
    return { field, message: `${field}: ${(error as Error).message}` };
  }
  return undefined;
}
