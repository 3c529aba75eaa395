import type { Context } from 'hono';
import type { GroupDescription, PartitionDescription } from '../../broker/groups.js';
import { EventLogError } from '../../log/errors.js';
import { V3ClusterParams } from '../confluent-schemas.js';
import {
  V3ConsumerGroupListSchema,
  V3ConsumerGroupSchema,
  V3ConsumerLagListSchema,
  V3ConsumerLagSchema,
  V3ConsumerListSchema,
  V3ConsumerParams,
  V3ConsumerSchema,
  V3GroupParams,
  V3LagParams,
  V3LagSummarySchema,
} from '../confluent-v3-group-schemas.js';
import { integer } from '../params.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
import { errorResponses, jsonContent } from '../schemas.js';
import { checkV3Cluster, segment, v3Base } from './confluent-v3-links.js';

/**
 * Confluent REST Proxy v3 consumer groups (docs/api.md): groups, their live members as
 * consumers, and their lag per partition, from the same group state as `/v1/groups`. A
 * consumer's id is its member id (Confluent v2 instances and SDK members alike); the client id
 * is the same, since members carry no other. Lag is Kafka's: log end offset minus committed
 * offset, for the partitions the group has committed.
 */
export function registerConfluentV3GroupRoutes(app: ApiApp, api: ApiContext): void {
  registerV3ConsumerGroupRoutes(app, api);
  registerV3GroupConsumerRoutes(app, api);
  registerV3GroupLagRoutes(app, api);
  registerV3GroupLagSummaryRoute(app, api);
}

const tags = ['Confluent v3'];
const crn = (clusterId: string, group: string) =>
  `crn:///kafka=${clusterId}/consumer-group=${group}`;
const groupUrl = (c: Context, clusterId: string, group: string) =>
  `${v3Base(c, clusterId)}/consumer-groups/${segment(group)}`;

function groupData(c: Context, clusterId: string, group: string, state: 'Stable' | 'Empty') {
  const self = groupUrl(c, clusterId, group);
  return {
    kind: 'KafkaConsumerGroup' as const,
    metadata: { self, resource_name: crn(clusterId, group) },
    cluster_id: clusterId,
    consumer_group_id: group,
    // Members take partitions as leases (lib/broker/lease-balancer.ts), not through a
    // Kafka protocol and assignor; no coordinator relationship, since there is no broker.
    is_simple: false,
    partition_assignor: 'lease',
    state: state === 'Stable' ? ('STABLE' as const) : ('EMPTY' as const),
    type: 'CLASSIC',
    is_mixed_consumer_group: false,
    consumers: { related: `${self}/consumers` },
    lag_summary: { related: `${self}/lag-summary` },
  };
}

function consumerData(c: Context, clusterId: string, group: string, memberId: string) {
  return {
    kind: 'KafkaConsumer' as const,
    metadata: {
      self: `${groupUrl(c, clusterId, group)}/consumers/${segment(memberId)}`,
      resource_name: `${crn(clusterId, group)}/consumer=${memberId}`,
    },
    cluster_id: clusterId,
    consumer_group_id: group,
    consumer_id: memberId,
    instance_id: null,
    client_id: memberId,
  };
}

function lagData(c: Context, clusterId: string, group: string, p: CommittedPartition) {
  return {
    kind: 'KafkaConsumerLag' as const,
    metadata: {
      self: `${groupUrl(c, clusterId, group)}/lags/${segment(p.topic)}/partitions/${p.partition}`,
      resource_name: `${crn(clusterId, group)}/lag=${p.topic}/partition=${p.partition}`,
    },
    cluster_id: clusterId,
    consumer_group_id: group,
    topic_name: p.topic,
    partition_id: p.partition,
    current_offset: p.committed,
    log_end_offset: p.highWatermark ?? p.committed,
    lag: p.lag ?? 0,
    consumer_id: p.owner ?? '',
    instance_id: null,
    client_id: p.owner ?? '',
  };
}

/** The group the path names, in the cluster the path names. */
async function describeGroup(
  c: Context,
  { broker, clusterId }: ApiContext,
): Promise<GroupDescription> {
  checkV3Cluster(c, clusterId);
  return broker.groups.describe(c.req.param('consumer_group_id') ?? '');
}

/** The groups themselves: GET .../consumer-groups and .../consumer-groups/{consumer_group_id}. */
function registerV3ConsumerGroupRoutes(app: ApiApp, api: ApiContext): void {
  const { broker, clusterId } = api;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/consumer-groups',
      tags,
      summary: 'List consumer groups',
      request: { params: V3ClusterParams },
      responses: { 200: jsonContent(V3ConsumerGroupListSchema, 'The groups'), ...errorResponses },
    },
    async (c) => {
      checkV3Cluster(c, clusterId);
      const groups = await broker.groups.list();
      return c.json({
        kind: 'KafkaConsumerGroupList' as const,
        metadata: { self: `${v3Base(c, clusterId)}/consumer-groups`, next: null },
        data: groups.map((g) => groupData(c, clusterId, g.group, g.state)),
      });
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}',
      tags,
      summary: 'Get a consumer group',
      request: { params: V3GroupParams },
      responses: { 200: jsonContent(V3ConsumerGroupSchema, 'The group'), ...errorResponses },
    },
    async (c) => {
      const group = await describeGroup(c, api);
      return c.json(groupData(c, clusterId, group.group, group.state));
    },
  );
}

/** GET .../consumer-groups/{consumer_group_id}/consumers and .../consumers/{consumer_id}. */
function registerV3GroupConsumerRoutes(app: ApiApp, api: ApiContext): void {
  const { clusterId } = api;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/consumers',
      tags,
      summary: 'List the live members of a consumer group',
      request: { params: V3GroupParams },
      responses: { 200: jsonContent(V3ConsumerListSchema, 'The consumers'), ...errorResponses },
    },
    async (c) => {
      const group = await describeGroup(c, api);
      return c.json({
        kind: 'KafkaConsumerList' as const,
        metadata: { self: `${groupUrl(c, clusterId, group.group)}/consumers`, next: null },
        data: group.members.map((m) => consumerData(c, clusterId, group.group, m.memberId)),
      });
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/consumers/{consumer_id}',
      tags,
      summary: 'Get a live member of a consumer group',
      request: { params: V3ConsumerParams },
      responses: { 200: jsonContent(V3ConsumerSchema, 'The consumer'), ...errorResponses },
    },
    async (c) => {
      const group = await describeGroup(c, api);
      const id = c.req.param('consumer_id') ?? '';
      if (!group.members.some((m) => m.memberId === id)) {
        throw new EventLogError(
          'NOT_FOUND',
          `Consumer ${id} cannot be found in consumer group ${group.group}.`,
          { details: { consumer_group_id: group.group, consumer_id: id } },
        );
      }
      return c.json(consumerData(c, clusterId, group.group, id));
    },
  );
}

/** GET .../consumer-groups/{consumer_group_id}/lags and .../lags/{topic_name}/partitions/{partition_id}. */
function registerV3GroupLagRoutes(app: ApiApp, api: ApiContext): void {
  const { clusterId } = api;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags',
      tags,
      summary: 'List the lag of each partition the group has committed',
      request: { params: V3GroupParams },
      responses: { 200: jsonContent(V3ConsumerLagListSchema, 'The lags'), ...errorResponses },
    },
    async (c) => {
      const group = await describeGroup(c, api);
      return c.json({
        kind: 'KafkaConsumerLagList' as const,
        metadata: { self: `${groupUrl(c, clusterId, group.group)}/lags`, next: null },
        data: committedPartitions(group).map((p) => lagData(c, clusterId, group.group, p)),
      });
    },
  );

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lags/{topic_name}/partitions/{partition_id}',
      tags,
      summary: 'Get the lag of one partition',
      request: { params: V3LagParams },
      responses: { 200: jsonContent(V3ConsumerLagSchema, 'The lag'), ...errorResponses },
    },
    async (c) => {
      const group = await describeGroup(c, api);
      const topic = c.req.param('topic_name') ?? '';
      const partition = integer('partition_id', c.req.param('partition_id') ?? '');
      const found = committedPartitions(group).find(
        (p) => p.topic === topic && p.partition === partition,
      );
      if (found === undefined) {
        throw new EventLogError(
          'NOT_FOUND',
          `Consumer lag cannot be found for consumer group ${group.group}, topic ${topic}, partition ${partition}.`,
          {
            details: { consumer_group_id: group.group, topic_name: topic, partition_id: partition },
          },
        );
      }
      return c.json(lagData(c, clusterId, group.group, found));
    },
  );
}

/** GET .../consumer-groups/{consumer_group_id}/lag-summary. */
function registerV3GroupLagSummaryRoute(app: ApiApp, api: ApiContext): void {
  const { clusterId } = api;

  defineRoute(
    app,
    {
      method: 'get',
      path: '/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/lag-summary',
      tags,
      summary: 'The largest and the total lag of the group',
      request: { params: V3GroupParams },
      responses: { 200: jsonContent(V3LagSummarySchema, 'The lag summary'), ...errorResponses },
    },
    async (c) => {
      const group = await describeGroup(c, api);
      const partitions = committedPartitions(group);
      // The first partition with the largest lag (topic, then partition order).
      const max = partitions.reduce<CommittedPartition | undefined>(
        (best, p) => (best === undefined || (p.lag ?? 0) > (best.lag ?? 0) ? p : best),
        undefined,
      );
      const base = v3Base(c, clusterId);
      const owner = max?.owner ?? '';
      return c.json({
        kind: 'KafkaConsumerGroupLagSummary' as const,
        metadata: {
          self: `${groupUrl(c, clusterId, group.group)}/lag-summary`,
          resource_name: `${crn(clusterId, group.group)}/lag-summary`,
        },
        cluster_id: clusterId,
        consumer_group_id: group.group,
        max_lag_consumer_id: owner,
        max_lag_instance_id: null,
        max_lag_client_id: owner,
        max_lag_topic_name: max?.topic ?? '',
        max_lag_partition_id: max?.partition ?? 0,
        max_lag: max?.lag ?? 0,
        total_lag: partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0),
        // Links only where they resolve: a live owner, a partition that exists.
        ...(owner === ''
          ? {}
          : {
              max_lag_consumer: {
                related: `${groupUrl(c, clusterId, group.group)}/consumers/${segment(owner)}`,
              },
            }),
        ...(max === undefined
          ? {}
          : {
              max_lag_partition: {
                related: `${base}/topics/${segment(max.topic)}/partitions/${max.partition}`,
              },
            }),
      });
    },
  );
}

type CommittedPartition = PartitionDescription & { committed: number };

/** The partitions Kafka reports lag for: those with a committed offset. */
function committedPartitions(group: GroupDescription): CommittedPartition[] {
  return group.partitions.filter((p): p is CommittedPartition => p.committed !== null);
}
