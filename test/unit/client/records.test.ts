import { describe, expect, it } from 'vitest';
import { encodeRecord, produceBody, rawJson } from '../../../lib/client/records.js';

function member(record: Parameters<typeof encodeRecord>[0]): Record<string, unknown> {
  return JSON.parse(encodeRecord(record).json) as Record<string, unknown>;
}

describe('encodeRecord', () => {
  it('sends strings as strings, bytes as base64 and other values as JSON', () => {
    expect(member({ key: 'k', value: 'v' })).toEqual({ key: 'k', value: 'v' });
    expect(member({ value: new Uint8Array([0, 255]) })).toEqual({
      value: 'AP8=',
      valueFormat: 'base64',
    });
    expect(member({ key: 42, value: { a: [1, true, null] } })).toEqual({
      key: 42,
      keyFormat: 'json',
      value: { a: [1, true, null] },
      valueFormat: 'json',
    });
    expect(member({ key: null, value: undefined })).toEqual({});
  });

  it('splices raw JSON text unchanged, so 1.0 and big integers survive', () => {
    const { json } = encodeRecord({ value: rawJson('{"n":1.0,"big":12345678901234567890}') });
    expect(json).toBe('{"value":{"n":1.0,"big":12345678901234567890},"valueFormat":"json"}');
  });

  it('refuses raw text that is not one JSON value (it would break the request)', () => {
    expect(() => encodeRecord({ value: rawJson('1}, {"value": 2') }, 3)).toThrow(
      /record 3: value is not valid JSON text/,
    );
  });

  it('sends header values as base64, in either form', () => {
    expect(member({ value: 'v', headers: { a: 'x', b: null } })).toMatchObject({
      headers: [
        { key: 'a', value: 'eA==' },
        { key: 'b', value: null },
      ],
    });
    expect(
      member({
        value: 'v',
        headers: [
          { key: 'a', value: new Uint8Array([1]) },
          { key: 'a', value: 'y' },
        ],
      }),
    ).toMatchObject({
      headers: [
        { key: 'a', value: 'AQ==' },
        { key: 'a', value: 'eQ==' },
      ],
    });
  });

  it('takes a partition and a timestamp as a number or a Date', () => {
    expect(member({ value: 'v', partition: 2, timestamp: new Date(1700000000000) })).toEqual({
      value: 'v',
      partition: 2,
      timestamp: 1700000000000,
    });
    expect(() => encodeRecord({ value: 'v', partition: -1 })).toThrow(/partition/);
    expect(() => encodeRecord({ value: 'v', timestamp: 1.5 })).toThrow(/timestamp/);
  });

  it('counts the UTF-8 bytes of the JSON', () => {
    expect(encodeRecord({ value: 'é' }).bytes).toBe('{"value":"é"}'.length + 1);
  });

  it('refuses values JSON cannot hold', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => encodeRecord({ value: cycle as never })).toThrow(/value cannot be serialized/);
  });
});

describe('produceBody', () => {
  it('is one valid produce request', () => {
    const body = produceBody([encodeRecord({ value: 'a' }), encodeRecord({ key: 'k', value: 1 })]);
    expect(JSON.parse(body)).toEqual({
      headerFormat: 'base64',
      records: [{ value: 'a' }, { key: 'k', value: 1, valueFormat: 'json' }],
    });
  });
});
