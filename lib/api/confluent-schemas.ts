import { z } from '@hono/zod-openapi';

/**
 * Confluent REST Proxy shapes, as kafka-rest's api/v3/openapi.yaml and its v2 entities define
 * them. Requests are lenient about members they do not know, as Confluent's are.
 */

export const Relationship = z.object({ related: z.string() });

export const ResourceMetadata = z.object({
  self: z.string(),
  resource_name: z.string().nullable().optional(),
});

export const CollectionMetadata = z.object({
  self: z.string(),
  next: z.string().nullable().optional(),
});

export const V3ClusterParams = z.object({
  cluster_id: z
    .string()
    .openapi({ param: { name: 'cluster_id', in: 'path' }, example: 'eventlog' }),
});

export const V3TopicParams = V3ClusterParams.extend({
  topic_name: z.string().openapi({ param: { name: 'topic_name', in: 'path' }, example: 'orders' }),
});

export const V3ClusterSchema = z
  .object({
    kind: z.literal('KafkaCluster'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    controller: Relationship.optional(),
    // Only links that resolve are given (docs/api.md): there are no brokers to list, configure
    // or reassign partitions between.
    acls: Relationship,
    brokers: Relationship.optional(),
    broker_configs: Relationship.optional(),
    consumer_groups: Relationship,
    topics: Relationship,
    partition_reassignments: Relationship.optional(),
  })
  .openapi('V3Cluster');

export const V3ClusterListSchema = z
  .object({
    kind: z.literal('KafkaClusterList'),
    metadata: CollectionMetadata,
    data: z.array(V3ClusterSchema),
  })
  .openapi('V3ClusterList');

export const V3TopicSchema = z
  .object({
    kind: z.literal('KafkaTopic'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    topic_name: z.string(),
    is_internal: z.boolean(),
    replication_factor: z.number().int().openapi({
      description: 'Always 3: S3 and DynamoDB keep every record in three availability zones',
    }),
    partitions_count: z.number().int(),
    partitions: Relationship,
    configs: Relationship,
    partition_reassignments: Relationship.optional(),
  })
  .openapi('V3Topic');

export const V3TopicListSchema = z
  .object({
    kind: z.literal('KafkaTopicList'),
    metadata: CollectionMetadata,
    data: z.array(V3TopicSchema),
  })
  .openapi('V3TopicList');

export const V3TopicConfigParams = V3TopicParams.extend({
  name: z.string().openapi({ param: { name: 'name', in: 'path' }, example: 'retention.ms' }),
});

const V3ConfigSynonym = z.object({
  name: z.string(),
  value: z.string().nullable(),
  source: z.string(),
});

export const V3TopicConfigSchema = z
  .object({
    kind: z.literal('KafkaTopicConfig'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    topic_name: z.string(),
    name: z.string(),
    value: z.string().nullable(),
    is_default: z.boolean(),
    is_read_only: z.boolean(),
    is_sensitive: z.boolean(),
    source: z.string().openapi({ description: 'DYNAMIC_TOPIC_CONFIG or DEFAULT_CONFIG' }),
    synonyms: z.array(V3ConfigSynonym),
  })
  .openapi('V3TopicConfig');

export const V3TopicConfigListSchema = z
  .object({
    kind: z.literal('KafkaTopicConfigList'),
    metadata: CollectionMetadata,
    data: z.array(V3TopicConfigSchema),
  })
  .openapi('V3TopicConfigList');

export const V3UpdateConfigRequestSchema = z
  .object({ value: z.string().nullable().optional() })
  .openapi('V3UpdateConfigRequest', { example: { value: '86400000' } });

export const V3CreateTopicRequestSchema = z
  .object({
    topic_name: z.string(),
    partitions_count: z.number().int().nullable().optional().openapi({ description: 'Default 1' }),
    replication_factor: z
      .number()
      .int()
      .min(1)
      .nullable()
      .optional()
      .openapi({ description: 'Accepted and ignored: durability is S3’s and DynamoDB’s' }),
    configs: z
      .array(z.object({ name: z.string(), value: z.string().nullable().optional() }))
      .optional(),
    validate_only: z.boolean().optional(),
  })
  .openapi('V3CreateTopicRequest', {
    example: {
      topic_name: 'orders',
      partitions_count: 3,
      configs: [{ name: 'retention.ms', value: '86400000' }],
    },
  });

const V3ProduceData = z
  .object({
    type: z
      .string()
      .optional()
      .openapi({ description: 'BINARY, JSON or STRING (no schema registry)' }),
    data: z.unknown().optional(),
  })
  .nullable()
  .optional();

export const V3ProduceRecordSchema = z
  .object({
    partition_id: z.number().int().nullable().optional(),
    headers: z
      .array(z.object({ name: z.string(), value: z.string().nullable().optional() }))
      .optional()
      .openapi({ description: 'Header values are base64' }),
    key: V3ProduceData,
    value: V3ProduceData,
    timestamp: z.string().nullable().optional().openapi({ description: 'ISO-8601 date-time' }),
  })
  .openapi('V3ProduceRequest', {
    description:
      'One record. Several records go in one request as concatenated JSON objects; the response then holds one delivery report per record, in order, separated by CRLF.',
    example: {
      partition_id: 0,
      headers: [{ name: 'Header-1', value: 'SGVhZGVyLTE=' }],
      key: { type: 'BINARY', data: 'Zm9vYmFy' },
      value: { type: 'JSON', data: { foo: 'bar' } },
      timestamp: '2021-02-05T19:14:42Z',
    },
  });

const V3ProduceResponseData = z.object({ type: z.string(), size: z.number().int() });

export const V3ProduceResponseSchema = z
  .object({
    error_code: z.number().int().openapi({ description: '200 for a written record' }),
    cluster_id: z.string().optional(),
    topic_name: z.string().optional(),
    partition_id: z.number().int().optional(),
    offset: z.number().int().optional(),
    timestamp: z.string().optional(),
    key: V3ProduceResponseData.optional(),
    value: V3ProduceResponseData.optional(),
    message: z.string().optional().openapi({ description: 'Why a record failed' }),
  })
  .openapi('V3ProduceResponse');

export const V3ProduceBatchRequestSchema = z
  .object({
    entries: z.array(
      V3ProduceRecordSchema.extend({
        id: z.string().openapi({ description: '1 to 80 characters, distinct in the batch' }),
      }),
    ),
  })
  .openapi('V3ProduceBatchRequest', {
    example: {
      entries: [
        { id: '1', value: { type: 'JSON', data: { n: 1 } } },
        { id: '2', key: { type: 'STRING', data: 'k' }, value: { type: 'STRING', data: 'v' } },
      ],
    },
  });

export const V3ProduceBatchResponseSchema = z
  .object({
    successes: z.array(V3ProduceResponseSchema.extend({ id: z.string() })),
    failures: z.array(
      z.object({ id: z.string(), error_code: z.number().int(), message: z.string() }),
    ),
  })
  .openapi('V3ProduceBatchResponse');

export const V2TopicParams = z.object({
  topic: z.string().openapi({ param: { name: 'topic', in: 'path' }, example: 'orders' }),
});

export const V2PartitionParams = V2TopicParams.extend({
  partition: z
    .string()
    .regex(/^[0-9]+$/, 'partition must be a non-negative integer')
    .openapi({ param: { name: 'partition', in: 'path' }, example: '0' }),
});

export const V2ProduceRequestSchema = z
  .object({
    records: z
      .array(
        z.object({
          key: z.unknown().optional(),
          value: z.unknown().optional(),
          partition: z.number().int().nullable().optional(),
        }),
      )
      .min(1, 'records must hold at least one record'),
    key_schema: z.string().nullable().optional(),
    key_schema_id: z.number().int().nullable().optional(),
    value_schema: z.string().nullable().optional(),
    value_schema_id: z.number().int().nullable().optional(),
  })
  .openapi('V2ProduceRequest', {
    example: {
      records: [
        { key: 'a2V5', value: 'Y29uZmx1ZW50' },
        { value: 'a2Fma2E=', partition: 1 },
      ],
    },
  });

export const V2ProduceResponseSchema = z
  .object({
    offsets: z.array(
      z.object({
        partition: z.number().int().nullable(),
        offset: z.number().int().nullable(),
        error_code: z.number().int().nullable(),
        error: z.string().nullable(),
      }),
    ),
    key_schema_id: z.number().int().nullable(),
    value_schema_id: z.number().int().nullable(),
  })
  .openapi('V2ProduceResponse');

export const V2TopicSchema = z
  .object({
    name: z.string(),
    configs: z.record(z.string(), z.string()),
    partitions: z.array(
      z.object({
        partition: z.number().int(),
        leader: z.number().int(),
        replicas: z.array(
          z.object({ broker: z.number().int(), leader: z.boolean(), in_sync: z.boolean() }),
        ),
      }),
    ),
  })
  .openapi('V2Topic');

/** Confluent's "Update Partition Count": only partitions_count, which only grows. */
export const V3UpdatePartitionCountRequestSchema = z
  .strictObject({
    partitions_count: z
      .number()
      .int()
      .openapi({ description: 'The new count: higher than the current one, at most 1000' }),
  })
  .openapi('V3UpdatePartitionCountRequest', { example: { partitions_count: 6 } });
