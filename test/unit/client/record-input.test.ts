import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  formatFromFileName,
  keyFromLine,
  parseRecordLine,
  readLines,
} from '../../../lib/client/cli/record-input.js';
import { RawJson } from '../../../lib/client/records.js';
import { EventLogError } from '../../../lib/log/errors.js';

describe('parseRecordLine, lines', () => {
  it('makes each line a value, an empty line an empty value, and drops a CR', () => {
    expect(parseRecordLine('hello', 1, { format: 'lines' })).toEqual({ value: 'hello' });
    expect(parseRecordLine('', 2, { format: 'lines' })).toEqual({ value: '' });
    expect(parseRecordLine('crlf\r', 3, { format: 'lines' })).toEqual({ value: 'crlf' });
  });

  it('adds a fixed key, partition and headers', () => {
    expect(
      parseRecordLine('v', 1, { format: 'lines', key: 'k', partition: 2, headers: { h: '1' } }),
    ).toEqual({ key: 'k', value: 'v', partition: 2, headers: { h: '1' } });
  });

  it('splits key and value at the first separator', () => {
    expect(parseRecordLine('user-1:a:b', 1, { format: 'lines', keySeparator: ':' })).toEqual({
      key: 'user-1',
      value: 'a:b',
    });
    expect(() => parseRecordLine('nokey', 7, { format: 'lines', keySeparator: ':' })).toThrow(
      /line 7: no key separator/,
    );
  });
});

describe('parseRecordLine, jsonl', () => {
  it('sends the JSON text as it is, and skips blank lines', () => {
    const record = parseRecordLine(' {"n": 1.0} ', 1, { format: 'jsonl' });
    expect(record?.value).toBeInstanceOf(RawJson);
    expect((record?.value as RawJson | undefined)?.text).toBe('{"n": 1.0}');
    expect(parseRecordLine('   ', 2, { format: 'jsonl' })).toBeUndefined();
  });

  it('names the line of invalid JSON', () => {
    const error = catchError(() => parseRecordLine('{"a":', 12, { format: 'jsonl' }));
    expect(error).toBeInstanceOf(EventLogError);
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/^line 12: not JSON/);
    expect(error.details).toEqual({ line: 12 });
  });

  it('takes the key from a field', () => {
    const record = parseRecordLine('{"id":"customer-42","item":"book"}', 1, {
      format: 'jsonl',
      keyField: 'id',
    });
    expect(record?.key).toBe('customer-42');
    expect((record?.value as RawJson | undefined)?.text).toBe('{"id":"customer-42","item":"book"}');
  });
});

describe('keyFromLine', () => {
  it('keeps a string as its text and writes other JSON compactly, as Jackson does', () => {
    expect(keyFromLine('{"id":"abc"}', 1, 'id')).toBe('abc');
    expect(keyFromLine('{"id":42}', 1, 'id')).toBe('42');
    expect(keyFromLine('{"id":true}', 1, 'id')).toBe('true');
    expect(keyFromLine('{"id":{ "b" : 1, "a" : [1, 2] }}', 1, 'id')).toBe('{"b":1,"a":[1,2]}');
  });

  it('keeps the digits of integers past 2^53 and the form of doubles', () => {
    expect(keyFromLine('{"id":12345678901234567890}', 1, 'id')).toBe('12345678901234567890');
    expect(keyFromLine('{"id":1.0}', 1, 'id')).toBe('1.0');
  });

  it('reaches nested fields with dots, preferring a member literally named so', () => {
    expect(keyFromLine('{"user":{"id":"u1"}}', 1, 'user.id')).toBe('u1');
    expect(keyFromLine('{"user.id":"flat","user":{"id":"nested"}}', 1, 'user.id')).toBe('flat');
  });

  it('makes null a null key, and refuses a missing field or a non-object', () => {
    expect(keyFromLine('{"id":null}', 1, 'id')).toBeNull();
    expect(() => keyFromLine('{"ID":1}', 3, 'id')).toThrow('line 3: no field "id"');
    expect(() => keyFromLine('[1,2]', 4, 'id')).toThrow(/line 4: not a JSON object/);
    expect(() => keyFromLine('{"id":1', 5, 'id')).toThrow(/line 5: not JSON/);
  });
});

describe('readLines', () => {
  it('numbers lines, drops a BOM and CRLF, and yields no empty last line', async () => {
    const input = Readable.from([Buffer.from('\uFEFFone\r\ntwo\n\nthr'), Buffer.from('ee\n')]);
    const lines = [];
    for await (const line of readLines(input)) lines.push(line);
    expect(lines).toEqual([
      { text: 'one', line: 1 },
      { text: 'two', line: 2 },
      { text: '', line: 3 },
      { text: 'three', line: 4 },
    ]);
  });
});

describe('readLines with a signal', () => {
  it('ends without an error when the signal aborts, also while waiting for input', async () => {
    const input = new Readable({ read() {} });
    input.push('first\n');
    const controller = new AbortController();
    const lines: string[] = [];
    const reading = (async () => {
      for await (const { text } of readLines(input, controller.signal)) lines.push(text);
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await reading;
    expect(lines).toEqual(['first']);
  });
});

describe('formatFromFileName', () => {
  it('knows JSON lines by their extension', () => {
    expect(formatFromFileName('data.jsonl')).toBe('jsonl');
    expect(formatFromFileName('DATA.NDJSON')).toBe('jsonl');
    expect(formatFromFileName('data.txt')).toBeUndefined();
    expect(formatFromFileName(undefined)).toBeUndefined();
  });
});

function catchError(fn: () => unknown): EventLogError {
  try {
    fn();
  } catch (error) {
    return error as EventLogError;
  }
  throw new Error('no error thrown');
}
