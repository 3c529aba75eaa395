import { EventLogError } from '../log/errors.js';

/**
 * Turns an AWS SDK error into an EventLogError, so nothing above lib/store needs to know
 * the SDK's error names. A failed condition is not mapped here: each store decides what a
 * failed condition means for its own write (a duplicate, a fencing, a conflict).
 */

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'TooManyRequestsException',
  'RequestThrottled',
  'TransactionInProgressException',
]);

interface AwsErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

export function awsErrorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as AwsErrorShape).name : undefined;
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return awsErrorName(error) === 'ConditionalCheckFailedException';
}

export function mapAwsError(error: unknown, action: string): EventLogError {
  if (error instanceof EventLogError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as AwsErrorShape;
  const name = shape.name ?? 'Error';
  const status = shape.$metadata?.httpStatusCode;
  const reason = `${name}: ${shape.message ?? String(error)}`;
  if (THROTTLING.has(name) || shape.$retryable?.throttling === true || status === 429) {
    return new EventLogError('THROTTLED', `${action} was throttled (${reason})`, { cause: error });
  }
  if (name === 'ResourceNotFoundException' || name === 'NoSuchBucket') {
    // A missing table or bucket is a deployment fault, not the caller's: say which.
    return new EventLogError('INTERNAL', `${action} failed: ${reason}`, { cause: error });
  }
  if (name === 'ValidationException' || name === 'InvalidRange') {
    return new EventLogError('INTERNAL', `${action} was rejected by AWS: ${reason}`, {
      cause: error,
    });
  }
  // 5xx, timeouts, resets, aborted sockets: the store may be fine on the next attempt.
  return new EventLogError('STORAGE_UNAVAILABLE', `${action} failed: ${reason}`, { cause: error });
}
