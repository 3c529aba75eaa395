import { EventLogError } from '../log/errors.js';
import {
  Batcher,
  type BatchLimits,
  checkBatchLimits,
  DEFAULT_BATCH_LIMITS,
  MAX_BATCH_LIMITS,
  toBatches,
} from './batcher.js';
import { HttpClient, type HttpClientOptions } from './http.js';
import {
  type IdempotenceOptions,
  IdempotentSession,
  MAX_IN_FLIGHT_IDEMPOTENT,
} from './idempotence.js';
import {
  type EncodedRecord,
  encodeRecord,
  PRODUCE_BODY_OVERHEAD,
  type ProducerRecord,
  produceBody,
} from './records.js';

export interface RecordMetadata {
  partition: number;
  offset: number;
  timestamp: number;
}

export interface ProducerOptions {
  /** How `sendBatch` and writers split records into requests; default 500 records / 1 MiB. */
  batch?: Partial<BatchLimits>;
  /**
   * Requests in flight at once for `sendBatch` and writers; default 1.
   *
   * With more than one, requests race each other to the partitions' offsets: records of
   * one partition (one key) sent in different requests may then be stored in another order
   * than they were given. Within one request the order always holds. Keep 1 when the order
   * per key matters.
   */
  maxInFlight?: number;
  /** How long a writer waits for more records before sending a partial batch; default 5 ms. */
  lingerMs?: number;
  /**
   * Kafka's enable.idempotence, on by default as in Kafka 3: a producer id from
   * POST /v1/producers, per-partition sequence numbers, and retries (after lost answers and
   * timeouts too) that the server answers from its state instead of writing twice. At most
   * 5 requests in flight. `false` for the plain protocol (cheaper: no state reads, no
   * transaction; see docs/exactly-once.md), an object to name the producer or tune resends.
   */
  idempotence?: boolean | IdempotenceOptions;
}

interface ProduceAnswer {
  topic: string;
  records: (
    | { partition: number; offset: number; timestamp: number; error?: undefined }
    | { partition: number; error: { code?: string; message?: string; retriable?: boolean } }
  )[];
}

/**
 * Sends records to topics through `POST /v1/topics/{topic}/records`.
 *
 * - `send`: one request (up to 10000 records / 6 MB), answered with each record's offset.
 * - `sendBatch`: any number of records, split into requests (see ProducerOptions).
 * - `writer(topic)`: a buffer that groups records as they come (a linger, like Kafka's
 *   producer) with backpressure: for streams of records, e.g. lines of a file.
 *
 * With idempotence (the default) a request is retried after any retriable failure, a lost
 * answer or a timeout included, with the same producer id, epoch and sequences: the server
 * answers a retry of a written batch with its offsets, so nothing is written twice (see
 * lib/client/idempotence.ts). Without it, a request is retried only when the server answered
 * that it wrote nothing (429, or 503 with `retriable`), never after a lost answer.
 */
export class Producer {
  readonly http: HttpClient;
  private readonly limits: BatchLimits;
  private readonly maxInFlight: number;
  private readonly lingerMs: number;
  /** The idempotent producer's id, epoch and sequences; undefined with idempotence off. */
  readonly idempotence: IdempotentSession | undefined;

  constructor(http: HttpClient | HttpClientOptions, options: ProducerOptions = {}) {
    this.http = http instanceof HttpClient ? http : new HttpClient(http);
    this.limits = checkBatchLimits({
      maxRecords: options.batch?.maxRecords ?? DEFAULT_BATCH_LIMITS.maxRecords,
      maxBytes: options.batch?.maxBytes ?? DEFAULT_BATCH_LIMITS.maxBytes,
    });
    this.maxInFlight = positiveInteger('maxInFlight', options.maxInFlight ?? 1);
    this.lingerMs = options.lingerMs ?? 5;
    const idempotence = options.idempotence ?? true;
    this.idempotence =
      idempotence === false
        ? undefined
        : new IdempotentSession(this.http, idempotence === true ? {} : idempotence);
    if (this.idempotence !== undefined && this.maxInFlight > MAX_IN_FLIGHT_IDEMPOTENT) {
      throw new RangeError(
        `maxInFlight must be at most ${MAX_IN_FLIGHT_IDEMPOTENT} with idempotence (the server keeps the last 5 batches per partition), got ${this.maxInFlight}`,
      );
    }
  }

  /**
   * Sends the records in one request and answers, per record in the order given, where it
   * was written. Throws an EventLogError when any record was not written; `details.results`
   * then says, per record, which were (partition and offset) and which were not (`error`).
   */
  async send(request: {
    topic: string;
    records: readonly ProducerRecord[];
  }): Promise<RecordMetadata[]> {
    return this.sendEncoded(request.topic, request.records.map(encodeRecord));
  }

  /**
   * Sends any number of records, in requests of the producer's batch size, up to
   * `maxInFlight` at a time. Stops sending at the first failed request and throws its error
   * (with `details.written`: the records known to be written).
   */
  async sendBatch(
    request: { topic: string; records: readonly ProducerRecord[] },
    options: { onProgress?: (written: number) => void } = {},
  ): Promise<RecordMetadata[]> {
    const encoded = request.records.map(encodeRecord);
    const batches = toBatches(
      encoded.map((record, index) => ({ record, index })),
      this.requestLimits(),
      (item) => item.record.bytes + 1,
    );
    const results: RecordMetadata[] = new Array(encoded.length);
    let written = 0;
    let failure: unknown;
    let next = 0;
    const lane = async () => {
      while (failure === undefined && next < batches.length) {
        const batch = batches[next++] as { record: EncodedRecord; index: number }[];
        try {
          const sent = await this.sendEncoded(
            request.topic,
            batch.map((item) => item.record),
          );
          sent.forEach((meta, i) => {
            results[(batch[i] as { index: number }).index] = meta;
          });
          written += batch.length;
          options.onProgress?.(written);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.maxInFlight, batches.length) }, lane));
    if (failure !== undefined) throw withWritten(failure, written);
    return results;
  }

  /** A buffer for a stream of records to one topic (see RecordWriter). */
  writer(topic: string, options: WriterOptions = {}): RecordWriter {
    return new RecordWriter(this, topic, this.requestLimits(), {
      maxInFlight: this.maxInFlight,
      lingerMs: this.lingerMs,
      ...options,
    });
  }

  /** @internal Sends records already encoded (RecordWriter batches them that way). */
  async sendEncoded(topic: string, records: readonly EncodedRecord[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return [];
    const answer =
      this.idempotence !== undefined
        ? await this.idempotence.send(topic, records)
        : await this.http.request<ProduceAnswer>(
            'POST',
            `/v1/topics/${encodeURIComponent(topic)}/records`,
            { body: produceBody(records) },
          );
    const failed = answer.records.filter((r) => r.error !== undefined);
    if (failed.length > 0) {
      const first = failed[0]?.error as { code?: string; message?: string; retriable?: boolean };
      const code = (first.code ?? 'INTERNAL') as ConstructorParameters<typeof EventLogError>[0];
      throw new EventLogError(
        code,
        `${failed.length} of ${records.length} records were not written: ${first.message ?? 'unknown error'}`,
        {
          retriable: first.retriable ?? false,
          details: {
            written: records.length - failed.length,
            failed: failed.length,
            results: answer.records,
          },
        },
      );
    }
    return answer.records as RecordMetadata[];
  }

  /** The batch limits, kept within one request body of the server. */
  private requestLimits(): BatchLimits {
    return {
      maxRecords: this.limits.maxRecords,
      maxBytes: Math.min(this.limits.maxBytes, MAX_BATCH_LIMITS.maxBytes - PRODUCE_BODY_OVERHEAD),
    };
  }
}

export interface WriterOptions {
  maxInFlight?: number;
  lingerMs?: number;
  /** Called after each request that was written, with its records' places (for progress reports). */
  onWritten?: (records: RecordMetadata[]) => void;
}

export interface WriterStats {
  /** Records the server confirmed. */
  written: number;
  /** Produce requests answered with success. */
  requests: number;
  /** Records given to write() so far. */
  accepted: number;
}

/**
 * Groups records into requests as they are written: a request goes when it is full (the
 * producer's batch limits) or when no record came for `lingerMs`. `write` waits while a full
 * batch cannot be sent yet (all `maxInFlight` requests are out), so memory stays bounded
 * however fast records come.
 *
 * Errors are sticky, as in a Node stream: after a failed request nothing more is sent,
 * and write, flush and close throw that error (with `details.written`).
 */
export class RecordWriter {
  readonly stats: WriterStats = { written: 0, requests: 0, accepted: 0 };
  private readonly batcher: Batcher<EncodedRecord>;
  private readonly ready: EncodedRecord[][] = [];
  private inFlight = 0;
  private failure: unknown;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  private readonly maxInFlight: number;
  private readonly lingerMs: number;

  constructor(
    private readonly producer: Producer,
    readonly topic: string,
    limits: BatchLimits,
    private readonly options: WriterOptions,
  ) {
    this.batcher = new Batcher(limits, (record) => record.bytes + 1);
    this.maxInFlight = positiveInteger('maxInFlight', options.maxInFlight ?? 1);
    this.lingerMs = options.lingerMs ?? 5;
  }

  async write(record: ProducerRecord): Promise<void> {
    this.check();
    const encoded = encodeRecord(record, this.stats.accepted);
    this.stats.accepted++;
    const full = this.batcher.add(encoded);
    if (full.length > 0) {
      this.clearTimer();
      this.ready.push(...full);
      this.pump();
    }
    if (this.batcher.size > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.seal();
      }, this.lingerMs);
    }
    // Backpressure: one full batch may wait for a free request, not more.
    while (this.ready.length > 0 && this.failure === undefined) await this.changed();
    this.check();
  }

  /** Sends what is buffered and waits until every request is answered. */
  async flush(): Promise<void> {
    this.seal();
    while ((this.ready.length > 0 || this.inFlight > 0) && this.failure === undefined) {
      await this.changed();
    }
    // Requests already out still land: wait for them, so `written` is final.
    while (this.inFlight > 0) await this.changed();
    if (this.failure !== undefined) throw withWritten(this.failure, this.stats.written);
  }

  /** Flushes, then refuses further writes. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.clearTimer();
    }
  }

  private check(): void {
    if (this.failure !== undefined) throw withWritten(this.failure, this.stats.written);
    if (this.closed) throw new EventLogError('INVALID_REQUEST', 'The writer is closed');
  }

  private seal(): void {
    this.clearTimer();
    const rest = this.batcher.drain();
    if (rest !== undefined) this.ready.push(rest);
    this.pump();
  }

  private pump(): void {
    while (
      this.failure === undefined &&
      this.inFlight < this.maxInFlight &&
      this.ready.length > 0
    ) {
      const batch = this.ready.shift() as EncodedRecord[];
      this.inFlight++;
      this.producer
        .sendEncoded(this.topic, batch)
        .then((result) => {
          this.stats.written += batch.length;
          this.stats.requests++;
          this.options.onWritten?.(result);
        })
        .catch((error: unknown) => {
          this.failure ??= error;
          this.ready.length = 0;
        })
        .finally(() => {
          this.inFlight--;
          this.pump();
          this.notify();
        });
    }
    this.notify();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * The first failure, with `details.written`: the records known to be written, those of the
 * failed request that did get written included.
 */
function withWritten(error: unknown, written: number): EventLogError {
  const base =
    error instanceof EventLogError
      ? error
      : new EventLogError('INTERNAL', error instanceof Error ? error.message : String(error), {
          cause: error,
        });
  const partial = base.details?.['written'];
  return new EventLogError(base.code, base.message, {
    cause: base,
    retriable: base.retriable,
    details: { ...base.details, written: written + (typeof partial === 'number' ? partial : 0) },
  });
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}
