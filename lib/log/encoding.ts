import { EventLogError } from './errors.js';
import {
  hasLoneSurrogate,
  type JsonNode,
  parseJsonText,
  someString,
  toJacksonJson,
} from './json-text.js';

/**
 * How keys, values and header values travel in JSON bodies. Records hold bytes; a request says
 * how to turn its JSON into those bytes, a fetch says how to show them:
 *
 * - `string`: a JSON string, stored as its UTF-8 bytes;
 * - `json`:   any JSON value, stored as the UTF-8 of its compact serialization, written as
 *             Confluent's JSON serializer (Jackson) writes it, so keys hash to the partition a
 *             Kafka producer would pick;
 * - `base64`: a JSON string of standard, padded base64 (RFC 4648 section 4), stored decoded.
 *
 * JSON null (or leaving the field out) is a null key or value in every format, as in Confluent.
 */

export const DATA_FORMATS = ['string', 'json', 'base64'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export const HEADER_FORMATS = ['string', 'base64'] as const;
export type HeaderFormat = (typeof HEADER_FORMATS)[number];

/** Where a piece of data sits in a request, for error messages and Confluent's 42201/42202. */
export interface DataLocation {
  /** Index of the record in the request. */
  record: number;
  field: 'key' | 'value' | 'header';
  /** Header name, for header values. */
  header?: string;
}

function where(location: DataLocation): string {
  const field = location.field === 'header' ? `header "${location.header ?? ''}"` : location.field;
  return `Record ${location.record}: ${field}`;
}

function invalid(location: DataLocation, reason: string): EventLogError {
  return new EventLogError('INVALID_REQUEST', `${where(location)} ${reason}`, {
    details: {
      record: location.record,
      field: location.field,
      ...(location.header === undefined ? {} : { header: location.header }),
    },
  });
}

/**
 * Strict base64: only the standard alphabet, padding required and only at the end, and unused
 * bits zero (so each byte string has exactly one accepted spelling). Node's decoder silently
 * skips what it does not understand and also takes the URL-safe alphabet, which would store
 * bytes the client never meant; its encoder is canonical, so a round trip that gives the same
 * text back accepts exactly the canonical spellings.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** The bytes a request's JSON stands for, or null for a null key or value. */
export function encodeData(
  node: JsonNode | undefined,
  format: DataFormat,
  location: DataLocation,
): Buffer | null {
  if (node === undefined || node.kind === 'null') return null;
  switch (format) {
    case 'string':
      if (node.kind !== 'string') {
        throw invalid(location, `must be a JSON string in the "string" format, got ${node.kind}`);
      }
      return utf8(node.value, location);
    case 'base64': {
      if (node.kind !== 'string') {
        throw invalid(location, `must be a base64 string in the "base64" format, got ${node.kind}`);
      }
      const bytes = decodeBase64Strict(node.value);
      if (bytes === undefined) {
        throw invalid(
          location,
          'is not valid base64: use the standard alphabet (A-Z, a-z, 0-9, +, /) with = padding to a multiple of 4 characters',
        );
      }
      return bytes;
    }
    case 'json':
      if (someString(node, hasLoneSurrogate)) {
        throw invalid(location, 'contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode');
      }
      try {
        return Buffer.from(toJacksonJson(node), 'utf8');
      } catch (error) {
        throw invalid(location, error instanceof Error ? error.message : String(error));
      }
  }
}

function utf8(text: string, location: DataLocation): Buffer {
  if (hasLoneSurrogate(text)) {
    throw invalid(location, 'contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode');
  }
  return Buffer.from(text, 'utf8');
}

/** Raw JSON text to splice into a response as is, so numbers and member order survive. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Where a piece of fetched data sits, for error messages. */
export interface FetchedLocation {
  offset: number;
  field: 'key' | 'value' | 'header';
  header?: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Shows stored bytes in the asked format; fails when they are not valid in that format. */
export function decodeData(
  bytes: Uint8Array | null,
  format: DataFormat,
  location: FetchedLocation,
): string | RawJson | null {
  if (bytes === null) return null;
  if (format === 'base64')
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const what =
    location.field === 'header' ? `header "${location.header ?? ''}"` : `${location.field}`;
  const option = location.field === 'header' ? 'headerFormat' : `${location.field}Format`;
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new EventLogError(
      'INVALID_REQUEST',
      `The ${what} of the record at offset ${location.offset} is not valid UTF-8, so it cannot be shown in the "${format}" format; fetch it with ${option}=base64`,
      { details: { offset: location.offset, field: `${location.field}Format` } },
    );
  }
  if (format === 'string') return text;
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    parseJsonText(json);
  } catch {
    throw new EventLogError(
      'INVALID_REQUEST',
      `The ${what} of the record at offset ${location.offset} is not JSON, so it cannot be shown in the "json" format; fetch it with ${option}=string or base64`,
      { details: { offset: location.offset, field: `${location.field}Format` } },
    );
  }
  return new RawJson(json.trim());
}

/**
 * JSON.stringify, except that RawJson values are written as their text. Only plain objects,
 * arrays and primitives are expected (the fetch response).
 */
export function stringifyWithRaw(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(stringifyWithRaw).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts: string[] = [];
    for (const [name, member] of Object.entries(value)) {
      if (member === undefined) continue;
      parts.push(`${JSON.stringify(name)}:${stringifyWithRaw(member)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
