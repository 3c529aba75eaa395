import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { EventLogError } from '../../log/errors.js';
import { type JsonNode, member, parseJsonText, toJacksonJson } from '../../log/json-text.js';
import { type ProducerRecord, RawJson } from '../records.js';

/**
 * Records from text input, one per line, for `eventlog produce`:
 *
 * - `lines`: each line is a value, stored as its UTF-8 bytes. An empty line is an empty
 *   value, as kafka-console-producer sends it. With a key separator, the text before its
 *   first occurrence is the key.
 * - `jsonl`: each line is one JSON value, stored as JSON (compact). Blank lines are
 *   skipped. With a key field, the key is that member of the line's object: a string as
 *   its text, any other JSON as its compact JSON (so `"id": 42` and `"id": "42"` make the
 *   same key). A field that is null makes a null key; a missing one is an error, so that a
 *   misspelt field name cannot silently send everything without a key.
 *
 * A trailing CR (CRLF files) is dropped, and a UTF-8 byte order mark before the first line.
 */

export type InputFormat = 'lines' | 'jsonl' | 'json';

export interface InputOptions {
  format: InputFormat;
  /** The same key for every record. */
  key?: string;
  /** jsonl: the member holding the key; `a.b` reaches into nested objects. */
  keyField?: string;
  /** lines: key and value are split at the first occurrence of this. */
  keySeparator?: string;
  partition?: number;
  headers?: Record<string, string>;
  /** kcat -Z: an empty value is sent as null (lines). */
  emptyAsNull?: boolean;
}

/**
 * The record one line stands for, or undefined when the line holds none (a blank jsonl line).
 * Throws INVALID_REQUEST naming the line.
 */
export function parseRecordLine(
  text: string,
  lineNumber: number,
  options: InputOptions,
): ProducerRecord | undefined {
  const line = text.endsWith('\r') ? text.slice(0, -1) : text;
  let key: string | null | undefined = options.key;
  let value: string | RawJson;
  if (options.format === 'lines') {
    value = line;
    if (options.keySeparator !== undefined) {
      const at = line.indexOf(options.keySeparator);
      if (at < 0) {
        throw lineError(lineNumber, `no key separator ${JSON.stringify(options.keySeparator)}`);
      }
      key = line.slice(0, at);
      value = line.slice(at + options.keySeparator.length);
    }
    if (options.emptyAsNull === true && value === '') {
      return { ...recordOf(key, null, options) };
    }
  } else {
    const trimmed = line.trim();
    if (trimmed === '') return undefined;
    if (options.keyField === undefined) {
      // JSON.parse is several times faster than the tree reader; enough for validation.
      try {
        JSON.parse(trimmed);
      } catch (error) {
        throw lineError(lineNumber, `not JSON: ${(error as Error).message}`);
      }
    } else {
      key = keyFromLine(trimmed, lineNumber, options.keyField);
    }
    value = new RawJson(trimmed);
  }
  return recordOf(key, value, options);
}

function recordOf(
  key: string | null | undefined,
  value: string | RawJson | null,
  options: InputOptions,
): ProducerRecord {
  return {
    ...(key === undefined ? {} : { key }),
    value,
    ...(options.partition === undefined ? {} : { partition: options.partition }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  };
}

/**
 * The key a JSON line's field holds. Read with the exact JSON reader of the API, not
 * JSON.parse, so a number key keeps its digits (JSON.parse rounds past 2^53) and is written
 * as Confluent's serializer would write it: the same key bytes, the same partition.
 */
export function keyFromLine(text: string, lineNumber: number, field: string): string | null {
  let node: JsonNode;
  try {
    node = parseJsonText(text);
  } catch (error) {
    throw lineError(lineNumber, `not JSON: ${(error as Error).message}`);
  }
  if (node.kind !== 'object') {
    throw lineError(lineNumber, `not a JSON object, so it has no field "${field}"`);
  }
  // A member literally named "a.b" wins over the path a → b.
  let found = member(node, field);
  if (found === undefined && field.includes('.')) {
    let current: JsonNode | undefined = node;
    for (const part of field.split('.')) current = member(current, part);
    found = current;
  }
  if (found === undefined) throw lineError(lineNumber, `no field "${field}"`);
  if (found.kind === 'null') return null;
  return found.kind === 'string' ? found.value : toJacksonJson(found);
}

/**
 * Lines of a stream, numbered from 1, without their line ends. Ends early, without an error,
 * when `signal` aborts (Ctrl-C while reading a terminal or a pipe).
 */
export async function* readLines(
  input: Readable,
  signal?: AbortSignal,
): AsyncGenerator<{ text: string; line: number }> {
  if (signal?.aborted) return;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  // Closing the interface ends the iteration below; destroying the input would not.
  const close = () => lines.close();
  signal?.addEventListener('abort', close, { once: true });
  let line = 0;
  try {
    for await (const text of lines) {
      if (signal?.aborted) return;
      line++;
      yield { text: line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, line };
    }
  } finally {
    signal?.removeEventListener('abort', close);
    lines.close();
  }
}

/**
 * Records of a stream split at `delimiter` (kcat -D), numbered from 1. A newline delimiter
 * reads lines (CRLF too); any other splits exactly at it, and a last record without a
 * delimiter after it still counts when it is not empty.
 */
export async function* readRecords(
  input: Readable,
  delimiter: string,
  signal?: AbortSignal,
): AsyncGenerator<{ text: string; line: number }> {
  if (delimiter === '\n') {
    yield* readLines(input, signal);
    return;
  }
  input.setEncoding('utf8');
  let pending = '';
  let line = 0;
  for await (const chunk of input as AsyncIterable<string>) {
    if (signal?.aborted) return;
    pending +=
      line === 0 && pending === '' && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk;
    let at = pending.indexOf(delimiter);
    while (at >= 0) {
      yield { text: pending.slice(0, at), line: ++line };
      pending = pending.slice(at + delimiter.length);
      at = pending.indexOf(delimiter);
    }
  }
  if (pending !== '' && !signal?.aborted) yield { text: pending, line: ++line };
}

/** kcat's escapes in -D and -K: \n \r \t \\ \0 and \xNN. */
export function unescapeDelimiter(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|[nrt0\\])/g, (_, e: string) => {
    if (e.startsWith('x')) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    return ({ n: '\n', r: '\r', t: '\t', '0': '\0', '\\': '\\' } as Record<string, string>)[
      e
    ] as string;
  });
}

/** The format a file's name suggests: jsonl for .jsonl / .ndjson, else undefined. */
export function formatFromFileName(path: string | undefined): InputFormat | undefined {
  return path !== undefined && /\.(jsonl|ndjson)$/i.test(path) ? 'jsonl' : undefined;
}

function lineError(line: number, message: string): EventLogError {
  return new EventLogError('INVALID_REQUEST', `line ${line}: ${message}`, { details: { line } });
}
