import { z } from '@hono/zod-openapi';
import {
  CollectionMetadata,
  Relationship,
  ResourceMetadata,
  V3ClusterParams,
  V3TopicParams,
} from './confluent-schemas.js';

/**
 * Confluent REST Proxy v3 consumer groups, consumers, lags and partitions, as kafka-rest's
 * api/v3/openapi.yaml defines them (ConsumerGroupData, ConsumerData, ConsumerLagData,
 * ConsumerGroupLagSummaryData, PartitionData). Relationships that would name brokers
 * (coordinator, leader, replicas) or reassignments are left out: nothing here answers them.
 */

export const V3GroupParams = V3ClusterParams.extend({
  consumer_group_id: z
    .string()
    .openapi({ param: { name: 'consumer_group_id', in: 'path' }, example: 'billing' }),
});

export const V3ConsumerParams = V3GroupParams.extend({
  consumer_id: z
    .string()
    .openapi({ param: { name: 'consumer_id', in: 'path' }, example: 'consumer-1' }),
});

const partitionId = z
  .string()
  .regex(/^\d+$/)
  .openapi({ param: { name: 'partition_id', in: 'path' }, example: '0' });

export const V3LagParams = V3GroupParams.extend({
  topic_name: z.string().openapi({ param: { name: 'topic_name', in: 'path' }, example: 'orders' }),
  partition_id: partitionId,
});

export const V3PartitionParams = V3TopicParams.extend({ partition_id: partitionId });

export const V3ConsumerGroupSchema = z
  .object({
    kind: z.literal('KafkaConsumerGroup'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    consumer_group_id: z.string(),
    is_simple: z.boolean(),
    partition_assignor: z.string(),
    state: z.enum(['STABLE', 'EMPTY']),
    type: z.string(),
    is_mixed_consumer_group: z.boolean(),
    consumers: Relationship,
    lag_summary: Relationship,
  })
  .openapi('V3ConsumerGroup');

export const V3ConsumerGroupListSchema = z
  .object({
    kind: z.literal('KafkaConsumerGroupList'),
    metadata: CollectionMetadata,
    data: z.array(V3ConsumerGroupSchema),
  })
  .openapi('V3ConsumerGroupList');

export const V3ConsumerSchema = z
  .object({
    kind: z.literal('KafkaConsumer'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    consumer_group_id: z.string(),
    consumer_id: z.string(),
    instance_id: z.string().nullable(),
    client_id: z.string(),
  })
  .openapi('V3Consumer');

export const V3ConsumerListSchema = z
  .object({
    kind: z.literal('KafkaConsumerList'),
    metadata: CollectionMetadata,
    data: z.array(V3ConsumerSchema),
  })
  .openapi('V3ConsumerList');

export const V3ConsumerLagSchema = z
  .object({
    kind: z.literal('KafkaConsumerLag'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    consumer_group_id: z.string(),
    topic_name: z.string(),
    partition_id: z.number().int(),
    current_offset: z.number().int(),
    log_end_offset: z.number().int(),
    lag: z.number().int(),
    consumer_id: z
      .string()
      .openapi({ description: 'Empty when no live member owns the partition' }),
    instance_id: z.string().nullable(),
    client_id: z.string(),
  })
  .openapi('V3ConsumerLag');

export const V3ConsumerLagListSchema = z
  .object({
    kind: z.literal('KafkaConsumerLagList'),
    metadata: CollectionMetadata,
    data: z.array(V3ConsumerLagSchema),
  })
  .openapi('V3ConsumerLagList');

export const V3LagSummarySchema = z
  .object({
    kind: z.literal('KafkaConsumerGroupLagSummary'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    consumer_group_id: z.string(),
    max_lag_consumer_id: z.string(),
    max_lag_instance_id: z.string().nullable(),
    max_lag_client_id: z.string(),
    max_lag_topic_name: z.string(),
    max_lag_partition_id: z.number().int(),
    max_lag: z.number().int(),
    total_lag: z.number().int(),
    max_lag_consumer: Relationship.optional().openapi({
      description: 'Only when a live member owns the partition with the largest lag',
    }),
    max_lag_partition: Relationship.optional().openapi({
      description: 'Only when the group has committed offsets',
    }),
  })
  .openapi('V3ConsumerGroupLagSummary');

export const V3PartitionSchema = z
  .object({
    kind: z.literal('KafkaPartition'),
    metadata: ResourceMetadata,
    cluster_id: z.string(),
    topic_name: z.string(),
    partition_id: z.number().int(),
  })
  .openapi('V3Partition');

export const V3PartitionListSchema = z
  .object({
    kind: z.literal('KafkaPartitionList'),
    metadata: CollectionMetadata,
    data: z.array(V3PartitionSchema),
  })
  .openapi('V3PartitionList');
