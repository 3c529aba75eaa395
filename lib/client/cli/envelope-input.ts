import { EventLogError } from '../../log/errors.js';
import { element, type JsonNode, member, parseJsonText } from '../../log/json-text.js';
import { type HeaderValue, type ProducerRecord, RawJson, type RecordData } from '../records.js';
import type { DataFormat, HeaderFormat } from './output.js';

/**
 * `eventlog produce --format json`: each line is a record as `eventlog consume` prints it, so
 * that `consume | produce` copies records exactly. Two envelopes are read, told apart by
 * their members:
 *
 * - ours (`consume --format json`): partition, offset, timestamp, key, value,
 *   headers `[{"key": name, "value": v}]`;
 * - kcat's `-J` (`consume --format kcat`): topic, partition, offset, tstype, ts, broker,
 *   headers `[name, v, name, v…]` (absent when none), key, payload.
 *
 * key, value and header values are decoded with the formats consume printed them in
 * (string: the text's UTF-8 bytes; base64: the bytes; json: the JSON value, written compact).
 * null stays null; a missing key is no key. The timestamp is kept (as CreateTime, as
 * MirrorMaker keeps it); topic, partition, offset and broker are the source's and are not
 * used: the record goes where its key or --partition sends it.
 */

export interface EnvelopeFormats {
  key: DataFormat;
  value: DataFormat;
  header: HeaderFormat;
}

export function parseEnvelopeLine(
  text: string,
  line: number,
  formats: EnvelopeFormats,
): ProducerRecord | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let node: JsonNode;
  try {
    node = parseJsonText(trimmed);
  } catch (error) {
    throw envelopeError(line, `not JSON: ${(error as Error).message}`);
  }
  if (node.kind !== 'object') throw envelopeError(line, 'not a JSON object');
  const kcat = member(node, 'payload') !== undefined;
  const valueNode = member(node, kcat ? 'payload' : 'value');
  if (valueNode === undefined) {
    throw envelopeError(
      line,
      'has neither "value" (consume --format json) nor "payload" (kcat -J)',
    );
  }
  const record: ProducerRecord = { value: data(valueNode, formats.value, line, 'value') };
  const keyNode = member(node, 'key');
  if (keyNode !== undefined) record.key = data(keyNode, formats.key, line, 'key');
  const timestamp = member(node, kcat ? 'ts' : 'timestamp');
  if (timestamp !== undefined && timestamp.kind !== 'null') {
    if (timestamp.kind !== 'number' || !/^\d+$/.test(timestamp.raw)) {
      throw envelopeError(line, 'the timestamp is not ms since the epoch');
    }
    record.timestamp = Number(timestamp.raw);
  }
  const headers = member(node, 'headers');
  if (headers !== undefined && headers.kind !== 'null') {
    record.headers = kcat
      ? kcatHeaders(headers, formats.header, line)
      : ourHeaders(headers, formats.header, line);
  }
  return record;
}

function ourHeaders(
  node: JsonNode,
  format: HeaderFormat,
  line: number,
): { key: string; value: HeaderValue }[] {
  if (node.kind !== 'array') throw envelopeError(line, 'headers is not an array');
  return node.items.map((item) => {
    const name = member(item, 'key');
    if (name?.kind !== 'string') throw envelopeError(line, 'a header has no string "key"');
    const value = member(item, 'value') ?? { kind: 'null' };
    return { key: name.value, value: headerValue(value, format, line) };
  });
}

function kcatHeaders(
  node: JsonNode,
  format: HeaderFormat,
  line: number,
): { key: string; value: HeaderValue }[] {
  if (node.kind !== 'array' || node.items.length % 2 !== 0) {
    throw envelopeError(line, 'kcat headers are an array of name, value pairs');
  }
  const out: { key: string; value: HeaderValue }[] = [];
  for (let i = 0; i < node.items.length; i += 2) {
    const name = element(node, i);
    if (name?.kind !== 'string') throw envelopeError(line, 'a header name is not a string');
    out.push({
      key: name.value,
      value: headerValue(element(node, i + 1) as JsonNode, format, line),
    });
  }
  return out;
}

function headerValue(node: JsonNode, format: HeaderFormat, line: number): HeaderValue {
  // Header formats are string and base64: bytes or null.
  return data(node, format, line, 'header value') as HeaderValue;
}

function data(node: JsonNode, format: DataFormat, line: number, field: string): RecordData {
  if (node.kind === 'null') return null;
  if (format === 'json') return new RawJson(compactJson(node));
  if (node.kind !== 'string') {
    throw envelopeError(line, `the ${field} is not a string: use --${fieldOption(field)} json`);
  }
  if (format === 'string') return Buffer.from(node.value, 'utf8');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(node.value) || node.value.length % 4 !== 0) {
    throw envelopeError(line, `the ${field} is not base64`);
  }
  return Buffer.from(node.value, 'base64');
}

function fieldOption(field: string): string {
  return field === 'key' ? 'key-format' : field === 'value' ? 'value-format' : 'header-format';
}

/** JSON without whitespace, numbers as written (consume printed them as stored). */
function compactJson(node: JsonNode): string {
  switch (node.kind) {
    case 'null':
      return 'null';
    case 'boolean':
      return String(node.value);
    case 'number':
      return node.raw;
    case 'string':
      return JSON.stringify(node.value);
    case 'array':
      return `[${node.items.map(compactJson).join(',')}]`;
    case 'object':
      return `{${[...node.members].map(([k, v]) => `${JSON.stringify(k)}:${compactJson(v)}`).join(',')}}`;
  }
}

function envelopeError(line: number, message: string): EventLogError {
  return new EventLogError('INVALID_REQUEST', `line ${line}: ${message}`, { details: { line } });
}
