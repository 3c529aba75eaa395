import type { EventLogError } from '../log/errors.js';
import { DEFAULT_PRODUCER_ID_EXPIRATION_MS } from '../log/producer-state.js';

/** The produce path's request, answer, limits and options (lib/broker/produce.ts uses them). */

export interface ProduceRecord {
  key?: Uint8Array | null;
  value?: Uint8Array | null;
  headers?: { key: string; value: Uint8Array | null }[];
  /** Explicit partition; otherwise the key decides (murmur2), else records are spread. */
  partition?: number;
  /** CreateTime in ms; defaults to now. Ignored when the topic uses LogAppendTime. */
  timestamp?: number;
}

export interface ProduceRequest {
  topic: string;
  records: ProduceRecord[];
  /** Kafka's idempotent producer: a retried batch is answered from state, never written twice. */
  producer?: IdempotentProducer;
  /** Set by the Idempotency-Key layer (lib/broker/idempotency.ts), not by clients. */
  idempotencyKey?: IdempotencyTicket;
}

export interface IdempotentProducer {
  producerId: number;
  producerEpoch: number;
  /** The base sequence of each partition's batch, by partition: exactly the partitions written. */
  baseSequences: Readonly<Record<number, number>>;
}

/**
 * An Idempotency-Key acts as a producer of its own (owner `key#{id}`, epoch 0) that writes one
 * batch per partition, at sequence 0: a retry of the request is then a duplicate of the batches
 * that were written, on every partition, whichever step the first attempt died at.
 */
export interface IdempotencyTicket {
  /** Hash of the key. */
  id: string;
  /** The key's first request: no state can exist yet, so none is read. */
  fresh: boolean;
  /** Epoch seconds: the key's state lives exactly as long as its record. */
  expiresAt: number;
}

export type RecordResult =
  | { partition: number; offset: number; timestamp: number; error?: undefined }
  | { partition: number; offset?: undefined; timestamp?: undefined; error: EventLogError };

export interface ProduceResult {
  topic: string;
  /** One result per record, in request order. */
  records: RecordResult[];
}

export interface ProduceLimits {
  /**
   * A writer that has not published within this time gives up instead of publishing: the
   * healer declares holes older than this aborted, and a late publish must not land inside
   * such a range. Keep it at most the produce function's timeout.
   */
  maxProduceMs: number;
  /** Records in one request. */
  maxRecords: number;
  /** Key + value + header bytes in one request (the Lambda payload limit is 6 MB). */
  maxRequestBytes: number;
}

export interface IdempotenceOptions {
  /** Kafka's `producer.id.expiration.ms`: a producer's state on a partition lives this long after its last write. */
  producerIdExpirationMs: number;
  /** A registration (POST /v1/producers) idle this long is gone; producing keeps it alive. */
  registrationExpirationMs: number;
}

export const DEFAULT_IDEMPOTENCE_OPTIONS: IdempotenceOptions = {
  producerIdExpirationMs: DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  // Kafka's transactional.id.expiration.ms.
  registrationExpirationMs: 7 * 86_400_000,
};

export const DEFAULT_PRODUCE_LIMITS: ProduceLimits = {
  maxProduceMs: 30_000,
  maxRecords: 10_000,
  maxRequestBytes: 6 * 1024 * 1024,
};
