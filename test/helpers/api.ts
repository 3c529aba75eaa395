import type { OpenAPIHono } from '@hono/zod-openapi';
import { createApp } from '../../lib/api/app.js';
import { type Broker, createBroker, createStores, type Stores } from '../../lib/broker/broker.js';
import { EventLogError } from '../../lib/log/errors.js';
import type { CommitLogStore } from '../../lib/store/commit-log-store.js';
import { SEGMENT_PREFIX } from '../../lib/store/resources.js';
import { testClients, testNames, uniqueName } from './aws.js';

/** The cluster id the test apps answer to on the Confluent v3 routes. */
export const CLUSTER_ID = 'test-cluster';

export interface ApiHarness {
  app: OpenAPIHono;
  broker: Broker;
  /** Sends a request to the app in process; a non-string body is sent as JSON. */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Reply>;
  /** Creates a uniquely named topic through the API and returns its name. */
  topic(partitions?: number, configs?: Record<string, string>): Promise<string>;
  /** What a write would change: each partition's high watermark and the topic's S3 objects. */
  state(topic: string): Promise<{ highWatermarks: number[]; objects: number }>;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever members they assert on
  json: any;
}

export function apiHarness(
  options: { stores?: (stores: Stores) => Stores; clusterId?: string } = {},
): ApiHarness {
  const base = createStores(testClients(), testNames());
  const broker = createBroker(options.stores === undefined ? base : options.stores(base));
  const app = createApp({
    broker,
    clusterId: options.clusterId ?? CLUSTER_ID,
    logError: () => {},
    validateResponses: true,
  });

  const call: ApiHarness['call'] = async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
    }
    return reply(await app.request(path, init));
  };

  return {
    app,
    broker,
    call,
    async topic(partitions = 1, configs = {}) {
      const name = uniqueName('api');
      const created = await call('POST', '/v1/topics', { name, partitions, configs });
      if (created.status !== 201) throw new Error(`creating ${name}: ${created.text}`);
      return name;
    },
    async state(topic) {
      const described = await broker.topics.describe(topic);
      let objects = 0;
      for await (const _ of broker.stores.segments.list(`${SEGMENT_PREFIX}${described.topicId}/`)) {
        objects++;
      }
      return { highWatermarks: described.partitionOffsets.map((p) => p.highWatermark), objects };
    },
  };
}

export async function reply(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/**
 * Stores whose reservations fail for commits touching one partition, as if DynamoDB were down
 * there: the S3 upload succeeds, and on a topic with a commit sequence per partition
 * (`commit.sequences` = partitions) the other partitions are written.
 */
export function failingPartition(failing: number): (stores: Stores) => Stores {
  return (stores) => ({
    ...stores,
    commits: new Proxy(stores.commits, {
      get(target, property, receiver) {
        if (property !== 'reserve') return Reflect.get(target, property, receiver);
        return (
          topicId: string,
          sequence: number,
          counts: ReadonlyMap<number, number>,
          now: number,
        ) =>
          counts.has(failing)
            ? Promise.reject(new EventLogError('STORAGE_UNAVAILABLE', 'DynamoDB is down'))
            : target.reserve(topicId, sequence, counts, now);
      },
    }) as CommitLogStore,
  });
}

/** A topic config giving each partition its own commit sequence, for per-partition failures. */
export const SEQUENCE_PER_PARTITION: Record<string, string> = { 'commit.sequences': '2' };
