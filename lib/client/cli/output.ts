import { EventLogError } from '../../log/errors.js';
import type { FetchedRecord } from '../fetcher.js';

/**
 * How `eventlog consume` prints records. Keys and values are bytes; a format says how to
 * show them:
 *
 * - `string`: the bytes as UTF-8 text (bytes that are not UTF-8 are an error that says to
 *   use base64, never silently replaced characters);
 * - `json`: the bytes are JSON text, printed as that JSON (numbers exactly as stored);
 * - `base64`: always works.
 */

export const DATA_FORMATS = ['string', 'json', 'base64'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];
export const HEADER_FORMATS = ['string', 'base64'] as const;
export type HeaderFormat = (typeof HEADER_FORMATS)[number];

export interface RecordFormats {
  key: DataFormat;
  value: DataFormat;
  header: HeaderFormat;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** One JSON object: partition, offset, timestamp, key, value, headers. */
export function recordJsonLine(
  partition: number,
  record: FetchedRecord,
  formats: RecordFormats,
): string {
  const where = { partition, offset: record.offset };
  const headers = record.headers.map(
    (h) =>
      `{"key":${JSON.stringify(h.key)},"value":${dataJson(h.value, formats.header, { ...where, field: `header ${JSON.stringify(h.key)}` })}}`,
  );
  return (
    `{"partition":${partition},"offset":${record.offset},"timestamp":${record.timestamp},` +
    `"key":${dataJson(record.key, formats.key, { ...where, field: 'key' })},` +
    `"value":${dataJson(record.value, formats.value, { ...where, field: 'value' })},` +
    `"headers":[${headers.join(',')}]}`
  );
}

/**
 * kcat -J's envelope: topic, partition, offset, tstype (create or logappend), ts, broker,
 * headers (name, value, name, value…; left out when the record has none, as kcat does),
 * key, payload. There is no broker here: broker is -1, kcat's "unknown".
 */
export function recordKcatLine(
  topic: string,
  partition: number,
  record: FetchedRecord,
  formats: RecordFormats,
): string {
  const where = { partition, offset: record.offset };
  const headers = record.headers.flatMap((h) => [
    JSON.stringify(h.key),
    dataJson(h.value, formats.header, { ...where, field: `header ${JSON.stringify(h.key)}` }),
  ]);
  const tstype = record.timestampType === 'LogAppendTime' ? 'logappend' : 'create';
  return (
    `{"topic":${JSON.stringify(topic)},"partition":${partition},"offset":${record.offset},` +
    `"tstype":"${tstype}","ts":${record.timestamp},"broker":-1,` +
    (headers.length === 0 ? '' : `"headers":[${headers.join(',')}],`) +
    `"key":${dataJson(record.key, formats.key, { ...where, field: 'key' })},` +
    `"payload":${dataJson(record.value, formats.value, { ...where, field: 'value' })}}`
  );
}

/** The value alone, as text: `null` for a null value, as kafka-console-consumer prints it. */
export function recordValueLine(
  partition: number,
  record: FetchedRecord,
  format: DataFormat,
): string {
  const { value } = record;
  if (value === null) return 'null';
  const where = { partition, offset: record.offset, field: 'value' };
  switch (format) {
    case 'base64':
      return Buffer.from(value).toString('base64');
    case 'string':
      return decodeUtf8(value, where);
    case 'json':
      return jsonText(value, where);
  }
}

interface Where {
  partition: number;
  offset: number;
  field: string;
}

/** The JSON text that stands for some bytes in a format. */
export function dataJson(bytes: Uint8Array | null, format: DataFormat, where: Where): string {
  if (bytes === null) return 'null';
  switch (format) {
    case 'base64':
      return `"${Buffer.from(bytes).toString('base64')}"`;
    case 'string':
      return JSON.stringify(decodeUtf8(bytes, where));
    case 'json':
      return jsonText(bytes, where);
  }
}

function decodeUtf8(bytes: Uint8Array, where: Where): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw formatError(where, 'is not UTF-8 text', 'base64');
  }
}

function jsonText(bytes: Uint8Array, where: Where): string {
  const text = decodeUtf8(bytes, where).trim();
  try {
    JSON.parse(text);
  } catch {
    throw formatError(where, 'is not JSON', 'string or base64');
  }
  // Printed as stored, not re-serialized: JSON.stringify would turn 1.0 into 1.
  return text;
}

function formatError(where: Where, problem: string, use: string): EventLogError {
  const option =
    where.field === 'key'
      ? '--key-format'
      : where.field === 'value'
        ? '--value-format'
        : '--header-format';
  return new EventLogError(
    'INVALID_REQUEST',
    `The ${where.field} at partition ${where.partition} offset ${where.offset} ${problem}: use ${option} ${use}`,
    { details: { partition: where.partition, offset: where.offset } },
  );
}

/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'),
  );
  return cells
    .map((row) =>
      row
        .map((cell, i) =>
          numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatRate(count: number, ms: number): string {
  return ms <= 0 ? '-' : formatCount(Math.round((count * 1000) / ms));
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}
