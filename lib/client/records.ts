import { EventLogError } from '../log/errors.js';

/**
 * How the SDK writes records into a produce request (`POST /v1/topics/{topic}/records`).
 * Records hold bytes; the request says per key and value how its JSON stands for them:
 *
 * | given                      | sent as                | stored bytes                          |
 * | -------------------------- | ---------------------- | ------------------------------------- |
 * | a string                   | `string`               | its UTF-8                             |
 * | a Uint8Array (a Buffer)    | `base64`               | the bytes                             |
 * | RawJson (`rawJson(text)`)  | `json`, text spliced   | the compact form of that JSON text    |
 * | a number, boolean, object, array | `json`           | its compact JSON                      |
 * | null or undefined          | null                   | a null key or value                   |
 *
 * So a string is never quoted: to store the JSON string `"abc"` (with quotes), pass
 * `rawJson('"abc"')`. RawJson keeps numbers exactly as written (`1.0`, 2^63), which
 * JSON.parse followed by JSON.stringify would not.
 */

export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text to store as given (validated by the server, stored in compact form). */
export function rawJson(text: string): RawJson {
  return new RawJson(text);
}

export type RecordData = string | Uint8Array | RawJson | null | undefined | JsonValue;
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

export type HeaderValue = string | Uint8Array | null;

export interface ProducerRecord {
  key?: RecordData;
  value?: RecordData;
  /** Names may repeat in the array form, as in Kafka. */
  headers?: Record<string, HeaderValue> | { key: string; value: HeaderValue }[];
  /** Explicit partition; otherwise the key decides (Kafka's murmur2), else records are spread. */
  partition?: number;
  /** CreateTime; default: when the server receives it. */
  timestamp?: number | Date;
}

/** One record as it goes into a request: its JSON text and that text's UTF-8 size. */
export interface EncodedRecord {
  json: string;
  bytes: number;
}

/**
 * Encodes a record into its member of the request's `records` array. Header values are
 * always sent as base64 (the request has a single headerFormat), so string and binary
 * header values mix freely.
 */
export function encodeRecord(record: ProducerRecord, index = 0): EncodedRecord {
  const parts: string[] = [];
  const key = encodeData(record.key, index, 'key');
  if (key !== undefined) {
    parts.push(`"key":${key.json}`);
    if (key.format !== 'string') parts.push(`"keyFormat":"${key.format}"`);
  }
  const value = encodeData(record.value, index, 'value');
  if (value !== undefined) {
    parts.push(`"value":${value.json}`);
    if (value.format !== 'string') parts.push(`"valueFormat":"${value.format}"`);
  }
  const headers = headerList(record.headers);
  if (headers.length > 0) {
    const items = headers.map(
      (h) =>
        `{"key":${JSON.stringify(h.key)},"value":${h.value === null ? 'null' : `"${base64(h.value)}"`}}`,
    );
    parts.push(`"headers":[${items.join(',')}]`);
  }
  if (record.partition !== undefined) {
    if (!Number.isInteger(record.partition) || record.partition < 0) {
      throw invalid(index, `partition must be a non-negative integer, got ${record.partition}`);
    }
    parts.push(`"partition":${record.partition}`);
  }
  if (record.timestamp !== undefined) {
    const ms = record.timestamp instanceof Date ? record.timestamp.getTime() : record.timestamp;
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw invalid(
        index,
        `timestamp must be a time or non-negative integer ms, got ${String(record.timestamp)}`,
      );
    }
    parts.push(`"timestamp":${ms}`);
  }
  const json = `{${parts.join(',')}}`;
  return { json, bytes: Buffer.byteLength(json, 'utf8') };
}

/** The body of a produce request made of already encoded records. */
export function produceBody(records: readonly EncodedRecord[]): string {
  return `{"headerFormat":"base64","records":[${records.map((r) => r.json).join(',')}]}`;
}

/** The bytes a body of these records takes, without building it. */
export const PRODUCE_BODY_OVERHEAD = produceBody([]).length;

function encodeData(
  data: RecordData,
  index: number,
  field: 'key' | 'value',
): { json: string; format: 'string' | 'json' | 'base64' } | undefined {
  if (data === undefined || data === null) return undefined;
  if (typeof data === 'string') return { json: JSON.stringify(data), format: 'string' };
  if (data instanceof Uint8Array) {
    return { json: `"${base64(data)}"`, format: 'base64' };
  }
  if (data instanceof RawJson) {
    // Spliced into the request as it is: text that is not one JSON value would break the
    // request's own syntax, or inject members into it.
    try {
      JSON.parse(data.text);
    } catch (error) {
      throw invalid(index, `${field} is not valid JSON text: ${(error as Error).message}`);
    }
    return { json: data.text, format: 'json' };
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw invalid(index, `${field} cannot be serialized as JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw invalid(index, `${field} cannot be serialized as JSON`);
  return { json, format: 'json' };
}

function base64(data: string | Uint8Array): string {
  return typeof data === 'string'
    ? Buffer.from(data, 'utf8').toString('base64')
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

function headerList(headers: ProducerRecord['headers']): { key: string; value: HeaderValue }[] {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers;
  return Object.entries(headers).map(([key, value]) => ({ key, value }));
}

function invalid(index: number, message: string): EventLogError {
  return new EventLogError('INVALID_REQUEST', `record ${index}: ${message}`, {
    details: { record: index },
  });
}
