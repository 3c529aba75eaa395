import { EventLogError } from '../log/errors.js';
import { HttpClient, type HttpClientOptions } from './http.js';

export interface Topic {
  name: string;
  /** Immutable; a topic deleted and created again under the same name gets a new one. */
  topicId: string;
  partitions: number;
  /** Kafka-named configs (retention.ms, max.message.bytes...), values as strings. */
  configs: Record<string, string>;
  /** ms since the epoch */
  createdAt: number;
}

export interface PartitionOffsets {
  partition: number;
  /** The oldest offset still kept. */
  logStartOffset: number;
  /** One past the last readable offset: where the next record goes. */
  highWatermark: number;
}

export interface TopicDescription extends Topic {
  partitionOffsets: PartitionOffsets[];
}

export interface ListedOffset extends PartitionOffsets {
  /** null when asked for a time after every record (Kafka answers -1). */
  offset: number | null;
  /** For a lookup by time: the timestamp of the record at `offset`. */
  timestamp?: number;
}

/** earliest, latest, or the first offset whose timestamp is at or after a time. */
export type OffsetQuery = 'earliest' | 'latest' | number | Date;

export interface CreateTopicRequest {
  name: string;
  /** Default 1. */
  partitions?: number;
  /**
   * Kafka-named configs, e.g. `{ 'retention.ms': 86400000, 'compression.type': 'zstd' }`
   * (compression.type: none or uncompressed, gzip, snappy, lz4, zstd).
   */
  configs?: Record<string, string | number>;
}

/** Topics and offsets, over `/v1/topics`. */
export class Admin {
  readonly http: HttpClient;

  constructor(http: HttpClient | HttpClientOptions) {
    this.http = http instanceof HttpClient ? http : new HttpClient(http);
  }

  createTopic(request: CreateTopicRequest): Promise<Topic> {
    return this.http.request<Topic>('POST', '/v1/topics', {
      body: {
        name: request.name,
        partitions: request.partitions ?? 1,
        ...(request.configs === undefined ? {} : { configs: request.configs }),
      },
    });
  }

  async listTopics(): Promise<Topic[]> {
    return (await this.http.request<{ topics: Topic[] }>('GET', '/v1/topics')).topics;
  }

  describeTopic(name: string): Promise<TopicDescription> {
    return this.http.request<TopicDescription>('GET', topicPath(name));
  }

  /** The topic's Kafka-named configs, values as strings. */
  async topicConfigs(name: string): Promise<Record<string, string>> {
    const answer = await this.http.request<{ configs: Record<string, string> }>(
      'GET',
      `${topicPath(name)}/configs`,
    );
    return answer.configs;
  }

  /**
   * Changes some configs of a live topic; the others keep their values. All are validated
   * before any is stored, so an invalid one changes nothing.
   */
  alterTopicConfigs(
    name: string,
    configs: Record<string, string | number>,
  ): Promise<TopicDescription> {
    return this.http.request<TopicDescription>('PATCH', `${topicPath(name)}/configs`, {
      body: { configs },
      // Setting values is safe to repeat, unlike most PATCHes.
      retry: 'idempotent',
    });
  }

  /**
   * Raises the topic's partition count to `partitions` (Kafka's `NewPartitions.increaseTo`).
   * Only up: a count not above the current one is INVALID_PARTITIONS. Records already written
   * stay in their partitions; keyed records produced afterwards go to murmur2(key) % the new
   * count, so a key's new records may land in a different partition than its old ones.
   */
  increasePartitions(name: string, partitions: number): Promise<TopicDescription> {
    return this.http.request<TopicDescription>('PATCH', topicPath(name), {
      body: { partitions },
    });
  }

  /**
   * Deletes a topic; its records are removed in the background. A retry after a lost
   * answer finds the topic gone: that UNKNOWN_TOPIC means the first attempt worked.
   */
  deleteTopic(name: string): Promise<Topic> {
    return this.http.request<Topic>('DELETE', topicPath(name));
  }

  /** Per partition (all of them, or the one given), sorted by partition. */
  async listOffsets(
    topic: string,
    at: OffsetQuery = 'latest',
    partition?: number,
  ): Promise<ListedOffset[]> {
    const query = { at: offsetQuery(at) };
    if (partition !== undefined) {
      const listed = await this.http.request<ListedOffset & { topic: string; at: string }>(
        'GET',
        `${topicPath(topic)}/partitions/${partition}/offsets`,
        { query },
      );
      const { topic: _topic, at: _at, ...offset } = listed;
      return [offset];
    }
    const listed = await this.http.request<{ partitions: ListedOffset[] }>(
      'GET',
      `${topicPath(topic)}/offsets`,
      { query },
    );
    return listed.partitions;
  }

  /**
   * Kafka's AdminClient.deleteRecords: moves each partition's log start up to its offset
   * (-1: the high watermark). Returns each partition's new log start (low watermark).
   */
  async deleteRecords(
    topic: string,
    offsets: { partition: number; offset: number }[],
  ): Promise<{ partition: number; lowWatermark: number }[]> {
    const answer = await this.http.request<{
      partitions: { partition: number; lowWatermark: number }[];
    }>('POST', `${topicPath(topic)}/delete-records`, {
      body: { partitions: offsets },
      // Raising a log start to the same offset again changes nothing.
      retry: 'idempotent',
    });
    return answer.partitions;
  }
}

export function topicPath(name: string): string {
  return `/v1/topics/${encodeURIComponent(name)}`;
}

function offsetQuery(at: OffsetQuery): string {
  if (at === 'earliest' || at === 'latest') return at;
  const ms = at instanceof Date ? at.getTime() : at;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new EventLogError('INVALID_REQUEST', `Not a time: ${String(at)}`);
  }
  return String(ms);
}
