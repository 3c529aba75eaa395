/**
 * The one error hierarchy of the event log. Every layer throws `EventLogError` with a code
 * from this list; the HTTP status and the Confluent error code are chosen once, at the API
 * edge (lib/api/error-mapping.ts), from the code alone.
 *
 * `retriable` says whether the same request may succeed if sent again unchanged: clients
 * (the SDK, the dispatcher) retry those with backoff and never retry the others.
 */
export const ERROR_CODES = {
  // The request itself is wrong: retrying it unchanged cannot help.
  INVALID_REQUEST: { retriable: false, description: 'The request is malformed or invalid.' },
  UNSUPPORTED_MEDIA_TYPE: {
    retriable: false,
    description: 'The request body has a content type the route does not accept.',
  },
  INVALID_TOPIC_NAME: {
    retriable: false,
    description: 'Topic names are 1-249 characters of [a-zA-Z0-9._-], and not "." or "..".',
  },
  INVALID_PARTITIONS: {
    retriable: false,
    description: "Partition counts are 1-1000, and a topic's count can only be increased.",
  },
  INVALID_CONFIG: {
    retriable: false,
    description: 'A topic or subscription configuration value is invalid.',
  },
  TOPIC_ALREADY_EXISTS: { retriable: false, description: 'A topic of that name exists.' },
  UNKNOWN_TOPIC: { retriable: false, description: 'No topic of that name exists.' },
  UNKNOWN_PARTITION: { retriable: false, description: 'The topic has no such partition.' },
  OFFSET_OUT_OF_RANGE: {
    retriable: false,
    description: 'The offset is below the log start offset or above the high watermark.',
  },
  RECORD_TOO_LARGE: {
    retriable: false,
    description: "A record is larger than the topic's max.message.bytes.",
  },
  REQUEST_TOO_LARGE: {
    retriable: false,
    description: 'The request carries too many records or too many bytes.',
  },
  CORRUPT_RECORD: {
    retriable: false,
    description: 'A record batch failed its CRC-32C check or is truncated or malformed.',
  },
  UNSUPPORTED_COMPRESSION: {
    retriable: false,
    description: 'The record batch uses a compression codec this build cannot handle.',
  },
  NOT_FOUND: { retriable: false, description: 'No such route or resource.' },
  // The state moved under the caller: the condition it relied on no longer holds.
  CONFLICT: { retriable: false, description: 'The resource changed concurrently.' },
  // Consumer groups (lib/broker/groups.ts) and Confluent v2 consumer instances.
  UNKNOWN_GROUP: { retriable: false, description: 'No consumer group of that name exists.' },
  GROUP_NOT_EMPTY: {
    retriable: false,
    description: 'The group has live members; stop them first, or force.',
  },
  FENCED: {
    retriable: false,
    description:
      'The member no longer holds the lease of the partition (a newer owner took it); its commit was refused.',
  },
  PARTITION_NOT_ASSIGNED: {
    retriable: false,
    description: 'The consumer does not currently own that partition.',
  },
  NO_OFFSET: {
    retriable: false,
    description:
      'The group has no committed offset for the partition and auto.offset.reset is none.',
  },
  CONSUMER_INSTANCE_NOT_FOUND: {
    retriable: false,
    description: 'No consumer instance of that name exists in the group (or it expired).',
  },
  CONSUMER_INSTANCE_EXISTS: {
    retriable: false,
    description: 'A consumer instance of that name already exists in the group.',
  },
  CONSUMER_FORMAT_MISMATCH: {
    retriable: false,
    description: "The Accept header's embedded format is not the consumer instance's format.",
  },
  INVALID_CONSUMER_CONFIG: {
    retriable: false,
    description: 'A consumer instance setting is invalid.',
  },
  // Idempotent produce (lib/broker/produce.ts, docs/exactly-once.md).
  UNKNOWN_PRODUCER_ID: {
    retriable: false,
    description:
      'The producer id was never issued or has expired; initialize the producer again (POST /v1/producers).',
  },
  PRODUCER_FENCED: {
    retriable: false,
    description:
      'A newer epoch of this producer id exists (it was initialized again); this instance may not write any more.',
  },
  OUT_OF_ORDER_SEQUENCE: {
    retriable: false,
    description:
      "The batch's base sequence is not the one after the partition's last written sequence for this producer.",
  },
  IDEMPOTENCY_KEY_REUSED: {
    retriable: false,
    description: 'The Idempotency-Key was already used with a different request.',
  },
  // Lambda consumers (lib/broker/subscriptions.ts, docs/lambda-consumers.md).
  UNKNOWN_SUBSCRIPTION: { retriable: false, description: 'No subscription of that name exists.' },
  SUBSCRIPTION_ALREADY_EXISTS: {
    retriable: false,
    description: 'A subscription of that name exists, or another one already uses the group.',
  },
  // Authentication and authorization (lib/log/acl.ts, docs/security.md).
  UNAUTHENTICATED: {
    retriable: false,
    description:
      'The request carries no credentials the API accepts (SigV4 through the front door, an API key or a JWT), or they are invalid, expired or revoked.',
  },
  AUTHORIZATION_FAILED: {
    retriable: false,
    description:
      'The caller is authenticated, but no ACL allows it this operation on that resource.',
  },
  RATE_LIMITED: {
    retriable: true,
    description: "The caller exceeded its request rate; retry after the response's Retry-After.",
  },
  // Transient: the same request may succeed later.
  THROTTLED: { retriable: true, description: 'AWS throttled the request; retry with backoff.' },
  STORAGE_UNAVAILABLE: {
    retriable: true,
    description: 'S3 or DynamoDB failed or timed out; the request may be retried.',
  },
  TIMEOUT: { retriable: true, description: 'The operation did not finish in time.' },
  IDEMPOTENCY_IN_PROGRESS: {
    retriable: true,
    description:
      'A request with the same Idempotency-Key is still being processed; retry after it finished.',
  },
  INTERNAL: { retriable: false, description: 'An unexpected error; see the server log.' },
} as const satisfies Record<string, { retriable: boolean; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface EventLogErrorOptions {
  cause?: unknown;
  /** Machine-readable facts about the failure (the limit that was exceeded, the offset range). */
  details?: Record<string, unknown>;
  /** Overrides the code's default, e.g. an INTERNAL error known to be transient. */
  retriable?: boolean;
}

export class EventLogError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: EventLogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventLogError';
    this.code = code;
    this.retriable = options.retriable ?? ERROR_CODES[code].retriable;
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; retriable: boolean; details?: unknown } {
    return {
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isEventLogError(error: unknown, code?: ErrorCode): error is EventLogError {
  return error instanceof EventLogError && (code === undefined || error.code === code);
}

/** Wraps anything thrown into an EventLogError, keeping the original as the cause. */
export function toEventLogError(error: unknown): EventLogError {
  if (error instanceof EventLogError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EventLogError('INTERNAL', message, { cause: error });
}
