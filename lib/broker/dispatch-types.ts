import type { KafkaEventRecord } from '../log/lambda-kafka-event.js';
import type { FailureCondition, InvocationResponse } from '../log/on-failure-record.js';
import type { SubscriptionConfig } from '../log/subscription-config.js';
import type { FailureDestinationStore } from '../store/failure-destination-store.js';
import type { FunctionInvoker } from '../store/function-invoker.js';
import type { S3FailureDestinationStore } from '../store/s3-destination-store.js';
import type { RetryState, StoredSubscription } from '../store/subscription-store.js';
import type { TopicRecord } from '../store/topic-store.js';
import type { Clock } from './clock.js';
import type { FetchedRecord, FetchService } from './fetch.js';
import type { AssignedPartition, GroupService } from './groups.js';
import type { MetricsEmitter } from './metrics.js';
import type { OffsetService } from './offsets.js';
import type { ProduceService } from './produce.js';
import type { SubscriptionService } from './subscriptions.js';
import type { TopicService } from './topics.js';

/**
 * The shapes the dispatcher's parts share (lib/broker/dispatcher.ts and the files it is made
 * of): its options, what a run reports, and one partition's work in a run.
 */

export interface DispatcherOptions {
  /** Ages of records (maximumRecordAgeInSeconds) and times in the stored retry state. */
  clock?: Clock;
  /** Sleeps of backoffs and batching windows; resolves early when the dispatcher closes. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** `bootstrapServers` of the event: this log's address as host:port. */
  bootstrapServers?: string;
  /** Partitions worked on at once. @default 32 */
  concurrency?: number;
  /** No new batch starts this long after a run began; the next run carries on. @default 60000 */
  workBudgetMs?: number;
  /**
   * The dispatcher's member session in the group: a dispatcher that dies frees its partitions
   * after this long. Renewed every third of it while a run holds leases. @default 30000
   */
  sessionTimeoutMs?: number;
  /** Backoff between attempts of a failing batch: base * 2^(n-1), capped. @default 500 / 30000 */
  backoff?: { baseMs: number; maxMs: number };
  /** How often a batching window looks for more records. @default 100 */
  pollIntervalMs?: number;
  /**
   * Where notify() reaches the dispatcher (the local server, in process): how long a caught-up
   * partition keeps its lease waiting for the next notification, which then goes out without
   * a new take, release and look. Useless where nothing calls notify() (AWS). @default 0
   */
  lingerMs?: number;
  /** Largest request payload. @default Lambda's 6 MB */
  maxPayloadBytes?: number;
  /** This dispatcher's member id in the groups. @default dispatcher-{uuid} */
  memberId?: string;
  /**
   * How long a run may reuse the subscription list the previous run read: at a produce's
   * pace, a Query per notification adds up. Changes show after at most this long. @default 1000
   */
  subscriptionCacheMs?: number;
  /** Dropped records, dead-lettered records, failing batches. @default console.log */
  log?: (message: string) => void;
  /** Per-subscription EMF metrics of each run (lib/broker/consumer-metrics.ts). */
  metrics?: MetricsEmitter;
}

export interface DispatchRequest {
  /** Only this topic's subscriptions (a produce notification). */
  topic?: string;
  /** Only these partitions (a produce notification: the ones just written). */
  partitions?: readonly number[];
  /** Only this subscription. */
  subscription?: string;
  /** Epoch ms after which nothing may run any more (the Lambda's own timeout). */
  deadline?: number;
  /**
   * The dispatcher's own function ARN (the Lambda context's invokedFunctionArn): completes
   * the ARN of a consumer function configured by name in on-failure records.
   */
  ownArn?: string;
}

export type PartitionOutcome =
  /** Batches were delivered (or given up on) and committed. */
  | 'delivered'
  /** Nothing past the committed offset. */
  | 'idle'
  /** Another dispatcher (or run) holds the partition. */
  | 'held'
  /** Records are still failing; the next run retries them. */
  | 'retrying'
  /** The lease was lost or a step failed; the next run carries on from the committed offset. */
  | 'stopped';

export interface PartitionReport {
  subscription: string;
  topic: string;
  partition: number;
  outcome: PartitionOutcome;
  invocations: number;
  /** Records delivered by successful invocations. */
  delivered: number;
  /** Records sent to the on-failure destination. */
  deadLettered: number;
  /** Records given up on without a destination. */
  dropped: number;
  /** Attempts that ended in a function error or timeout (metrics). */
  functionErrors: number;
  /** Invocations that sent records again after a failed attempt (metrics). */
  retries: number;
  /** Records given up on for their age, or deleted by retention before delivery (metrics). */
  expired: number;
  /** Records the subscription's filterCriteria left out: committed without an invocation. */
  filtered: number;
  /** The committed offset at the end. */
  committed?: number;
  error?: string;
}

export interface DispatchReport {
  startedAt: number;
  ms: number;
  partitions: PartitionReport[];
  /** Subscriptions that could not run at all (their topic is gone, ...). */
  errors: { subscription: string; error: string }[];
}

export interface DispatcherDeps {
  subscriptions: SubscriptionService;
  topics: TopicService;
  groups: GroupService;
  fetch: FetchService;
  offsets: OffsetService;
  produce: ProduceService;
  invoker: FunctionInvoker;
  /** SQS and SNS on-failure destinations; without it, records bound there stay in place. */
  destinations?: FailureDestinationStore;
  /** S3 bucket on-failure destinations. */
  s3Destinations?: S3FailureDestinationStore;
}

/** The options with their defaults filled in. */
export type ResolvedOptions = Required<
  Omit<DispatcherOptions, 'clock' | 'sleep' | 'memberId' | 'log' | 'maxPayloadBytes' | 'metrics'>
> & { maxPayloadBytes: number };

/** What every part of a dispatcher reads: its services, clock, options, log and member id. */
export interface DispatchContext {
  deps: DispatcherDeps;
  clock: Clock;
  options: ResolvedOptions;
  log: (message: string) => void;
  memberId: string;
}

/** Time kept back from the deadline so that releasing leases and saving state still fit. */
export const DEADLINE_MARGIN_MS = 2_000;

export interface Item {
  record: FetchedRecord;
  event: KafkaEventRecord;
  size: number;
}

export interface Batch {
  items: Item[];
  /** notify() calls for the partition before its last read. */
  notifiedBefore: number;
  /** Where reading goes on after this batch (past aborted ranges it skipped). */
  next: number;
  /** The last read reached the high watermark: nothing more was there then. */
  atEnd: boolean;
}

/** One partition's work in a run: lease, position, counters. */
export interface PartitionWork {
  sub: StoredSubscription;
  config: SubscriptionConfig;
  topic: TopicRecord;
  partition: number;
  lease: AssignedPartition;
  /** Where delivery stands: committed, or being committed by `committing`. */
  position: number;
  /** The last commit, possibly still in flight (it overlaps the next read). */
  committing?: Promise<void>;
  /** Retry state stored by an earlier run, and whether this run must clear it. */
  stored: RetryState | undefined;
  /** When the lease was taken (clock time): a session lapse after it means the lease is gone. */
  leasedAt: number;
  report: PartitionReport;
  run: RunContext;
  /** The subscription's filterCriteria (undefined: every record goes to the function). */
  keep?: ((value: Uint8Array | null) => boolean) | undefined;
}

export interface RunContext {
  /** No new batch after this. */
  softDeadline: number;
  /** Nothing at all after this (invocations are aborted). */
  hardDeadline: number;
  /** The dispatcher's own function ARN, when it runs on Lambda. */
  ownArn?: string;
}

export type Attempt =
  | { kind: 'ok' }
  | { kind: 'partial'; offset: number; error: string; response: InvocationResponse }
  /**
   * `counts`: the function ran (or may have): the attempt counts against the retries.
   * `response`: the function answered (with an error).
   */
  | { kind: 'failed'; error: string; counts: boolean; response?: InvocationResponse };

/** Part of a batch still to do: item indexes, in offset order, and how it fared so far. */
export interface Slice {
  idx: number[];
  attempts: number;
  lastError: string;
  /** When its first attempt failed (ms), 0 before. */
  since: number;
  lastResponse?: InvocationResponse;
}

/** The offsets (and, while the records exist, times and event size) of records given up on. */
export interface FailureRange {
  firstOffset: number;
  lastOffset: number;
  firstTimestamp?: number;
  lastTimestamp?: number;
  payloadSize?: number;
}

/** Why records are given up on. */
export interface GiveUp {
  condition: FailureCondition;
  reason: string;
  attempts: number;
  lastError: string;
  response?: InvocationResponse;
}
