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
  // SQS and SNS (on-failure destinations).
  'ThrottledException',
  'KMSThrottlingException',
]);

/** Requests AWS refuses as they are: sending them again unchanged cannot help. */
const REJECTED = new Set([
  'ValidationException',
  'InvalidRange',
  // SQS and SNS: a malformed message, no permission to send or publish, a KMS key unusable.
  'InvalidParameterException',
  'InvalidParameterValueException',
  'InvalidMessageContents',
  'AuthorizationErrorException',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSNotFoundException',
]);

/** Resources that are not there: a deployment (or subscription) fault, not a passing one. */
const NOT_FOUND = new Set([
  'ResourceNotFoundException',
  'NoSuchBucket',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'NotFoundException',
  'NotFound',
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
  if (NOT_FOUND.has(name)) {
    // A missing table, bucket, queue or topic is a deployment fault, not the caller's: say which.
    return new EventLogError('INTERNAL', `${action} failed: ${reason}`, { cause: error });
  }
  if (REJECTED.has(name)) {
    return new EventLogError('INTERNAL', `${action} was rejected by AWS: ${reason}`, {
      cause: error,
    });
  }
  // 5xx, timeouts, resets, aborted sockets: the store may be fine on the next attempt.
  return new EventLogError('STORAGE_UNAVAILABLE', `${action} failed: ${reason}`, { cause: error });
}

/**
 * One AWS request, its error mapped with `action` naming what was being done. Each store
 * method keeps the meaning (which item, which condition); the I/O and its errors live here.
 */
export async function request<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw mapAwsError(error, action);
  }
}

/**
 * A conditional write whose failed condition is an answer, not an error: `written: false`,
 * with the item as it was when the write asked for it (`ReturnValuesOnConditionCheckFailure`),
 * as the SDK returns it (attribute values, not unmarshalled), and the SDK's error for a store
 * that still finds it unexpected. Any other error is mapped.
 */
export type ConditionalOutcome<T> =
  | { written: true; response: T }
  | { written: false; item: Record<string, unknown> | undefined; error: unknown };

export async function conditionalRequest<T>(
  action: string,
  call: () => Promise<T>,
): Promise<ConditionalOutcome<T>> {
  try {
    return { written: true, response: await call() };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw mapAwsError(error, action);
    return { written: false, item: (error as { Item?: Record<string, unknown> }).Item, error };
  }
}

/** Why DynamoDB cancelled one item of a transaction, in the transaction's item order. */
export interface CancellationReason {
  Code?: string;
  Item?: Record<string, unknown>;
}

/**
 * A transaction whose cancellation is an answer, not an error: `written: false` with the
 * reasons, one per item (`ConditionalCheckFailed` where that item's condition failed), and the
 * SDK's error for a store that still finds the cancellation unexpected (a conflict with another
 * transaction, say). Any other error is mapped with `action`.
 */
export type TransactOutcome<T> =
  | { written: true; response: T }
  | { written: false; reasons: CancellationReason[]; error: unknown };

export async function transactRequest<T>(
  action: string,
  call: () => Promise<T>,
): Promise<TransactOutcome<T>> {
  try {
    return { written: true, response: await call() };
  } catch (error) {
    if (awsErrorName(error) !== 'TransactionCanceledException') throw mapAwsError(error, action);
    const reasons = (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons;
    return { written: false, reasons: reasons ?? [], error };
  }
}
