import type { FetchedRecord, FetchResult } from '../../broker/fetch.js';
import type { IdempotentProducer, ProduceRecord, ProduceResult } from '../../broker/produce.js';
import {
  type DataFormat,
  decodeData,
  encodeData,
  type HeaderFormat,
  stringifyWithRaw,
} from '../../log/encoding.js';
import { EventLogError } from '../../log/errors.js';
import { element, type JsonNode, member } from '../../log/json-text.js';
import { caller } from '../auth.js';
import { readApplicationJson, validate, validateJson } from '../body.js';
import { errorBody } from '../error-mapping.js';
import { produceWithKey, withIdempotencyKey } from '../idempotency-key.js';
import { fetchManyWithWait, fetchWithWait } from '../long-poll.js';
import { integer, optionalInteger, withDefined } from '../params.js';
import { type ApiApp, type ApiContext, defineRoute, pathParam } from '../route.js';
import {
  bodyErrorResponses,
  ErrorSchema,
  errorResponses,
  FetchManyRequestSchema,
  FetchManyResponseSchema,
  FetchQuerySchema,
  FetchResponseSchema,
  IdempotencyKeyHeaders,
  jsonContent,
  PartitionParams,
  ProduceRequestSchema,
  ProduceResponseSchema,
  TopicParams,
} from '../schemas.js';
import { requireOwner } from './producers.js';

/** The record routes: produce, fetch one partition, fetch several; in this order. */
export function registerRecordRoutes(app: ApiApp, api: ApiContext): void {
  registerProduceRoute(app, api);
  registerFetchRoute(app, api);
  registerFetchManyRoute(app, api);
}

/** Produce a batch of records to a topic. */
function registerProduceRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/topics/{topic}/records',
      tags: ['Records'],
      summary: 'Produce a batch of records (one S3 object, atomic validation)',
      description:
        'Every record is validated before anything is written: one bad record rejects the request. A partition whose write fails gives its records an `error`; the others are written. When every record failed, the answer is the error itself.',
      request: {
        params: TopicParams,
        headers: IdempotencyKeyHeaders,
        body: { required: true, content: { 'application/json': { schema: ProduceRequestSchema } } },
      },
      responses: {
        200: jsonContent(ProduceResponseSchema, 'One result per record, in request order'),
        ...bodyErrorResponses,
      },
    },
    withIdempotencyKey(api, async (c) => {
      const topic = pathParam(c, 'topic');
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(ProduceRequestSchema, node, 'produce request');
      const records = request.records.map((record, i) =>
        toProduceRecord(element(member(node, 'records'), i), i, {
          key: record.keyFormat ?? request.keyFormat ?? 'string',
          value: record.valueFormat ?? request.valueFormat ?? 'string',
          header: request.headerFormat ?? 'string',
          partition: record.partition,
          timestamp: record.timestamp,
        }),
      );
      const idempotent = idempotentProducer(request);
      if (idempotent.producer !== undefined) {
        await requireOwner(caller(c), 'producer', String(idempotent.producer.producerId));
      }
      const result = await produceWithKey(c, api, { topic, records, ...idempotent });
      return c.json(produceJson(result));
    }),
  );
}

/** Fetch one partition from an offset, with an optional long poll. */
function registerFetchRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'get',
      path: '/v1/topics/{topic}/partitions/{partition}/records',
      tags: ['Records'],
      summary: 'Fetch records from an offset, optionally waiting for them (long poll)',
      request: { params: PartitionParams, query: FetchQuerySchema },
      responses: {
        200: jsonContent(FetchResponseSchema, 'Records from the offset on'),
        416: jsonContent(ErrorSchema, 'Offset below the log start or above the high watermark'),
        ...errorResponses,
      },
    },
    async (c) => {
      const params = validate(PartitionParams, c.req.param(), 'path');
      const query = validate(FetchQuerySchema, c.req.query(), 'query');
      const waitMs = checkedWait(optionalInteger('waitMs', query.waitMs), api.maxWaitMs);
      const formats = fetchFormats(query);
      const json = recordJson(formats);
      const fetchRequest = {
        topic: params.topic,
        partition: integer('partition', params.partition),
        offset: integer('offset', query.offset),
        ...withDefined('maxBytes', optionalInteger('maxBytes', query.maxBytes)),
        ...withDefined('maxRecords', optionalInteger('maxRecords', query.maxRecords)),
        // maxBytes holds for the JSON this route sends, not for the stored (maybe compressed) bytes.
        sizeOf: json.sizeOf,
      };
      const result = await fetchWithWait(api.broker, fetchRequest, waitMs, c.req.raw.signal);
      const body = { topic: result.topic, ...partitionJson(result, json.of) };
      return c.body(responseText(body, formats), 200, { 'content-type': 'application/json' });
    },
  );
}

/** Fetch several partitions of a topic in one request. */
function registerFetchManyRoute(app: ApiApp, api: ApiContext): void {
  defineRoute(
    app,
    {
      method: 'post',
      path: '/v1/topics/{topic}/fetch',
      tags: ['Records'],
      summary: 'Fetch several partitions of a topic at once, optionally waiting (long poll)',
      description:
        'One request reads every partition named, each from its own offset: the commits are walked once and each S3 object is read once for all of them. `maxBytes` and `maxRecords` are shared by the partitions (measured on the JSON sent); the long poll ends as soon as any partition has records. A partition that cannot be read (an offset out of range) gets an `error`; the others are answered. Fetch each partition again from its `nextOffset`.',
      request: {
        params: TopicParams,
        body: {
          required: true,
          content: { 'application/json': { schema: FetchManyRequestSchema } },
        },
      },
      responses: {
        200: jsonContent(FetchManyResponseSchema, 'One answer per partition, in request order'),
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      const topic = pathParam(c, 'topic');
      const node = await readApplicationJson(c.req.raw, api.maxBodyBytes);
      const request = validateJson(FetchManyRequestSchema, node, 'fetch request');
      const waitMs = checkedWait(request.waitMs, api.maxWaitMs);
      const formats = fetchFormats(request);
      const json = recordJson(formats);
      const results = await fetchManyWithWait(
        api.broker,
        {
          topic,
          partitions: request.partitions,
          ...withDefined('maxBytes', request.maxBytes),
          ...withDefined('maxRecords', request.maxRecords),
          sizeOf: json.sizeOf,
        },
        waitMs,
        c.req.raw.signal,
      );
      const body = {
        topic,
        partitions: results.map((result) =>
          'error' in result
            ? { partition: result.partition, error: errorBody(result.error) }
            : partitionJson(result, json.of),
        ),
      };
      return c.body(responseText(body, formats), 200, { 'content-type': 'application/json' });
    },
  );
}

/**
 * What a fetch answer may weigh: a Lambda response is at most 6 MB (6291456 bytes), and
 * API Gateway's envelope (status, headers, the body escaped into a JSON string) needs some
 * of it. The budgets keep answers far below this (maxBytes is at most 4 MiB, a record at
 * most 4 MiB, under 5.6 MB as base64); only a single record whose text grows on the way
 * into JSON (control characters escaped six-fold) can reach it.
 */
export const MAX_RESPONSE_BYTES = 6_000_000;

/** The JSON text of a fetch answer, refused when it could not pass through Lambda. */
function responseText(
  body: unknown,
  formats: { key: DataFormat; value: DataFormat; header: HeaderFormat },
): string {
  const text = stringifyWithRaw(body);
  const size = Buffer.byteLength(text);
  if (size > MAX_RESPONSE_BYTES) {
    const hint =
      formats.key === 'base64' && formats.value === 'base64' && formats.header === 'base64'
        ? ''
        : ': fetch it with format=base64 and headerFormat=base64, which takes at most 4/3 of the bytes';
    throw new EventLogError(
      'INVALID_REQUEST',
      `The answer would be ${size} bytes of JSON, over the ${MAX_RESPONSE_BYTES} a response may hold (a record escaped in the chosen formats)${hint}`,
      { details: { size, limit: MAX_RESPONSE_BYTES } },
    );
  }
  return text;
}

/** One partition's part of a fetch answer, each record as `jsonOf` shows it. */
function partitionJson(result: FetchResult, jsonOf: (record: FetchedRecord) => unknown) {
  return {
    partition: result.partition,
    records: result.records.map(jsonOf),
    nextOffset: result.nextOffset,
    highWatermark: result.highWatermark,
    logStartOffset: result.logStartOffset,
  };
}

/** A long poll's wait: 0 unless asked, at most the API's limit. */
function checkedWait(waitMs: number | undefined, limit: number): number {
  const wait = waitMs ?? 0;
  if (wait > limit) {
    throw new EventLogError('INVALID_REQUEST', `waitMs must be at most ${limit}, got ${wait}`, {
      details: { limit },
    });
  }
  return wait;
}

/** How a fetch shows keys, values and header values: each its own format, else `format`. */
function fetchFormats(asked: {
  format?: DataFormat | undefined;
  keyFormat?: DataFormat | undefined;
  valueFormat?: DataFormat | undefined;
  headerFormat?: HeaderFormat | undefined;
}): { key: DataFormat; value: DataFormat; header: HeaderFormat } {
  return {
    key: asked.keyFormat ?? asked.format ?? 'string',
    value: asked.valueFormat ?? asked.format ?? 'string',
    header: asked.headerFormat ?? 'string',
  };
}

/** The producer fields of a request: all three, or none. */
function idempotentProducer(request: {
  producerId?: number | undefined;
  producerEpoch?: number | undefined;
  baseSequences?: Record<string, number> | undefined;
}): { producer?: IdempotentProducer } {
  const { producerId, producerEpoch, baseSequences } = request;
  if (producerId === undefined && producerEpoch === undefined && baseSequences === undefined) {
    return {};
  }
  if (producerId === undefined || producerEpoch === undefined || baseSequences === undefined) {
    throw new EventLogError(
      'INVALID_REQUEST',
      'An idempotent produce request carries producerId, producerEpoch and baseSequences together',
    );
  }
  return { producer: { producerId, producerEpoch, baseSequences } };
}

interface RecordOptions {
  key: DataFormat;
  value: DataFormat;
  header: HeaderFormat;
  partition: number | undefined;
  timestamp: number | undefined;
}

function toProduceRecord(node: JsonNode | undefined, i: number, f: RecordOptions): ProduceRecord {
  const headersNode = member(node, 'headers');
  const headers =
    headersNode?.kind === 'array'
      ? headersNode.items.map((header) => {
          const keyNode = member(header, 'key');
          const key = keyNode?.kind === 'string' ? keyNode.value : '';
          return {
            key,
            value: encodeData(member(header, 'value'), f.header, {
              record: i,
              field: 'header',
              header: key,
            }),
          };
        })
      : [];
  return {
    key: encodeData(member(node, 'key'), f.key, { record: i, field: 'key' }),
    value: encodeData(member(node, 'value'), f.value, { record: i, field: 'value' }),
    headers,
    ...withDefined('partition', f.partition),
    ...withDefined('timestamp', f.timestamp),
  };
}

function produceJson(result: ProduceResult) {
  const failed = result.records.filter((r) => r.error !== undefined);
  // Every record failed: answer with the error itself, so a client that only reads the status
  // sees the failure (and retries when it is retriable).
  // A failure that must not be retried (its batch may have been written) is the one to
  // answer with, so that a client retrying on `retriable` does not write twice.
  const answer = failed.find((r) => r.error?.retriable === false) ?? failed[0];
  if (failed.length === result.records.length && answer?.error !== undefined) {
    throw answer.error;
  }
  return {
    topic: result.topic,
    records: result.records.map((r) =>
      r.error === undefined
        ? { partition: r.partition, offset: r.offset, timestamp: r.timestamp }
        : { partition: r.partition, error: errorBody(r.error) },
    ),
  };
}

/**
 * Each fetched record turned into its JSON once: measured against maxBytes (so the budget
 * holds for the body sent), then sent.
 */
function recordJson(formats: { key: DataFormat; value: DataFormat; header: HeaderFormat }) {
  const done = new Map<FetchedRecord, ReturnType<typeof fetchedJson>>();
  const of = (record: FetchedRecord) => {
    let json = done.get(record);
    if (json === undefined) {
      json = fetchedJson(record, formats);
      done.set(record, json);
    }
    return json;
  };
  return { of, sizeOf: (record: FetchedRecord) => encodedSize(of(record)) };
}

/** Bytes a record takes in the answer's JSON, separator included. */
export function encodedSize(json: unknown): number {
  return Buffer.byteLength(stringifyWithRaw(json)) + 1;
}

export function fetchedJson(
  record: FetchedRecord,
  formats: { key: DataFormat; value: DataFormat; header: HeaderFormat },
) {
  const { offset } = record;
  return {
    offset,
    timestamp: record.timestamp,
    timestampType: record.timestampType,
    key: decodeData(record.key, formats.key, { offset, field: 'key' }),
    value: decodeData(record.value, formats.value, { offset, field: 'value' }),
    headers: record.headers.map((h) => ({
      key: h.key,
      value: decodeData(h.value, formats.header, { offset, field: 'header', header: h.key }),
    })),
  };
}
