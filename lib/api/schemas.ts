import { z } from '@hono/zod-openapi';
import { DATA_FORMATS, HEADER_FORMATS } from '../log/encoding.js';
import { ERROR_CODES, type ErrorCode } from '../log/errors.js';

/**
 * Request and response schemas of our own /v1 routes, and the error envelope every route
 * answers with. The OpenAPI document is generated from these.
 */

export const ErrorSchema = z
  .object({
    error_code: z.number().int().openapi({
      description: "Confluent REST Proxy's error code (40401, 42201, 50003...)",
      example: 40401,
    }),
    message: z.string().openapi({ example: 'Topic "orders" does not exist' }),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).openapi({
      description: "The event log's error code",
    }),
    retriable: z.boolean().openapi({
      description: 'Whether the same request may succeed if sent again later',
    }),
  })
  .catchall(z.unknown())
  .openapi('Error', { description: 'Every error; details of the failure are extra members.' });

export const errorResponses = {
  400: { description: 'Invalid request', content: { 'application/json': { schema: ErrorSchema } } },
  401: {
    description: 'No valid credentials (UNAUTHENTICATED, 40101)',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  403: {
    description: 'No ACL allows it (AUTHORIZATION_FAILED, 40301)',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  429: {
    description: 'Rate limited (RATE_LIMITED, 42901); see Retry-After',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  404: {
    description: 'Unknown topic (40401) or partition (40402)',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  500: { description: 'Server error', content: { 'application/json': { schema: ErrorSchema } } },
  503: {
    description: 'Storage unavailable; retry (50003)',
    content: { 'application/json': { schema: ErrorSchema } },
  },
} as const;

export const bodyErrorResponses = {
  ...errorResponses,
  413: {
    description: 'Body over the limit, too many records, or a record over max.message.bytes',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  415: {
    description: 'Unsupported Content-Type',
    content: { 'application/json': { schema: ErrorSchema } },
  },
  422: {
    description: 'Invalid key (42201) or value (42202)',
    content: { 'application/json': { schema: ErrorSchema } },
  },
} as const;

const DIGITS = /^[0-9]+$/;

export const TopicParams = z.object({
  topic: z.string().openapi({ param: { name: 'topic', in: 'path' }, example: 'orders' }),
});

export const PartitionParams = TopicParams.extend({
  partition: z
    .string()
    .regex(DIGITS, 'partition must be a non-negative integer')
    .openapi({ param: { name: 'partition', in: 'path' }, example: '0' }),
});

const ConfigsSchema = z.record(z.string(), z.string()).openapi({
  description: 'Kafka-named topic configs and their values, e.g. {"retention.ms": "604800000"}',
  example: {
    'retention.ms': '604800000',
    'retention.bytes': '-1',
    'max.message.bytes': '1048588',
    'message.timestamp.type': 'CreateTime',
    'compression.type': 'zstd',
  },
});

export const CreateTopicRequestSchema = z
  .strictObject({
    name: z.string().openapi({ example: 'orders' }),
    partitions: z.number().int().openapi({ example: 3, description: '1 to 1000' }),
    configs: z
      .record(z.string(), z.union([z.string(), z.number()]))
      .optional()
      .openapi({
        description:
          'Kafka-named configs: retention.ms, retention.bytes, max.message.bytes, message.timestamp.type, compression.type (none or uncompressed, gzip, snappy, lz4, zstd)',
        example: { 'retention.ms': '86400000' },
      }),
  })
  .openapi('CreateTopicRequest');

export const TopicSchema = z
  .object({
    name: z.string(),
    topicId: z.string().openapi({ description: 'Immutable id; a re-created topic gets a new one' }),
    partitions: z.number().int(),
    configs: ConfigsSchema,
    createdAt: z.number().int().openapi({ description: 'Creation time, ms since the epoch' }),
  })
  .openapi('Topic');

export const PartitionOffsetsSchema = z
  .object({
    partition: z.number().int(),
    logStartOffset: z.number().int().openapi({ description: 'The oldest offset still kept' }),
    highWatermark: z
      .number()
      .int()
      .openapi({ description: 'One past the last readable offset (where the next record goes)' }),
  })
  .openapi('PartitionOffsets');

export const TopicDescriptionSchema = TopicSchema.extend({
  partitionOffsets: z.array(PartitionOffsetsSchema),
}).openapi('TopicDescription');

export const TopicListSchema = z.object({ topics: z.array(TopicSchema) }).openapi('TopicList');

export const AlterTopicConfigsRequestSchema = z
  .strictObject({
    configs: z.record(z.string(), z.union([z.string(), z.number()])).openapi({
      description:
        'The configs to change; the others keep their values. Same names as at creation.',
      example: { 'retention.ms': '86400000' },
    }),
  })
  .openapi('AlterTopicConfigsRequest');

export const AlterTopicRequestSchema = z
  .strictObject({
    partitions: z.number().int().openapi({
      example: 6,
      description:
        "The new partition count: higher than the current one (Kafka's rule), at most 1000",
    }),
  })
  .openapi('AlterTopicRequest');

export const TopicConfigsSchema = z
  .object({ topic: z.string(), configs: ConfigsSchema })
  .openapi('TopicConfigs');

const DataFormatSchema = z.enum(DATA_FORMATS).openapi({
  description:
    'string: a JSON string stored as UTF-8; json: any JSON value stored as its compact serialization; base64: standard padded base64 of the bytes',
});

const HeaderSchema = z
  .strictObject({
    key: z.string(),
    value: z.string().nullable().optional(),
  })
  .openapi('Header');

export const ProduceRecordSchema = z
  .strictObject({
    key: z.unknown().optional().openapi({ description: 'In keyFormat; null or absent: no key' }),
    value: z
      .unknown()
      .optional()
      .openapi({ description: 'In valueFormat; null or absent: a null value' }),
    keyFormat: DataFormatSchema.optional(),
    valueFormat: DataFormatSchema.optional(),
    headers: z.array(HeaderSchema).optional(),
    partition: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Explicit partition; otherwise murmur2 of the key, as Kafka does' }),
    timestamp: z
      .number()
      .int()
      .min(0)
      .optional()
      .openapi({ description: 'CreateTime in ms since the epoch; default: now' }),
  })
  .openapi('ProduceRecord');

export const ProduceRequestSchema = z
  .strictObject({
    keyFormat: DataFormatSchema.optional().openapi({
      description: 'Default for records; "string"',
    }),
    valueFormat: DataFormatSchema.optional().openapi({
      description: 'Default for records; "string"',
    }),
    headerFormat: z.enum(HEADER_FORMATS).optional().openapi({
      description: 'How header values are given; "string" (UTF-8) or "base64"',
    }),
    records: z.array(ProduceRecordSchema).min(1, 'records must hold at least one record'),
    producerId: z.number().int().min(0).optional().openapi({
      description:
        "Idempotent produce (Kafka's idempotent producer): the id from POST /v1/producers. With producerEpoch and baseSequences.",
    }),
    producerEpoch: z
      .number()
      .int()
      .min(0)
      .max(32767)
      .optional()
      .openapi({ description: 'The epoch from POST /v1/producers' }),
    baseSequences: z
      .record(z.string().regex(DIGITS, 'keys are partition numbers'), z.number().int().min(0))
      .optional()
      .openapi({
        description:
          'Per partition written, the sequence of its first record: 0 for the first batch of the producer (and epoch) on the partition, then the previous base sequence plus its record count',
        example: { '0': 0, '3': 12 },
      }),
  })
  .openapi('ProduceRequest');

export const ProducerInitRequestSchema = z
  .strictObject({
    name: z.string().optional().openapi({
      description:
        "A stable name (like Kafka's transactional.id): initializing it again keeps the id and bumps the epoch, fencing the previous instance",
    }),
    producerId: z.number().int().min(1).optional().openapi({
      description: 'Re-initialize this id: bumps its epoch (fencing older epochs)',
    }),
    producerEpoch: z.number().int().min(0).optional().openapi({
      description: 'With producerId: bump only if the epoch is still this one',
    }),
  })
  .openapi('ProducerInitRequest');

export const ProducerInitResponseSchema = z
  .object({ producerId: z.number().int(), producerEpoch: z.number().int() })
  .openapi('ProducerInitResponse');

/** The Idempotency-Key request header of the produce routes. */
export const IdempotencyKeyHeaders = z.object({
  'Idempotency-Key': z.string().optional().openapi({
    description:
      'Makes the request safe to retry for 24 h: a retry with the same key and body gets the first answer (with Idempotent-Replayed: true) and writes nothing twice; another body is 422, a retry while the first runs is 409',
  }),
});

export const ProduceResultSchema = z
  .object({
    partition: z.number().int(),
    offset: z.number().int().optional(),
    timestamp: z.number().int().optional(),
    error: ErrorSchema.optional().openapi({
      description: 'Set when this record was not written (its partition failed)',
    }),
  })
  .openapi('ProduceResult');

export const ProduceResponseSchema = z
  .object({
    topic: z.string(),
    records: z
      .array(ProduceResultSchema)
      .openapi({ description: 'One result per record, in order' }),
  })
  .openapi('ProduceResponse');

const formatQuery = (name: string) =>
  DataFormatSchema.optional().openapi({ param: { name, in: 'query' } });

export const FetchQuerySchema = z.object({
  offset: z
    .string()
    .regex(DIGITS, 'offset must be a non-negative integer')
    .openapi({ param: { name: 'offset', in: 'query' }, example: '0' }),
  maxBytes: z
    .string()
    .regex(DIGITS, 'maxBytes must be a positive integer')
    .optional()
    .openapi({
      param: { name: 'maxBytes', in: 'query' },
      description: '1 to 4194304; default 1048576',
    }),
  maxRecords: z
    .string()
    .regex(DIGITS, 'maxRecords must be a positive integer')
    .optional()
    .openapi({
      param: { name: 'maxRecords', in: 'query' },
      description: '1 to 10000; default 500',
    }),
  waitMs: z
    .string()
    .regex(DIGITS, 'waitMs must be a non-negative integer')
    .optional()
    .openapi({
      param: { name: 'waitMs', in: 'query' },
      description: 'Long poll: wait up to this many ms (at most 20000) for records to arrive',
    }),
  format: formatQuery('format').openapi({
    description: 'Format of keys and values; default string',
  }),
  keyFormat: formatQuery('keyFormat'),
  valueFormat: formatQuery('valueFormat'),
  headerFormat: z
    .enum(HEADER_FORMATS)
    .optional()
    .openapi({ param: { name: 'headerFormat', in: 'query' } }),
});

export const FetchedRecordSchema = z
  .object({
    offset: z.number().int(),
    timestamp: z.number().int(),
    timestampType: z.enum(['CreateTime', 'LogAppendTime']),
    key: z.unknown().openapi({ description: 'In keyFormat, or null' }),
    value: z.unknown().openapi({ description: 'In valueFormat, or null' }),
    headers: z.array(z.object({ key: z.string(), value: z.string().nullable() })),
  })
  .openapi('FetchedRecord');

export const FetchResponseSchema = z
  .object({
    topic: z.string(),
    partition: z.number().int(),
    records: z.array(FetchedRecordSchema),
    nextOffset: z.number().int().openapi({ description: 'The offset to fetch next' }),
    highWatermark: z.number().int(),
    logStartOffset: z.number().int(),
  })
  .openapi('FetchResponse');

/** Most partitions one multi-partition fetch may name: a topic has at most 1000. */
export const FETCH_MANY_MAX_PARTITIONS = 1000;

export const FetchManyRequestSchema = z
  .strictObject({
    partitions: z
      .array(
        z.strictObject({
          partition: z.number().int().min(0),
          offset: z.number().int().min(0).openapi({ description: 'First offset wanted' }),
        }),
      )
      .min(1, 'partitions must name at least one partition')
      .max(FETCH_MANY_MAX_PARTITIONS, `partitions must name at most ${FETCH_MANY_MAX_PARTITIONS}`)
      .refine((list) => new Set(list.map((p) => p.partition)).size === list.length, {
        message: 'partitions must not name a partition twice',
      })
      .openapi({ description: 'The partitions to read and the offset each starts at' }),
    maxBytes: z.number().int().optional().openapi({
      description:
        'Soft cap on the JSON of all records returned, shared by the partitions: 1 to 4194304, default 1048576',
    }),
    maxRecords: z.number().int().optional().openapi({
      description: 'Records returned in all, shared by the partitions: 1 to 10000, default 500',
    }),
    waitMs: z.number().int().min(0).optional().openapi({
      description:
        'Long poll: when no partition has records yet, wait up to this many ms (at most 20000) for any of them to get some',
    }),
    format: DataFormatSchema.optional().openapi({
      description: 'Format of keys and values; default string',
    }),
    keyFormat: DataFormatSchema.optional(),
    valueFormat: DataFormatSchema.optional(),
    headerFormat: z.enum(HEADER_FORMATS).optional(),
  })
  .openapi('FetchManyRequest');

export const PartitionFetchedSchema = FetchResponseSchema.omit({ topic: true }).openapi(
  'PartitionFetched',
);

export const PartitionFetchErrorSchema = z
  .object({
    partition: z.number().int(),
    error: ErrorSchema.openapi({
      description:
        'This partition could not be read (OFFSET_OUT_OF_RANGE, with both bounds); the others were',
    }),
  })
  .openapi('PartitionFetchError');

export const FetchManyResponseSchema = z
  .object({
    topic: z.string(),
    partitions: z
      .array(z.union([PartitionFetchedSchema, PartitionFetchErrorSchema]))
      .openapi({ description: 'One answer per partition asked for, in request order' }),
  })
  .openapi('FetchManyResponse');

export const OffsetsQuerySchema = z.object({
  at: z
    .string()
    .regex(/^(earliest|latest|[0-9]+)$/, 'at must be earliest, latest or a timestamp in ms')
    .optional()
    .openapi({
      param: { name: 'at', in: 'query' },
      description:
        'earliest, latest (default), or a timestamp in ms: the first offset at or after it',
      example: 'latest',
    }),
});

export const ListedOffsetSchema = z
  .object({
    partition: z.number().int(),
    offset: z.number().int().nullable().openapi({
      description: 'null when asked for a time after every record',
    }),
    timestamp: z
      .number()
      .int()
      .optional()
      .openapi({ description: "The record's timestamp (by time)" }),
    logStartOffset: z.number().int(),
    highWatermark: z.number().int(),
  })
  .openapi('ListedOffset');

export const PartitionOffsetResponseSchema = ListedOffsetSchema.extend({
  topic: z.string(),
  at: z.string(),
}).openapi('PartitionOffsetResponse');

export const TopicOffsetsResponseSchema = z
  .object({ topic: z.string(), at: z.string(), partitions: z.array(ListedOffsetSchema) })
  .openapi('TopicOffsetsResponse');

export function jsonContent<S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { 'application/json': { schema } } };
}
