import { z } from '@hono/zod-openapi';
import { ErrorSchema, errorResponses } from '../schemas.js';
import { V2_CONTENT_TYPE as V2 } from './confluent-v2-json.js';

/**
 * The request and answer shapes of the Confluent REST Proxy v2 consumer API
 * (lib/api/routes/confluent-consumers.ts), as kafka-rest's v2 entities define them.
 */

export const REQUEST_TYPES = [
  V2,
  'application/vnd.kafka.binary.v2+json',
  'application/vnd.kafka.json.v2+json',
  'application/vnd.kafka.avro.v2+json',
  'application/vnd.kafka.jsonschema.v2+json',
  'application/vnd.kafka.protobuf.v2+json',
  'application/vnd.kafka+json',
  'application/json',
];

export const GroupParams = z.object({
  group_name: z
    .string()
    .openapi({ param: { name: 'group_name', in: 'path' }, example: 'testgroup' }),
});
export const InstanceParams = GroupParams.extend({
  instance: z.string().openapi({ param: { name: 'instance', in: 'path' }, example: 'my_consumer' }),
});

/** Confluent sends settings as strings ("false", "1000"); numbers and booleans are taken too. */
const Setting = z.union([z.string(), z.number(), z.boolean()]).nullable().optional();

export const CreateInstanceSchema = z
  .object({
    name: z.string().nullable().optional(),
    format: z.string().nullable().optional().openapi({ description: 'binary (default) or json' }),
    'auto.offset.reset': Setting.openapi({ description: 'earliest, latest (default) or none' }),
    'auto.commit.enable': Setting.openapi({ description: 'default true' }),
    'fetch.min.bytes': Setting.openapi({ description: 'Accepted, ignored' }),
    'consumer.request.timeout.ms': Setting.openapi({
      description: 'Default wait of a records call; 1000',
    }),
    'auto.commit.interval.ms': Setting.openapi({ description: 'Ours, as Kafka names it; 5000' }),
    'session.timeout.ms': Setting.openapi({
      description: 'Ours: partitions move to others after this long without a records call; 30000',
    }),
  })
  .openapi('V2CreateConsumerRequest', {
    example: {
      name: 'my_consumer',
      format: 'binary',
      'auto.offset.reset': 'earliest',
      'auto.commit.enable': 'false',
    },
  });

export const CreatedInstanceSchema = z
  .object({ instance_id: z.string(), base_uri: z.string() })
  .openapi('V2CreatedConsumer');

const PartitionSchema = z.object({ topic: z.string(), partition: z.number().int() });
const PartitionOffsetSchema = PartitionSchema.extend({
  offset: z.number().int(),
  metadata: z.string().nullable().optional(),
});

export const SubscriptionSchema = z
  .object({
    topics: z.array(z.string()).optional(),
    topic_pattern: z.string().optional(),
  })
  .openapi('V2Subscription');
export const OffsetsSchema = z
  .object({ offsets: z.array(PartitionOffsetSchema) })
  .openapi('V2Offsets');
export const PartitionsSchema = z
  .object({ partitions: z.array(PartitionSchema) })
  .openapi('V2Partitions');

export const RecordSchema = z
  .object({
    topic: z.string(),
    key: z.unknown(),
    value: z.unknown(),
    partition: z.number().int(),
    offset: z.number().int(),
  })
  .openapi('V2ConsumerRecord');

export const RecordsQuery = z.object({
  timeout: z
    .string()
    .regex(/^-?[0-9]+$/)
    .optional()
    .openapi({ description: 'ms to wait for records; default the instance’s request timeout' }),
  max_bytes: z
    .string()
    .regex(/^-?[0-9]+$/)
    .optional()
    .openapi({ description: 'Soft cap on key + value bytes; default (and at most) 4 MiB' }),
});

export const v2Error = (description: string) => ({
  description,
  content: { [V2]: { schema: ErrorSchema } },
});
export const instanceErrors = {
  ...errorResponses,
  404: v2Error('Consumer instance not found (40403)'),
} as const;
export const noContent = { 204: { description: 'Done' } } as const;
