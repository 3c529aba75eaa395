import { type DataFormat, encodeData } from '../log/encoding.js';
import { EventLogError, isEventLogError } from '../log/errors.js';
import { member, parseJsonText } from '../log/json-text.js';
import { partitionForKey } from '../log/partitioner.js';
import { incrementSequence } from '../log/producer-state.js';
import { topicPath } from './admin.js';
import type { HttpClient } from './http.js';
import { type EncodedRecord, produceBody } from './records.js';

/**
 * The SDK side of Kafka's idempotent producer (enable.idempotence, on by default since
 * Kafka 3.0): a producer id and epoch from `POST /v1/producers`, taken lazily; per topic and
 * partition a sequence number that each batch advances by its record count; and retries that
 * resend the SAME body (same sequences) after a lost answer, a timeout or a retriable error,
 * which the server answers from its state instead of writing twice.
 *
 * To number batches per partition the session must know each record's partition before
 * sending: an explicit partition, else Kafka's murmur2 of the key bytes (computed exactly as
 * the server computes them, with the same encoding code), else one partition per request for
 * the null-key records (Kafka's sticky partitioner: fewer partitions per request is fewer
 * writes). Every record is then sent with an explicit partition.
 *
 * After a request fails for good, its sequences may or may not have been written: reusing them
 * could make the server take a new batch for the old one, and skipping them leaves a gap. So,
 * as Kafka's producer does, the next request first bumps the epoch (`POST /v1/producers` with
 * the id), which starts every partition again at sequence 0.
 */

export interface ProduceAnswer {
  topic: string;
  records: (
    | { partition: number; offset: number; timestamp: number; error?: undefined }
    | { partition: number; error: { code?: string; message?: string; retriable?: boolean } }
  )[];
}

export interface IdempotenceOptions {
  /** Like Kafka's transactional.id: the same name gets the same id back and fences the instance that had it. */
  name?: string;
  /** Resends of one request after a 200 with retriable per-record failures; default 5. */
  retries?: number;
  /** First backoff ceiling between resends; default 100 ms, doubling. */
  baseDelayMs?: number;
  /** Longest backoff; default 1000 ms. */
  maxDelayMs?: number;
  /**
   * How long a topic's partition count is trusted before it is read again, as Kafka's
   * metadata.max.age.ms (same default, 300000): partitions added later get keyed records
   * within that time.
   */
  metadataMaxAgeMs?: number;
}

/** Kafka's max.in.flight.requests.per.connection limit for idempotence. */
export const MAX_IN_FLIGHT_IDEMPOTENT = 5;

interface Identity {
  producerId: number;
  producerEpoch: number;
}

interface Numbered {
  body: string;
  /** Requests numbered before this one on its partitions, not settled when it was numbered. */
  earlier: Promise<unknown>[];
  /** Takes the request out of line. */
  settle: () => void;
}

export class IdempotentSession {
  private identity: Identity | undefined;
  private initializing: Promise<Identity> | undefined;
  /** A request failed for good: its sequences are in doubt until the epoch moves on. */
  private bumpNeeded = false;
  /** Next sequence, per `${topic}\u0000${partition}`, for the current epoch. */
  private readonly next = new Map<string, number>();
  private readonly partitionCounts = new Map<string, { count: number; readAt: number }>();
  /** Requests not settled yet, per topic-partition, oldest first: a gap may be theirs. */
  private readonly inFlight = new Map<string, Promise<unknown>[]>();
  private sticky = Math.floor(Math.random() * 0x7fffffff);
  private numbering: Promise<void> = Promise.resolve();

  constructor(
    private readonly http: HttpClient,
    private readonly options: IdempotenceOptions = {},
  ) {}

  /** The producer id and epoch in use (undefined before the first send). */
  get producer(): Identity | undefined {
    return this.identity;
  }

  async send(topic: string, records: readonly EncodedRecord[]): Promise<ProduceAnswer> {
    // Requests are numbered in the order send was called, whatever their awaits take.
    const turn = this.numbering.then(() => this.number(topic, records));
    this.numbering = turn.then(
      () => {},
      () => {},
    );
    let numbered = await turn;
    try {
      for (let attempt = 0; ; attempt++) {
        let answer: ProduceAnswer;
        try {
          answer = await this.http.request<ProduceAnswer>(
            'POST',
            `${topicPath(topic)}/records`,
            // Resending the same body is what makes a retry safe: same sequences.
            { body: numbered.body, retry: 'idempotent' },
          );
        } catch (error) {
          if (isEventLogError(error, 'UNKNOWN_PRODUCER_ID') && attempt === 0) {
            // Refused before anything was written: a new id, the records numbered again.
            numbered.settle();
            this.reset(undefined);
            numbered = await this.number(topic, records);
            continue;
          }
          if (isEventLogError(error, 'OUT_OF_ORDER_SEQUENCE') && numbered.earlier.length > 0) {
            // Every record refused: a request sent before this one has not landed yet.
            await Promise.allSettled(numbered.earlier.splice(0));
            continue;
          }
          throw error;
        }
        const failed = answer.records.filter((r) => r.error !== undefined);
        if (failed.length === 0) return answer;
        if (attempt < (this.options.retries ?? 5)) {
          const outOfOrder = failed.some((r) => r.error?.code === 'OUT_OF_ORDER_SEQUENCE');
          if (outOfOrder && numbered.earlier.length > 0) {
            // A request sent before this one on the same partition has not landed yet.
            await Promise.allSettled(numbered.earlier.splice(0));
            continue;
          }
          if (failed.every((r) => r.error?.retriable === true)) {
            await sleep(this.backoff(attempt));
            continue;
          }
        }
        this.bumpNeeded = true;
        return answer;
      }
    } catch (error) {
      this.bumpNeeded = true;
      throw error;
    } finally {
      numbered.settle();
    }
  }

  private async number(topic: string, records: readonly EncodedRecord[]): Promise<Numbered> {
    const identity = await this.ready();
    const located = await this.locate(topic, records);
    const counts = new Map<number, number>();
    for (const { partition } of located) counts.set(partition, (counts.get(partition) ?? 0) + 1);
    // From here on synchronous: requests take sequences, and their place in line, in one step.
    const baseSequences: Record<string, number> = {};
    const earlier: Promise<unknown>[] = [];
    let settle: () => void = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const keys: string[] = [];
    for (const [partition, count] of [...counts].sort((a, b) => a[0] - b[0])) {
      const key = slot(topic, partition);
      const base = this.next.get(key) ?? 0;
      baseSequences[partition] = base;
      this.next.set(key, incrementSequence(base, count));
      const line = this.inFlight.get(key) ?? [];
      earlier.push(...line);
      this.inFlight.set(key, [...line, settled]);
      keys.push(key);
    }
    const inner = produceBody(located.map((l) => l.record)).slice(1);
    return {
      body: `{"producerId":${identity.producerId},"producerEpoch":${identity.producerEpoch},"baseSequences":${JSON.stringify(baseSequences)},${inner}`,
      earlier,
      settle: () => {
        settle();
        for (const key of keys) {
          const line = (this.inFlight.get(key) ?? []).filter((p) => p !== settled);
          if (line.length === 0) this.inFlight.delete(key);
          else this.inFlight.set(key, line);
        }
      },
    };
  }

  private async ready(): Promise<Identity> {
    if (this.bumpNeeded && this.identity !== undefined && this.initializing === undefined) {
      const stale = this.identity;
      this.bumpNeeded = false;
      this.initializing = this.init(stale).finally(() => {
        this.initializing = undefined;
      });
    }
    if (this.initializing !== undefined) return this.initializing;
    if (this.identity !== undefined) return this.identity;
    this.initializing = this.init(undefined).finally(() => {
      this.initializing = undefined;
    });
    return this.initializing;
  }

  private async init(previous: Identity | undefined): Promise<Identity> {
    const body =
      previous !== undefined
        ? { producerId: previous.producerId, producerEpoch: previous.producerEpoch }
        : this.options.name !== undefined
          ? { name: this.options.name }
          : {};
    let identity: Identity;
    try {
      identity = await this.http.request<Identity>('POST', '/v1/producers', {
        body,
        // A lost answer only costs an unused id or epoch.
        retry: 'idempotent',
      });
    } catch (error) {
      if (previous === undefined || !isEventLogError(error, 'UNKNOWN_PRODUCER_ID')) throw error;
      identity = await this.http.request<Identity>('POST', '/v1/producers', {
        body: this.options.name === undefined ? {} : { name: this.options.name },
        retry: 'idempotent',
      });
    }
    this.reset(identity);
    return identity;
  }

  private reset(identity: Identity | undefined): void {
    this.identity = identity;
    this.next.clear();
  }

  /** Each record with the partition it goes to, written into its JSON. */
  private async locate(
    topic: string,
    records: readonly EncodedRecord[],
  ): Promise<{ partition: number; record: EncodedRecord }[]> {
    const parsed = records.map((record, i) => {
      const node = parseJsonText(record.json);
      const partition = member(node, 'partition');
      if (partition?.kind === 'number')
        return { record, partition: Number(partition.raw), key: undefined };
      const keyNode = member(node, 'key');
      const formatNode = member(node, 'keyFormat');
      const format = formatNode?.kind === 'string' ? formatNode.value : 'string';
      // The bytes the server will store, by the server's own code: the same murmur2 input.
      const key = encodeData(keyNode, format as DataFormat, { record: i, field: 'key' });
      return { record, partition: undefined, key };
    });
    if (parsed.every((p) => p.partition !== undefined)) {
      return parsed.map((p) => ({ record: p.record, partition: p.partition as number }));
    }
    const partitions = await this.partitionCount(topic);
    const stickyPartition = this.sticky++ % partitions;
    return parsed.map((p) => {
      if (p.partition !== undefined) return { record: p.record, partition: p.partition };
      const partition =
        p.key === null || p.key === undefined
          ? stickyPartition
          : partitionForKey(p.key, partitions);
      const json = p.record.json;
      const withPartition = `${json.slice(0, -1)}${json === '{}' ? '' : ','}"partition":${partition}}`;
      return {
        partition,
        record: { json: withPartition, bytes: Buffer.byteLength(withPartition, 'utf8') },
      };
    });
  }

  private async partitionCount(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    const maxAge = this.options.metadataMaxAgeMs ?? 300_000;
    if (known !== undefined && Date.now() - known.readAt < maxAge) return known.count;
    const described = await this.http.request<{ partitions: number }>('GET', topicPath(topic));
    if (!Number.isInteger(described.partitions) || described.partitions < 1) {
      throw new EventLogError('INTERNAL', `Topic ${topic} reports no partition count`);
    }
    this.partitionCounts.set(topic, { count: described.partitions, readAt: Date.now() });
    return described.partitions;
  }

  private backoff(attempt: number): number {
    const base = this.options.baseDelayMs ?? 100;
    const max = this.options.maxDelayMs ?? 1000;
    return Math.floor(Math.random() * Math.min(max, base * 2 ** attempt));
  }
}

function slot(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
