import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorCode, type EventLogError, toEventLogError } from '../log/errors.js';

/**
 * The one place where an error code becomes an HTTP status and a Confluent REST Proxy
 * `error_code`. Confluent's own codes are used where Confluent has one (kafka-rest's Errors and
 * rest-utils' KafkaExceptionMapper: 40401 topic not found, 40402 partition not found, 40002 a
 * bad request Kafka refused, 50002 a Kafka error, 50003 a retriable one); elsewhere the
 * error_code is the HTTP status, as Confluent does for generic errors (400, 404, 415, 500).
 */

export interface HttpError {
  status: ContentfulStatusCode;
  /** Confluent's `error_code`. */
  errorCode: number;
}

export const ERROR_MAPPING = {
  INVALID_REQUEST: { status: 400, errorCode: 400 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, errorCode: 415 },
  INVALID_TOPIC_NAME: { status: 400, errorCode: 40002 },
  INVALID_PARTITIONS: { status: 400, errorCode: 40002 },
  INVALID_CONFIG: { status: 400, errorCode: 40002 },
  // Confluent answers a duplicate topic with 400/40002 (TopicExistsException), not 409.
  TOPIC_ALREADY_EXISTS: { status: 400, errorCode: 40002 },
  UNKNOWN_TOPIC: { status: 404, errorCode: 40401 },
  UNKNOWN_PARTITION: { status: 404, errorCode: 40402 },
  // Kafka's OFFSET_OUT_OF_RANGE: a consumer must reset, so a distinct status helps it notice.
  OFFSET_OUT_OF_RANGE: { status: 416, errorCode: 416 },
  RECORD_TOO_LARGE: { status: 413, errorCode: 413 },
  REQUEST_TOO_LARGE: { status: 413, errorCode: 413 },
  CORRUPT_RECORD: { status: 500, errorCode: 50002 },
  UNSUPPORTED_COMPRESSION: { status: 500, errorCode: 50002 },
  NOT_FOUND: { status: 404, errorCode: 404 },
  CONFLICT: { status: 409, errorCode: 409 },
  UNKNOWN_GROUP: { status: 404, errorCode: 404 },
  // Kafka's NON_EMPTY_GROUP; Confluent has no code of its own for it.
  GROUP_NOT_EMPTY: { status: 409, errorCode: 409 },
  // Confluent's 40903 is its "Illegal state" conflict: the caller's view of the group is stale.
  FENCED: { status: 409, errorCode: 40903 },
  PARTITION_NOT_ASSIGNED: { status: 409, errorCode: 40903 },
  NO_OFFSET: { status: 409, errorCode: 40903 },
  CONSUMER_INSTANCE_NOT_FOUND: { status: 404, errorCode: 40403 },
  CONSUMER_INSTANCE_EXISTS: { status: 409, errorCode: 40902 },
  CONSUMER_FORMAT_MISMATCH: { status: 406, errorCode: 40601 },
  INVALID_CONSUMER_CONFIG: { status: 422, errorCode: 42204 },
  // Kafka's idempotent-producer errors are the caller's state being stale: 409 as FENCED.
  UNKNOWN_PRODUCER_ID: { status: 409, errorCode: 40903 },
  PRODUCER_FENCED: { status: 409, errorCode: 40903 },
  OUT_OF_ORDER_SEQUENCE: { status: 409, errorCode: 40903 },
  // The IETF Idempotency-Key draft: 422 for a key reused with another payload, 409 while the
  // first request with the key is still being processed.
  IDEMPOTENCY_KEY_REUSED: { status: 422, errorCode: 422 },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, errorCode: 409 },
  UNKNOWN_SUBSCRIPTION: { status: 404, errorCode: 404 },
  SUBSCRIPTION_ALREADY_EXISTS: { status: 409, errorCode: 409 },
  // Confluent's 40101 authentication error, 40301 authorization error, 42901 rate limit.
  UNAUTHENTICATED: { status: 401, errorCode: 40101 },
  AUTHORIZATION_FAILED: { status: 403, errorCode: 40301 },
  RATE_LIMITED: { status: 429, errorCode: 42901 },
  THROTTLED: { status: 429, errorCode: 429 },
  STORAGE_UNAVAILABLE: { status: 503, errorCode: 50003 },
  TIMEOUT: { status: 504, errorCode: 50003 },
  INTERNAL: { status: 500, errorCode: 50002 },
} as const satisfies Record<ErrorCode, HttpError>;

/**
 * Confluent's 42201/42202 tell a bad key from a bad value; our INVALID_REQUEST says which in
 * `details.field`.
 */
const FIELD_ERRORS: Record<string, HttpError> = {
  key: { status: 422, errorCode: 42201 },
  value: { status: 422, errorCode: 42202 },
};

export function httpErrorOf(error: EventLogError): HttpError {
  if (error.code === 'INVALID_REQUEST') {
    const field = error.details?.['field'];
    if (typeof field === 'string' && Object.hasOwn(FIELD_ERRORS, field)) {
      return FIELD_ERRORS[field] as HttpError;
    }
  }
  return ERROR_MAPPING[error.code];
}

export interface ErrorBody {
  error_code: number;
  message: string;
  code: ErrorCode;
  retriable: boolean;
  [detail: string]: unknown;
}

/** The JSON every error answers with: Confluent's envelope, plus our code and details. */
export function errorBody(error: EventLogError): ErrorBody {
  return {
    ...error.details,
    error_code: httpErrorOf(error).errorCode,
    message: error.message,
    code: error.code,
    retriable: error.retriable,
  };
}

export function errorResponseParts(thrown: unknown): {
  status: ContentfulStatusCode;
  body: ErrorBody;
} {
  const error = toEventLogError(thrown);
  return { status: httpErrorOf(error).status, body: errorBody(error) };
}
