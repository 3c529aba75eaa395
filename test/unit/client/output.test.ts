import { describe, expect, it } from 'vitest';
import { recordJsonLine, recordValueLine, table } from '../../../lib/client/cli/output.js';
import type { FetchedRecord } from '../../../lib/client/fetcher.js';

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

const record: FetchedRecord = {
  offset: 7,
  timestamp: 1700000000000,
  timestampType: 'CreateTime',
  key: bytes('k'),
  value: bytes('{"n":1.0}'),
  headers: [{ key: 'h', value: bytes('v') }],
};

const formats = { key: 'string', value: 'string', header: 'string' } as const;

describe('recordJsonLine', () => {
  it('prints one JSON object with the record, values as strings by default', () => {
    expect(JSON.parse(recordJsonLine(2, record, formats))).toEqual({
      partition: 2,
      offset: 7,
      timestamp: 1700000000000,
      key: 'k',
      value: '{"n":1.0}',
      headers: [{ key: 'h', value: 'v' }],
    });
  });

  it('prints JSON values as stored (1.0 stays 1.0)', () => {
    expect(recordJsonLine(0, record, { ...formats, value: 'json' })).toContain('"value":{"n":1.0}');
  });

  it('prints base64 and nulls', () => {
    const line = recordJsonLine(
      0,
      { ...record, key: null, value: new Uint8Array([255]) },
      {
        ...formats,
        value: 'base64',
        header: 'base64',
      },
    );
    expect(JSON.parse(line)).toMatchObject({
      key: null,
      value: '/w==',
      headers: [{ value: 'dg==' }],
    });
  });

  it('refuses bytes that are not UTF-8 and says what to use instead', () => {
    expect(() => recordJsonLine(1, { ...record, value: new Uint8Array([0xc3]) }, formats)).toThrow(
      'The value at partition 1 offset 7 is not UTF-8 text: use --value-format base64',
    );
    expect(() =>
      recordJsonLine(1, { ...record, key: bytes('x') }, { ...formats, key: 'json' }),
    ).toThrow(/key at partition 1 offset 7 is not JSON: use --key-format string or base64/);
  });
});

describe('recordValueLine', () => {
  it('prints the value alone, and null as Kafka does', () => {
    expect(recordValueLine(0, record, 'string')).toBe('{"n":1.0}');
    expect(recordValueLine(0, { ...record, value: null }, 'string')).toBe('null');
    expect(recordValueLine(0, record, 'base64')).toBe(Buffer.from('{"n":1.0}').toString('base64'));
  });
});

describe('table', () => {
  it('pads columns and right-aligns numbers', () => {
    expect(
      table(
        ['NAME', 'N'],
        [
          ['a', 1],
          ['bbb', 100],
        ],
      ),
    ).toBe('NAME    N\na       1\nbbb   100');
  });
});
