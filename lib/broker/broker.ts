import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ResourceNames } from '../infra/resources.js';
import { DynamoLogIndexStore, type LogIndexStore } from '../store/log-index-store.js';
import { S3SegmentStore, type SegmentStore } from '../store/segment-store.js';
import { DynamoTopicStore, type TopicStore } from '../store/topic-store.js';
import { type Clock, systemClock } from './clock.js';
import { FetchService } from './fetch.js';
import { LogHealer } from './log-healer.js';
import { OffsetService } from './offsets.js';
import { PartitionReader } from './partition-reader.js';
import { DEFAULT_PRODUCE_LIMITS, type ProduceLimits, ProduceService } from './produce.js';
import { RetentionService } from './retention.js';
import { TopicService } from './topics.js';

export interface Stores {
  topics: TopicStore;
  index: LogIndexStore;
  segments: SegmentStore;
}

export interface BrokerOptions {
  clock?: Clock;
  produceLimits?: Partial<ProduceLimits>;
  topicCacheTtlMs?: number;
  /** Progress lines from background work (retention, healing). */
  log?: (message: string) => void;
}

/** The services over one set of stores, wired the same way by functions, the local server and tests. */
export interface Broker {
  stores: Stores;
  clock: Clock;
  topics: TopicService;
  produce: ProduceService;
  fetch: FetchService;
  offsets: OffsetService;
  reader: PartitionReader;
  healer: LogHealer;
  retention: RetentionService;
}

export function createStores(
  clients: { s3: S3Client; doc: DynamoDBDocumentClient },
  names: ResourceNames,
): Stores {
  return {
    topics: new DynamoTopicStore(clients.doc, names.topicsTable),
    index: new DynamoLogIndexStore(clients.doc, names.logTable),
    segments: new S3SegmentStore(clients.s3, names.bucket),
  };
}

export function createBroker(stores: Stores, options: BrokerOptions = {}): Broker {
  const clock = options.clock ?? systemClock;
  const reader = new PartitionReader(stores.index);
  const maxProduceMs = options.produceLimits?.maxProduceMs ?? DEFAULT_PRODUCE_LIMITS.maxProduceMs;
  // A hole may be declared aborted only once no writer can still publish into it.
  const healer = new LogHealer(stores.index, reader, maxProduceMs, clock);
  const topics = new TopicService(stores.topics, stores.index, reader, {
    clock,
    ...(options.topicCacheTtlMs === undefined ? {} : { cacheTtlMs: options.topicCacheTtlMs }),
  });
  return {
    stores,
    clock,
    reader,
    topics,
    produce: new ProduceService(topics, stores.segments, stores.index, {
      clock,
      ...(options.produceLimits === undefined ? {} : { limits: options.produceLimits }),
    }),
    fetch: new FetchService(topics, stores.segments, reader),
    offsets: new OffsetService(topics, stores.segments, stores.index, reader),
    healer,
    retention: new RetentionService(stores.topics, stores.index, stores.segments, healer, {
      clock,
      maxProduceMs,
      ...(options.log === undefined ? {} : { log: options.log }),
    }),
  };
}
