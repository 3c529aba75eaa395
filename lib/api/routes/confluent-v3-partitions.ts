import type { Context } from 'hono';
import { EventLogError } from '../../log/errors.js';
import type { TopicRecord } from '../../store/topic-store.js';
import { V3TopicParams } from '../confluent-schemas.js';
import {
  V3PartitionListSchema,
  V3PartitionParams,
  V3PartitionSchema,
} from '../confluent-v3-group-schemas.js';
import { integer } from '../params.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
import { errorResponses, jsonContent } from '../schemas.js';
import { checkV3Cluster, segment, v3Base } from './confluent-v3-links.js';

/**
 * Confluent REST Proxy v3 partitions of a topic. Confluent's PartitionData also links a leader,
 * replicas and a reassignment, all about brokers; a serverless log has none, so those links
 * are not given (docs/api.md).
 */
export function registerConfluentV3PartitionRoutes(app: ApiApp, api: ApiContext): void {
  const { broker, clusterId } = api;
  const tags = ['Confluent v3'];

  const partitionData = (c: Context, topic: TopicRecord, partition: number) => ({
    kind: 'KafkaPartition' as const,
    metadata: {
      self: `${v3Base(c, clusterId)}/topics/${segment(topic.name)}/partitions/${partition}`,
      resource_name: `crn:///kafka=${clusterId}/topic=${topic.name}/partition=${partition}`,
    },
    cluster_id: clusterId,
    topic_name: topic.name,
    partition_id: partition,
  });

  const topicOf = (c: Context): Promise<TopicRecord> => {
    checkV3Cluster(c, clusterId);
    return broker.topics.get(c.req.param('topic_name') ?? '');
  };

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}/partitions',
      tags,
      summary: 'List the partitions of a topic',
      request: { params: V3TopicParams },
      responses: { 200: jsonContent(V3PartitionListSchema, 'The partitions'), ...errorResponses },
    },
    async (c) => {
      const topic = await topicOf(c);
      return c.json({
        kind: 'KafkaPartitionList' as const,
        metadata: {
          self: `${v3Base(c, clusterId)}/topics/${segment(topic.name)}/partitions`,
          next: null,
        },
        data: Array.from({ length: topic.partitions }, (_, p) => partitionData(c, topic, p)),
      });
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}',
      tags,
      summary: 'Get a partition of a topic',
      request: { params: V3PartitionParams },
      responses: { 200: jsonContent(V3PartitionSchema, 'The partition'), ...errorResponses },
    },
    async (c) => {
      const topic = await topicOf(c);
      const digits = c.req.param('partition_id') ?? '';
      const partition = /^\d+$/.test(digits) ? integer('partition_id', digits) : -1;
      if (partition < 0 || partition >= topic.partitions) {
        // Confluent's 40402: the topic exists, the partition does not.
        throw new EventLogError(
          'UNKNOWN_PARTITION',
          `This server does not host this topic-partition.`,
          { details: { topic_name: topic.name, partition_id: digits } },
        );
      }
      return c.json(partitionData(c, topic, partition));
    },
  );
}
