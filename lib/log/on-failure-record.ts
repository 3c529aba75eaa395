/**
 * What an SQS queue or SNS topic on-failure destination receives for records the dispatcher
 * gave up on: Lambda's invocation record for Kafka event sources, field for field as Lambda
 * documents it ("Capturing discarded batches for Amazon MSK and self-managed Apache Kafka
 * event sources", SNS and SQS example invocation record), plus one object of our own.
 *
 *   {
 *     "requestContext": {
 *       "requestId": the last invocation's request id (a fresh UUID when none ran),
 *       "functionArn": the subscription's function as an ARN (on AWS; completed from the
 *                      dispatcher's own ARN when configured by name), or as configured,
 *       "condition": "RetryAttemptsExhausted" | "RecordAgeExceeded"
 *                  | "MaximumPayloadSizeExceeded" | "RecordExpired",
 *       "approximateInvokeCount": failed invocations of these records
 *     },
 *     "responseContext": { "statusCode", "executedVersion", "functionError" }
 *                        | null (the function never answered: not invoked, timed out, ...),
 *     "version": "1.0",
 *     "timestamp": ISO-8601, when the dispatcher gave up,
 *     "KafkaBatchInfo": {
 *       "batchSize": records in the range,
 *       "bootstrapServers": this log's address, as in the event,
 *       "payloadSize": bytes of the event these records made (absent for RecordExpired),
 *       "recordsInfo": {
 *         "{topic}-{partition}": {
 *           "firstRecordOffset": "5", "lastRecordOffset": "5"   (strings, as Lambda sends),
 *           "firstRecordTimestamp", "lastRecordTimestamp"        (ISO-8601; absent for
 *                                                                 RecordExpired: already deleted)
 *         }
 *       }
 *     },
 *     "eventlog": {                                     ours: Lambda consumers ignore it
 *       "subscription", "consumerGroupId", "topic", "partition",
 *       "firstOffset", "lastOffset" (numbers),
 *       "reason": why, in words,
 *       "lastError": the last error, possibly truncated,
 *       "truncated": true when lastError or reason was cut to fit the size limit
 *     }
 *   }
 *
 * Metadata only, as Lambda sends to SQS and SNS: the records stay in the topic (until its
 * retention deletes them) and the offsets find them. `eventSourceArn` is left out: a
 * self-managed Kafka source has none. Each message covers one contiguous offset range of one
 * partition. RecordExpired is this log's own condition: records retention deleted before they
 * were delivered (possible with retention.bytes, or a dispatcher stopped for longer than the
 * retention), reported once per lost range.
 */

/** Why records went to the on-failure destination. */
export type FailureCondition =
  | 'RetryAttemptsExhausted'
  | 'RecordAgeExceeded'
  | 'MaximumPayloadSizeExceeded'
  | 'RecordExpired';

/** SQS's and SNS's largest message: 256 KiB. */
export const ON_FAILURE_MESSAGE_LIMIT = 262_144;

export const INVOCATION_RECORD_VERSION = '1.0';

/** The function's answer to the last failed invocation (Lambda's responseContext). */
export interface InvocationResponse {
  statusCode: number;
  executedVersion?: string;
  /** X-Amz-Function-Error ("Unhandled", ...); absent for a reported partial failure. */
  functionError?: string;
  requestId?: string;
}

export interface FailureRecordInput {
  condition: FailureCondition;
  /** Used when `response` carries no request id. */
  requestId: string;
  functionName: string;
  /** The function's full ARN when known (qualifiedFunctionArn); else functionName is used. */
  functionArn?: string;
  approximateInvokeCount: number;
  response?: InvocationResponse;
  /** When the dispatcher gave up, epoch ms. */
  timestamp: number;
  bootstrapServers: string;
  payloadSize?: number;
  subscription: string;
  group: string;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  /** Epoch ms; omitted when the records are gone. */
  firstTimestamp?: number;
  lastTimestamp?: number;
  reason: string;
  lastError: string;
}

export interface InvocationRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion?: string; functionError?: string } | null;
  version: string;
  timestamp: string;
  KafkaBatchInfo: {
    batchSize: number;
    bootstrapServers: string;
    payloadSize?: number;
    recordsInfo: Record<
      string,
      {
        firstRecordOffset: string;
        lastRecordOffset: string;
        firstRecordTimestamp?: string;
        lastRecordTimestamp?: string;
      }
    >;
  };
  eventlog: {
    subscription: string;
    consumerGroupId: string;
    topic: string;
    partition: number;
    firstOffset: number;
    lastOffset: number;
    reason: string;
    lastError: string;
    truncated?: true;
  };
}

const TRUNCATED = '… (truncated)';

/** The record as JSON text of at most `limit` UTF-8 bytes (the last error, then the reason, cut). */
export function buildInvocationRecord(
  input: FailureRecordInput,
  limit = ON_FAILURE_MESSAGE_LIMIT,
): string {
  const whole = JSON.stringify(invocationRecord(input));
  if (utf8Bytes(whole) <= limit) return whole;
  const render = (reason: string, lastError: string) =>
    JSON.stringify(invocationRecord(input, reason, lastError, true));
  if (utf8Bytes(render(input.reason, '')) <= limit) {
    return longestFitting(input.lastError, (e) => render(input.reason, e), limit);
  }
  if (utf8Bytes(render('', '')) > limit) {
    throw new RangeError(
      `the invocation record does not fit in ${limit} bytes even without its texts`,
    );
  }
  return longestFitting(input.reason, (r) => render(r, ''), limit);
}

export function invocationRecord(
  input: FailureRecordInput,
  reason = input.reason,
  lastError = input.lastError,
  truncated = false,
): InvocationRecord {
  const iso = (ms: number) => new Date(ms).toISOString();
  const response = input.response;
  return {
    requestContext: {
      requestId: response?.requestId ?? input.requestId,
      functionArn: input.functionArn ?? input.functionName,
      condition: input.condition,
      approximateInvokeCount: input.approximateInvokeCount,
    },
    responseContext:
      response === undefined
        ? null
        : {
            statusCode: response.statusCode,
            ...(response.executedVersion === undefined
              ? {}
              : { executedVersion: response.executedVersion }),
            ...(response.functionError === undefined
              ? {}
              : { functionError: response.functionError }),
          },
    version: INVOCATION_RECORD_VERSION,
    timestamp: iso(input.timestamp),
    KafkaBatchInfo: {
      batchSize: input.lastOffset - input.firstOffset + 1,
      bootstrapServers: input.bootstrapServers,
      ...(input.payloadSize === undefined ? {} : { payloadSize: input.payloadSize }),
      recordsInfo: {
        [`${input.topic}-${input.partition}`]: {
          firstRecordOffset: String(input.firstOffset),
          lastRecordOffset: String(input.lastOffset),
          ...(input.firstTimestamp === undefined
            ? {}
            : { firstRecordTimestamp: iso(input.firstTimestamp) }),
          ...(input.lastTimestamp === undefined
            ? {}
            : { lastRecordTimestamp: iso(input.lastTimestamp) }),
        },
      },
    },
    eventlog: {
      subscription: input.subscription,
      consumerGroupId: input.group,
      topic: input.topic,
      partition: input.partition,
      firstOffset: input.firstOffset,
      lastOffset: input.lastOffset,
      reason,
      lastError,
      ...(truncated ? { truncated: true as const } : {}),
    },
  };
}

/**
 * The rendering with the longest prefix of `text` that fits: a binary search over its length
 * (bytes per character vary, and JSON escapes some).
 */
function longestFitting(text: string, render: (cut: string) => string, limit: number): string {
  let best = render('');
  let fits = 0;
  let tooLong = text.length + 1;
  while (tooLong - fits > 1) {
    const keep = Math.floor((fits + tooLong) / 2);
    const rendered = render(prefix(text, keep));
    if (utf8Bytes(rendered) <= limit) {
      fits = keep;
      best = rendered;
    } else {
      tooLong = keep;
    }
  }
  return best;
}

/** The first `keep` characters of `text` and the truncation marker ('' for none). */
function prefix(text: string, keep: number): string {
  // Never split a surrogate pair: half a character is not valid UTF-8.
  const code = text.charCodeAt(keep - 1);
  const end = keep > 0 && code >= 0xd800 && code <= 0xdbff ? keep - 1 : keep;
  return end <= 0 ? '' : `${text.slice(0, end)}${TRUNCATED}`;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * A function's ARN from the way a subscription names it (as Lambda's Invoke accepts: a name,
 * `name:alias`, `123456789012:function:name`, or an ARN), completed with the partition,
 * region and account of `own`, an ARN of the caller's (the dispatcher's own function).
 * Undefined when there is nothing to complete it with (the local server).
 */
export function qualifiedFunctionArn(functionName: string, own?: string): string | undefined {
  if (functionName.startsWith('arn:')) return functionName;
  const parts = own?.split(':');
  if (parts === undefined || parts.length < 6 || parts[0] !== 'arn') return undefined;
  const [, partition, , region, account] = parts;
  const partial = /^(\d{12}):function:(.+)$/.exec(functionName);
  if (partial !== null) {
    return `arn:${partition}:lambda:${region}:${partial[1]}:function:${partial[2]}`;
  }
  return `arn:${partition}:lambda:${region}:${account}:function:${functionName}`;
}

/**
 * What an S3 bucket on-failure destination receives: the invocation record above (whole, never
 * truncated: an S3 object has no 256 KiB limit) plus `payload`, the event of the records given
 * up on exactly as the function was (or would have been) invoked with it, as Lambda's guide
 * describes for S3 destinations of Kafka event sources ("For Amazon S3 destinations, Lambda
 * also sends the entire invocation record along with the metadata"). `payload` is absent for a
 * RecordExpired notice: those records were deleted before anyone read them.
 */
export interface S3InvocationRecord extends InvocationRecord {
  payload?: unknown;
}

export function buildS3InvocationRecord(input: FailureRecordInput, payload?: unknown): string {
  const record: S3InvocationRecord = {
    ...invocationRecord(input),
    ...(payload === undefined ? {} : { payload }),
  };
  return JSON.stringify(record);
}

/**
 * The object key, Lambda's naming for S3 on-failure destinations:
 * `aws/lambda/<ESM-UUID>/<partition>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<random UUID>` (UTC), with
 * the subscription's id for the event source mapping's UUID and the partition number where
 * Kinesis mappings put the shard id.
 */
export function s3FailureObjectKey(
  subscriptionId: string,
  partition: number,
  at: number,
  unique: string,
): string {
  const iso = new Date(at).toISOString(); // 2026-11-25T10:15:42.118Z
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19).replaceAll(':', '.');
  return `aws/lambda/${subscriptionId}/${partition}/${day.replaceAll('-', '/')}/${day}T${time}-${unique}`;
}
