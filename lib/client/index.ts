/**
 * The TypeScript SDK of the event log, over its HTTP API.
 *
 * ```ts
 * import { Admin, Producer, fetchRecords } from './lib/client/index.js';
 *
 * const options = { url: 'http://127.0.0.1:8787' };
 * await new Admin(options).createTopic({ name: 'orders', partitions: 3 });
 * const producer = new Producer(options);
 * const [ack] = await producer.send({ topic: 'orders', records: [{ key: 'customer-42', value: { item: 'book' } }] });
 * // ack: { partition, offset, timestamp }
 * ```
 *
 * Errors are the server's EventLogError (same code, retriable and details) rebuilt on this
 * side, so `isEventLogError(error, 'UNKNOWN_TOPIC')` works the same in and out of process.
 */

export type { ErrorCode } from '../log/errors.js';
export { EventLogError, isEventLogError } from '../log/errors.js';
export {
  Admin,
  type CreateTopicRequest,
  type ListedOffset,
  type OffsetQuery,
  type PartitionOffsets,
  type Topic,
  type TopicDescription,
} from './admin.js';
export { Batcher, type BatchLimits, DEFAULT_BATCH_LIMITS, toBatches } from './batcher.js';
export {
  type AutoOffsetReset,
  Consumer,
  type ConsumerBatch,
  type ConsumerOptions,
} from './consumer.js';
export {
  type FetchedBatch,
  type FetchedRecord,
  type FetchRequest,
  fetchRecords,
} from './fetcher.js';
export { Groups } from './groups.js';
export {
  HttpClient,
  type HttpClientOptions,
  type RequestOptions,
  type RetryOptions,
  type RetryPolicy,
} from './http.js';
export {
  type IdempotenceOptions,
  IdempotentSession,
  MAX_IN_FLIGHT_IDEMPOTENT,
} from './idempotence.js';
export {
  Producer,
  type ProducerOptions,
  type RecordMetadata,
  RecordWriter,
  type WriterOptions,
  type WriterStats,
} from './producer.js';
export {
  type HeaderValue,
  type JsonValue,
  type ProducerRecord,
  RawJson,
  type RecordData,
  rawJson,
} from './records.js';
export type { AwsCredentials, SigV4Options } from './sigv4.js';
export {
  type CreateSubscriptionRequest,
  type Subscription,
  Subscriptions,
  type UpdateSubscriptionRequest,
} from './subscriptions.js';
