import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AuthStore, DynamoAuthStore } from '../store/auth-store.js';
import { type CommitLogStore, DynamoCommitLogStore } from '../store/commit-log-store.js';
import type { FailureDestinationStore } from '../store/failure-destination-store.js';
import { DynamoGroupStore, type GroupStore } from '../store/group-store.js';
import { DynamoIdempotencyStore, type IdempotencyStore } from '../store/idempotency-store.js';
import { DynamoProducerStore, type ProducerStore } from '../store/producer-store.js';
import type { ResourceNames } from '../store/resources.js';
import {
  AwsS3FailureDestinationStore,
  type S3FailureDestinationStore,
} from '../store/s3-destination-store.js';
import { S3SegmentStore, type SegmentStore } from '../store/segment-store.js';
import { DynamoSubscriptionStore, type SubscriptionStore } from '../store/subscription-store.js';
import { DynamoTopicStore, type TopicStore } from '../store/topic-store.js';
import { AuthService, type AuthServiceOptions } from './auth.js';
import { type Clock, systemClock } from './clock.js';
import { ConsumerInstanceService } from './consumer-instances.js';
import { FetchService } from './fetch.js';
import { GroupService, type GroupServiceOptions } from './groups.js';
import { IdempotencyService } from './idempotency.js';
import { LagService } from './lag.js';
import { LogReader } from './log-reader.js';
import type { MetricsEmitter } from './metrics.js';
import { OffsetService } from './offsets.js';
import {
  DEFAULT_PRODUCE_LIMITS,
  type IdempotenceOptions,
  type ProduceLimits,
  ProduceService,
} from './produce.js';
import { observeProduceMetrics } from './produce-metrics.js';
import { observeProduce, type ProducedHook } from './produce-notifier.js';
import { ProducerService } from './producers.js';
import { type RetentionOptions, RetentionService } from './retention.js';
import { SubscriptionService } from './subscriptions.js';
import { ThroughputService } from './throughput.js';
import { TopicService } from './topics.js';

export interface Stores {
  topics: TopicStore;
  /** Storage engine v2's commits, sequence heads and metas (the log table). */
  commits: CommitLogStore;
  segments: SegmentStore;
  groups: GroupStore;
  /** Idempotent producers' registrations and per-partition state (the log table). */
  producers: ProducerStore;
  /** Idempotency-Key records (the log table). */
  idempotency: IdempotencyStore;
  /** Lambda consumers' subscriptions (the groups table). */
  subscriptions: SubscriptionStore;
  /** ACLs, API keys and producer owners (the groups table). */
  auth: AuthStore;
  /**
   * SQS and SNS on-failure destinations of Lambda consumers. Only the dispatcher sends there,
   * so only its entry (and the local server) builds one: the other functions' bundles stay
   * without the SQS and SNS clients. A dispatcher without it keeps such records in place.
   */
  failureDestinations?: FailureDestinationStore;
  /** S3 bucket on-failure destinations, over the segments' S3 client (no extra client). */
  s3FailureDestinations?: S3FailureDestinationStore;
}

export interface BrokerOptions {
  clock?: Clock;
  produceLimits?: Partial<ProduceLimits>;
  topicCacheTtlMs?: number;
  /** Progress lines from background work (retention, healing). */
  log?: (message: string) => void;
  /** Consumer groups: default session timeout, balancer randomness. */
  groupOptions?: Omit<GroupServiceOptions, 'clock'>;
  /** Producer id and state lifetimes (Kafka's producer.id.expiration.ms). */
  idempotence?: Partial<IdempotenceOptions>;
  /** Called after each produce that committed records: the dispatcher's notification. */
  onProduced?: ProducedHook;
  /**
   * Added to maxProduceMs before a reader heals a hole: clocks of different machines may
   * disagree by this much. @default 15000
   */
  healMarginMs?: number;
  /** Retention's tunables (the rest comes from the options above). */
  retention?: Pick<RetentionOptions, 'clockSkewMs' | 'leaseMs' | 'maxSweptObjects'>;
  /** The OIDC issuer of JWT callers and the ACL cache's lifetime. */
  auth?: Omit<AuthServiceOptions, 'clock'>;
  /** EMF metrics (docs/metrics.md): produce counts here, the dispatcher's and lag elsewhere. */
  metrics?: MetricsEmitter;
}

/** The services over one set of stores, wired the same way by functions, the local server and tests. */
export interface Broker {
  stores: Stores;
  clock: Clock;
  topics: TopicService;
  produce: ProduceService;
  fetch: FetchService;
  offsets: OffsetService;
  reader: LogReader;
  retention: RetentionService;
  groups: GroupService;
  /** Offset and time lag of consumer groups. */
  lag: LagService;
  /** Records, bytes and produce requests per recent time window, from the commits. */
  throughput: ThroughputService;
  consumers: ConsumerInstanceService;
  subscriptions: SubscriptionService;
  /** Producer ids and epochs (POST /v1/producers). */
  producers: ProducerService;
  /** Idempotency-Key handling for the produce routes. */
  idempotency: IdempotencyService;
  /** Bearer credentials, ACLs, producer owners. */
  auth: AuthService;
  /** Where metrics go, when they are wanted (the dispatcher's come from here too). */
  metrics?: MetricsEmitter;
}

export const DEFAULT_HEAL_MARGIN_MS = 15_000;

export function createStores(
  clients: { s3: S3Client; doc: DynamoDBDocumentClient },
  names: ResourceNames,
  extra: { failureDestinations?: FailureDestinationStore } = {},
): Stores {
  return {
    ...(extra.failureDestinations === undefined
      ? {}
      : { failureDestinations: extra.failureDestinations }),
    topics: new DynamoTopicStore(clients.doc, names.topicsTable),
    commits: new DynamoCommitLogStore(clients.doc, names.logTable),
    segments: new S3SegmentStore(clients.s3, names.bucket),
    s3FailureDestinations: new AwsS3FailureDestinationStore(clients.s3),
    groups: new DynamoGroupStore(clients.doc, names.groupsTable),
    subscriptions: new DynamoSubscriptionStore(clients.doc, names.groupsTable),
    auth: new DynamoAuthStore(clients.doc, names.groupsTable),
    producers: new DynamoProducerStore(clients.doc, names.logTable),
    idempotency: new DynamoIdempotencyStore(clients.doc, names.logTable),
  };
}

export function createBroker(stores: Stores, options: BrokerOptions = {}): Broker {
  const clock = options.clock ?? systemClock;
  const maxProduceMs = options.produceLimits?.maxProduceMs ?? DEFAULT_PRODUCE_LIMITS.maxProduceMs;
  // A hole may be healed once no writer can still publish into it: a writer gives up
  // maxProduceMs after its start, which its commit records; the margin covers clocks.
  const reader = new LogReader(stores.commits, {
    clock,
    graceMs: maxProduceMs + (options.healMarginMs ?? DEFAULT_HEAL_MARGIN_MS),
  });
  const topics = new TopicService(stores.topics, reader, {
    clock,
    ...(options.topicCacheTtlMs === undefined ? {} : { cacheTtlMs: options.topicCacheTtlMs }),
  });
  const fetch = new FetchService(topics, stores.segments, reader);
  const offsets = new OffsetService(topics, stores.segments, reader);
  const groups = new GroupService(stores.groups, topics, offsets, {
    ...options.groupOptions,
    clock,
  });
  const broker: Broker = {
    stores,
    clock,
    reader,
    topics,
    groups,
    lag: new LagService(groups, topics, reader, clock),
    throughput: new ThroughputService(topics, stores.commits, reader, clock),
    subscriptions: new SubscriptionService(stores.subscriptions, topics, groups, { clock }),
    consumers: new ConsumerInstanceService(groups, stores.groups, topics, fetch, reader, {
      clock,
    }),
    produce: new ProduceService(topics, stores.segments, stores.commits, {
      clock,
      ...(options.produceLimits === undefined ? {} : { limits: options.produceLimits }),
      producers: stores.producers,
      ...(options.idempotence === undefined ? {} : { idempotence: options.idempotence }),
    }),
    producers: new ProducerService(stores.producers, {
      clock,
      ...(options.idempotence?.registrationExpirationMs === undefined
        ? {}
        : { registrationExpirationMs: options.idempotence.registrationExpirationMs }),
    }),
    // A key's lock lasts as long as its request may still publish.
    idempotency: new IdempotencyService(stores.idempotency, { clock, lockMs: maxProduceMs }),
    auth: new AuthService(stores.auth, stores.subscriptions, { ...options.auth, clock }),
    fetch,
    offsets,
    retention: new RetentionService(stores.topics, stores.commits, stores.segments, reader, {
      ...options.retention,
      clock,
      maxProduceMs,
      ...(options.log === undefined ? {} : { log: options.log }),
    }),
  };
  if (options.onProduced !== undefined) observeProduce(broker.produce, options.onProduced);
  if (options.metrics !== undefined) {
    broker.metrics = options.metrics;
    observeProduceMetrics(broker.produce, options.metrics);
  }
  return broker;
}
