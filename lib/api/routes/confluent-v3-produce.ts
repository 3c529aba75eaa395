import type { Context } from 'hono';
import type { ProduceRecord, RecordResult } from '../../broker/produce.js';
import { TopicService } from '../../broker/topics.js';
import { type DataFormat, encodeData } from '../../log/encoding.js';
import { EventLogError, toEventLogError } from '../../log/errors.js';
import { parseIsoDateTime } from '../../log/iso-date-time.js';
import { element, type JsonNode, member, parseJsonText } from '../../log/json-text.js';
import type { TopicRecord } from '../../store/topic-store.js';
import { readJsonBody, requireMediaType, validateJson } from '../body.js';
import {
  V3ProduceBatchRequestSchema,
  V3ProduceBatchResponseSchema,
  V3ProduceRecordSchema,
  V3TopicParams,
} from '../confluent-schemas.js';
import { errorBody } from '../error-mapping.js';
import { withDefined } from '../params.js';
import { streamedAnswer } from '../response-check.js';
import { type ApiApp, type ApiContext, defineRoute } from '../route.js';
import { bodyErrorResponses, jsonContent } from '../schemas.js';

/**
 * Confluent v3 produce beyond one request of records: `records:batch` (entries with ids, a
 * 207 with successes and failures), and the streaming mode of `records` (a chunked request
 * of concatenated records, answered with a delivery report per record as each is written).
 */

/** What a v3 data type means for the bytes; schema-registry types are not supported. */
const V3_TYPES: Record<string, DataFormat> = { BINARY: 'base64', JSON: 'json', STRING: 'string' };

/** Entries per records:batch request (Confluent: api.v3.produce.batch.maximum.entries). */
export const BATCH_MAXIMUM_ENTRIES = 1000;
/** Confluent's BATCH_ID_MINIMUM_LENGTH and BATCH_ID_MAXIMUM_LENGTH. */
const BATCH_ID_LENGTH = { min: 1, max: 80 } as const;

export interface ParsedV3Record {
  record: ProduceRecord;
  /** The key's and value's type as sent, echoed in the delivery report. */
  key: string | undefined;
  value: string | undefined;
}

export function parseV3Record(node: JsonNode, i: number): ParsedV3Record {
  const request = validateJson(V3ProduceRecordSchema, node, `record ${i}`);
  const key = v3Data(member(node, 'key'), i, 'key');
  const value = v3Data(member(node, 'value'), i, 'value');
  const headers = (request.headers ?? []).map((h, j) => ({
    key: h.name,
    value: encodeData(member(element(member(node, 'headers'), j), 'value'), 'base64', {
      record: i,
      field: 'header',
      header: h.name,
    }),
  }));
  let timestamp: number | undefined;
  if (request.timestamp !== undefined && request.timestamp !== null) {
    timestamp = parseIsoDateTime(request.timestamp);
    if (timestamp === undefined) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `Record ${i}: timestamp must be an ISO-8601 date-time such as 2021-02-05T19:14:42Z, got ${request.timestamp}`,
        { details: { record: i } },
      );
    }
  }
  return {
    record: {
      key: key.bytes,
      value: value.bytes,
      headers,
      ...withDefined('partition', request.partition_id ?? undefined),
      ...withDefined('timestamp', timestamp),
    },
    key: key.type,
    value: value.type,
  };
}

function v3Data(
  node: JsonNode | undefined,
  record: number,
  field: 'key' | 'value',
): { bytes: Buffer | null; type: string | undefined } {
  if (node === undefined || node.kind === 'null') return { bytes: null, type: undefined };
  const typeNode = member(node, 'type');
  const type = typeNode?.kind === 'string' ? typeNode.value.toUpperCase() : undefined;
  const format = type === undefined ? undefined : V3_TYPES[type];
  if (format === undefined) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `Record ${record}: ${field}.type must be BINARY, JSON or STRING${type === undefined ? '' : `, got ${type}`} (schema registry formats are not supported)`,
      { details: { record, field } },
    );
  }
  return { bytes: encodeData(member(node, 'data'), format, { record, field }), type };
}

/** A record's delivery report, as Confluent writes it: error_code 200 and where it went. */
export function deliveryReport(
  clusterId: string,
  topic: string,
  parsed: ParsedV3Record,
  result: RecordResult,
): Record<string, unknown> {
  if (result.error !== undefined) return errorBody(result.error);
  const { record, key, value } = parsed;
  return {
    error_code: 200,
    cluster_id: clusterId,
    topic_name: topic,
    partition_id: result.partition,
    offset: result.offset,
    timestamp: new Date(result.timestamp).toISOString(),
    ...(key === undefined ? {} : { key: { type: key, size: record.key?.byteLength ?? -1 } }),
    ...(value === undefined
      ? {}
      : { value: { type: value, size: record.value?.byteLength ?? -1 } }),
  };
}

/**
 * Confluent's streaming mode: a request sent with Transfer-Encoding: chunked (no
 * Content-Length). Only the local server and long-running hosts see a body while it is
 * still arriving; behind Lambda's front door the body is whole before the function runs.
 */
export function isStreamingRequest(request: Request): boolean {
  const encoding = request.headers.get('transfer-encoding') ?? '';
  return (
    encoding.toLowerCase().includes('chunked') && request.headers.get('content-length') === null
  );
}

type Pending = { parsed: ParsedV3Record } | { error: EventLogError };

/**
 * Reads records from a chunked body as they arrive and writes each one's delivery report
 * (CRLF after each) as soon as it is written. Records that arrive while a write is out go
 * together into the next write, so a fast sender gets batches and a slow one gets a report
 * per record. A record that is not valid gets its own error report and the others go on (in
 * streaming mode there is no "whole request" to reject); a body that is not a sequence of
 * JSON objects ends the stream after an error report.
 */
export function streamV3Records(
  api: ApiContext,
  topic: TopicRecord,
  request: Request,
  produce: (records: ProduceRecord[]) => Promise<{ topic: string; records: RecordResult[] }>,
): Response {
  requireMediaType(request, ['application/json']);
  const source = request.body;
  if (source === null) throw new EventLogError('INVALID_REQUEST', 'The request has no body');
  const queue: Pending[] = [];
  let wake: (() => void) | undefined;
  let reading = true;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const splitter = new JsonObjectSplitter(api.maxBodyBytes);
  let index = 0;
  const read = async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of source as unknown as AsyncIterable<Uint8Array>) {
        for (const item of splitter.push(decoder.decode(chunk, { stream: true }))) {
          queue.push(toPending(item, index++, topic));
        }
        notify();
        if (splitter.failed) break;
      }
      if (!splitter.failed) {
        const rest = splitter.end();
        if (rest !== undefined) queue.push({ error: rest });
      }
    } catch (error) {
      queue.push({ error: toEventLogError(error) });
    } finally {
      reading = false;
      notify();
    }
  };
  const encoder = new TextEncoder();
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    // The client went away: what it sent is still written, no report can reach it.
    cancel: () => {
      cancelled = true;
    },
    start: async (controller) => {
      const reading$ = read();
      while (reading || queue.length > 0) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          continue;
        }
        const items = queue.splice(0);
        const reports = await writeAll(items, produce, api.clusterId, topic.name);
        if (!cancelled) {
          controller.enqueue(
            encoder.encode(reports.map((r) => `${JSON.stringify(r)}\r\n`).join('')),
          );
        }
      }
      await reading$;
      if (!cancelled) controller.close();
    },
  });
  return streamedAnswer(
    new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }),
  );
}

function toPending(item: string | EventLogError, i: number, topic: TopicRecord): Pending {
  if (item instanceof EventLogError) return { error: item };
  try {
    return { parsed: checked(parseV3Record(parseJsonText(item), i), topic) };
  } catch (error) {
    return { error: toEventLogError(error) };
  }
}

async function writeAll(
  items: Pending[],
  produce: (records: ProduceRecord[]) => Promise<{ topic: string; records: RecordResult[] }>,
  clusterId: string,
  topic: string,
): Promise<Record<string, unknown>[]> {
  const valid = items.flatMap((item) => ('parsed' in item ? [item.parsed] : []));
  let results: RecordResult[] = [];
  let failure: EventLogError | undefined;
  if (valid.length > 0) {
    try {
      results = (await produce(valid.map((p) => p.record))).records;
    } catch (error) {
      failure = toEventLogError(error);
    }
  }
  let next = 0;
  return items.map((item) => {
    if ('error' in item) return errorBody(item.error);
    if (failure !== undefined) return errorBody(failure);
    return deliveryReport(clusterId, topic, item.parsed, results[next++] as RecordResult);
  });
}

/**
 * Splits text arriving in pieces into top-level JSON objects (concatenated or separated by
 * whitespace), tracking strings and nesting only: each object's text is then parsed whole.
 */
class JsonObjectSplitter {
  private pending = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Scan position in `pending`. */
  private at = 0;
  failed = false;

  constructor(private readonly maxRecordBytes: number) {}

  /** The objects completed by this piece, and an error that ends the stream. */
  push(text: string): (string | EventLogError)[] {
    const out: (string | EventLogError)[] = [];
    this.pending += text;
    const s = this.pending;
    let start = 0;
    for (let i = this.at; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff) {
          start = i + 1;
          continue;
        }
        if (c !== 0x7b) {
          this.failed = true;
          out.push(
            new EventLogError(
              'INVALID_REQUEST',
              `Expected a JSON object per record, got ${JSON.stringify(s.slice(i, i + 20))}`,
            ),
          );
          return out;
        }
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          out.push(s.slice(start, i + 1));
          start = i + 1;
        }
      }
    }
    this.pending = s.slice(this.depth === 0 ? s.length : start);
    this.at = this.pending.length;
    if (this.depth > 0 && Buffer.byteLength(this.pending) > this.maxRecordBytes) {
      this.failed = true;
      out.push(
        new EventLogError(
          'REQUEST_TOO_LARGE',
          `A record is larger than ${this.maxRecordBytes} bytes`,
        ),
      );
    }
    return out;
  }

  /** At the end of the body: an error when an object was left open. */
  end(): EventLogError | undefined {
    return this.depth > 0
      ? new EventLogError('INVALID_REQUEST', 'The body ended inside a record')
      : undefined;
  }
}

/**
 * POST /v3/clusters/{cluster_id}/topics/{topic_name}/records:batch, Confluent's shape:
 * `{"entries": [{"id": "1", ...record}]}` answered 207 with `successes` (each a delivery
 * report with its id) and `failures` (`id`, `error_code`, `message`). Each entry stands
 * alone, as in Confluent: a bad entry fails, the others are written (in one request here).
 */
export function registerV3BatchRoute(
  app: ApiApp,
  api: ApiContext,
  checkCluster: (c: Context) => void,
  produce: (
    c: Context,
    records: ProduceRecord[],
  ) => Promise<{ topic: string; records: RecordResult[] }>,
): void {
  defineRoute(
    app,
    {
      method: 'post',
      path: '/v3/clusters/{cluster_id}/topics/{topic_name}/records:batch',
      tags: ['Confluent v3'],
      summary: 'Produce a batch of records, each with an id (Confluent records:batch)',
      description: `Up to ${BATCH_MAXIMUM_ENTRIES} entries with distinct ids (1-${BATCH_ID_LENGTH.max} characters). Answers 207 Multi-Status: an entry that is not valid, or whose partition failed, is in failures; the others are written together and are in successes.`,
      request: {
        params: V3TopicParams,
        body: {
          required: true,
          content: { 'application/json': { schema: V3ProduceBatchRequestSchema } },
        },
      },
      responses: {
        207: jsonContent(V3ProduceBatchResponseSchema, 'Successes and failures, by entry id'),
        ...bodyErrorResponses,
      },
    },
    async (c) => {
      checkCluster(c);
      const topic = c.req.param('topic_name') ?? '';
      const node = await readJsonBody(c.req.raw, {
        accepted: ['application/json'],
        limit: api.maxBodyBytes,
      });
      const entries = member(node, 'entries');
      if (entries?.kind !== 'array') {
        throw new EventLogError('INVALID_REQUEST', 'The body must be {"entries": [...]}');
      }
      if (entries.items.length === 0) {
        throw new EventLogError('INVALID_REQUEST', 'The batch holds no entries');
      }
      if (entries.items.length > BATCH_MAXIMUM_ENTRIES) {
        throw new EventLogError(
          'INVALID_REQUEST',
          `The batch holds ${entries.items.length} entries; at most ${BATCH_MAXIMUM_ENTRIES}`,
        );
      }
      const described = await api.broker.topics.get(topic);
      const ids = entries.items.map((entry, i) => entryId(entry, i));
      if (new Set(ids).size !== ids.length) {
        throw new EventLogError('INVALID_REQUEST', 'The ids of the entries are not distinct');
      }
      const parsed = entries.items.map((entry, i) => {
        try {
          return checked(withoutId(entry, i), described);
        } catch (error) {
          return toEventLogError(error);
        }
      });
      const valid = parsed.flatMap((p) => (p instanceof EventLogError ? [] : [p]));
      const result =
        valid.length === 0
          ? { topic, records: [] }
          : await produce(
              c,
              valid.map((p) => p.record),
            );
      const successes: Record<string, unknown>[] = [];
      const failures: Record<string, unknown>[] = [];
      let next = 0;
      parsed.forEach((p, i) => {
        const id = ids[i] as string;
        const report =
          p instanceof EventLogError
            ? errorBody(p)
            : deliveryReport(
                api.clusterId,
                result.topic,
                p,
                result.records[next++] as RecordResult,
              );
        if (report['error_code'] === 200) successes.push({ id, ...report });
        else failures.push({ id, error_code: report['error_code'], message: report['message'] });
      });
      return c.json({ successes, failures }, 207);
    },
  );
}

/**
 * A record whose partition the topic lacks fails alone: the produce service refuses a whole
 * request for one such record, and here each record stands alone.
 */
function checked(parsed: ParsedV3Record, topic: TopicRecord): ParsedV3Record {
  if (parsed.record.partition !== undefined) {
    TopicService.checkPartition(topic, parsed.record.partition);
  }
  return parsed;
}

function entryId(entry: JsonNode, i: number): string {
  const id = member(entry, 'id');
  const text = id?.kind === 'string' ? id.value : id?.kind === 'number' ? id.raw : undefined;
  if (
    text === undefined ||
    text.length < BATCH_ID_LENGTH.min ||
    text.length > BATCH_ID_LENGTH.max
  ) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `Entry ${i}: id must be a string of ${BATCH_ID_LENGTH.min} to ${BATCH_ID_LENGTH.max} characters`,
      { details: { entry: i } },
    );
  }
  return text;
}

function withoutId(entry: JsonNode, i: number): ParsedV3Record {
  if (entry.kind !== 'object') {
    throw new EventLogError('INVALID_REQUEST', `Entry ${i} is not a JSON object`);
  }
  const members = new Map(entry.members);
  members.delete('id');
  return parseV3Record({ kind: 'object', members }, i);
}
