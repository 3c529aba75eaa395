import { describe, expect, it } from 'vitest';
import {
  decodeBase64Strict,
  decodeData,
  encodeData,
  RawJson,
  stringifyWithRaw,
} from '../../../lib/log/encoding.js';
import { EventLogError } from '../../../lib/log/errors.js';
import { parseJsonText } from '../../../lib/log/json-text.js';

const at = { record: 3, field: 'key' as const };

function caught(fn: () => unknown): EventLogError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EventLogError) return error;
    throw error;
  }
  throw new Error('expected an EventLogError');
}

describe('decodeBase64Strict', () => {
  it.each([
    ['', ''],
    ['Zg==', 'f'],
    ['Zm8=', 'fo'],
    ['Zm9v', 'foo'],
    ['Zm9vYmFy', 'foobar'],
    ['+/+/', '\u00fb\u00ff\u00bf'],
  ])('accepts %j', (text, bytes) => {
    expect(decodeBase64Strict(text)?.toString('latin1')).toBe(bytes);
  });

  it.each([
    ['Zg', 'missing padding'],
    ['Zg=', 'short padding'],
    ['Z===', 'too much padding'],
    ['=Zg=', 'padding first'],
    ['Zg==Zg==', 'padding in the middle'],
    ['Zh==', 'unused bits set'],
    ['Zm9v\n', 'a newline'],
    ['Zm 9v', 'a space'],
    ['Zm9v-_==', 'the URL-safe alphabet'],
    ['Zm9v!!==', 'characters outside the alphabet'],
  ])('rejects %j (%s)', (text) => {
    expect(decodeBase64Strict(text)).toBeUndefined();
  });
});

describe('encodeData', () => {
  const node = (json: string) => parseJsonText(json);

  it('treats null and absent as a null key in every format', () => {
    for (const format of ['string', 'json', 'base64'] as const) {
      expect(encodeData(undefined, format, at)).toBeNull();
      expect(encodeData(node('null'), format, at)).toBeNull();
    }
  });

  it('stores a string as its UTF-8 bytes', () => {
    expect(encodeData(node('"héllo 😀"'), 'string', at)).toEqual(Buffer.from('héllo 😀', 'utf8'));
  });

  it('stores JSON as Jackson writes it, so keys hash like a Java producer’s', () => {
    const bytes = encodeData(node('{ "id" : 1.0, "2": [1e2, -0] }'), 'json', at);
    expect(bytes?.toString('utf8')).toBe('{"id":1.0,"2":[100.0,0]}');
    expect(encodeData(node('"abc"'), 'json', at)?.toString('utf8')).toBe('"abc"');
  });

  it('decodes base64', () => {
    expect(encodeData(node('"AAEC/w=="'), 'base64', at)).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it.each([
    ['123', 'string', 'must be a JSON string in the "string" format, got number'],
    ['{"a":1}', 'base64', 'must be a base64 string in the "base64" format, got object'],
    ['"Zm9v!"', 'base64', 'is not valid base64'],
    [String.raw`"\ud800"`, 'string', 'contains an unpaired UTF-16 surrogate'],
    [String.raw`{"a":"\udc00"}`, 'json', 'contains an unpaired UTF-16 surrogate'],
  ] as const)('rejects %s as %s, naming the record and field', (json, format, reason) => {
    const error = caught(() => encodeData(node(json), format, at));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain(`Record 3: key ${reason}`);
    expect(error.details).toMatchObject({ record: 3, field: 'key' });
  });

  it('names the header whose value is bad', () => {
    const error = caught(() =>
      encodeData(node('"%%%"'), 'base64', { record: 0, field: 'header', header: 'trace' }),
    );
    expect(error.message).toContain('Record 0: header "trace" is not valid base64');
  });
});

describe('decodeData', () => {
  const where = { offset: 7, field: 'value' as const };

  it('shows bytes as base64, string or raw JSON', () => {
    const bytes = Buffer.from('{"n":1.0}');
    expect(decodeData(bytes, 'base64', where)).toBe(bytes.toString('base64'));
    expect(decodeData(bytes, 'string', where)).toBe('{"n":1.0}');
    expect(decodeData(bytes, 'json', where)).toEqual(new RawJson('{"n":1.0}'));
    expect(decodeData(null, 'json', where)).toBeNull();
  });

  it('refuses bytes that are not UTF-8 in the string format and says what to use', () => {
    const error = caught(() => decodeData(Buffer.from([0xff, 0xfe]), 'string', where));
    expect(error.message).toBe(
      'The value of the record at offset 7 is not valid UTF-8, so it cannot be shown in the "string" format; fetch it with valueFormat=base64',
    );
  });

  it('refuses text that is not JSON in the json format', () => {
    const error = caught(() => decodeData(Buffer.from('hello'), 'json', where));
    expect(error.message).toContain('is not JSON');
  });
});

describe('stringifyWithRaw', () => {
  it('splices raw JSON in as written and leaves undefined members out', () => {
    const text = stringifyWithRaw({
      a: new RawJson('{"big":12345678901234567890,"x":1.0}'),
      b: [1, 'two', null, new RawJson('[]')],
      c: undefined,
    });
    expect(text).toBe('{"a":{"big":12345678901234567890,"x":1.0},"b":[1,"two",null,[]]}');
  });
});
