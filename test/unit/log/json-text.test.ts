import { describe, expect, it } from 'vitest';
import { EventLogError } from '../../../lib/log/errors.js';
import {
  javaDoubleToString,
  parseJsonSequence,
  parseJsonText,
  toJacksonJson,
  toPlainValue,
} from '../../../lib/log/json-text.js';

function jackson(text: string): string {
  return toJacksonJson(parseJsonText(text));
}

describe('parseJsonText', () => {
  it.each([
    ['{"a":}', 'line 1, column 6: unexpected character "}", expected a value'],
    ['{"a":1,}', 'line 1, column 8: expected a member name in double quotes'],
    ['[1,2', 'line 1, column 5: unexpected end of input'],
    ['{\n  "a": 1\n  "b": 2}', "line 3, column 3: expected ',' or '}' after an object member"],
    ['"abc', 'line 1, column 1: unterminated string'],
    ['01', 'line 1, column 2: invalid number'],
    ['-', 'line 1, column 1: invalid number'],
    ['1.', 'line 1, column 2: invalid number'],
    ['tru', 'line 1, column 1: unexpected word'],
    ['"a\\x"', 'line 1, column 3: invalid escape'],
    ['"a\tb"', 'line 1, column 3: control character in a string'],
    ['{"a":1} x', 'line 1, column 9: unexpected data after the JSON value'],
    ['', 'unexpected end of input'],
  ])('rejects %j with a position', (text, message) => {
    expect(() => parseJsonText(text)).toThrow(message);
    try {
      parseJsonText(text);
    } catch (error) {
      expect(error).toBeInstanceOf(EventLogError);
      expect((error as EventLogError).code).toBe('INVALID_REQUEST');
    }
  });

  it('reads strings with every escape', () => {
    const node = parseJsonText(String.raw`"q\" b\\ s\/ \b\f\n\r\t \u00e9\uD83D\uDE00 plain"`);
    expect(toPlainValue(node)).toBe('q" b\\ s/ \b\f\n\r\t é😀 plain');
  });

  it('refuses nesting deeper than 512 levels instead of overflowing the stack', () => {
    expect(() => parseJsonText('['.repeat(100_000))).toThrow('nesting is deeper than 512 levels');
  });

  it('skips a byte order mark', () => {
    expect(toPlainValue(parseJsonText('\uFEFF{"a":1}'))).toEqual({ a: 1 });
  });
});

describe('parseJsonSequence', () => {
  it('reads concatenated and whitespace-separated values', () => {
    const values = parseJsonSequence('{"a":1}{"b":2}\r\n {"c":3}\n');
    expect(values.map(toPlainValue)).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('reads nothing from an empty body', () => {
    expect(parseJsonSequence('  \n')).toEqual([]);
  });

  it('reports a broken value in the middle', () => {
    expect(() => parseJsonSequence('{"a":1}\n{"b":}')).toThrow('line 2, column 6');
  });
});

describe('toPlainValue', () => {
  it('keeps a member named __proto__ an ordinary member', () => {
    const value = toPlainValue(parseJsonText('{"__proto__":{"polluted":true}}')) as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe("toJacksonJson (what Confluent's JSON serializer writes)", () => {
  it.each([
    // Member order as sent, even for integer-like names that JSON.parse would reorder.
    ['{"2":"b", "1":"a"}', '{"2":"b","1":"a"}'],
    [' { "b" : 1 , "a" : [ true , false , null ] } ', '{"b":1,"a":[true,false,null]}'],
    // Integers as written, however long; -0 is the int 0.
    ['[12345678901234567890, -0, -7]', '[12345678901234567890,0,-7]'],
    // Other numbers are doubles printed as Java's Double.toString.
    [
      '[1.0, 1.50, 2e3, 1e7, 1E-4, 0.001, -0.0, 123.456]',
      '[1.0,1.5,2000.0,1.0E7,1.0E-4,0.001,-0.0,123.456]',
    ],
    // Jackson's escapes: short forms for five controls, \u00XX upper case for the others.
    [
      String.raw`"tab\tnl\nbs\bff\fcr\r\u0001\u001f"`,
      String.raw`"tab\tnl\nbs\bff\fcr\r\u0001\u001F"`,
    ],
    // '/', DEL and non-ASCII are written as they are.
    [String.raw`"a\/b\u007f é 😀"`, '"a/b\u007f é 😀"'],
    ['"quote\\" backslash\\\\"', '"quote\\" backslash\\\\"'],
    // A duplicated member keeps its first position and its last value (LinkedHashMap.put).
    ['{"a":1,"b":2,"a":3}', '{"a":3,"b":2}'],
  ])('%s → %s', (input, expected) => {
    expect(jackson(input)).toBe(expected);
  });

  it('refuses a number no double can hold', () => {
    expect(() => jackson('1e400')).toThrow('outside the range of a double');
  });
});

describe('javaDoubleToString', () => {
  it.each([
    [1, '1.0'],
    [-1, '-1.0'],
    [0, '0.0'],
    [100, '100.0'],
    [0.1, '0.1'],
    [0.001, '0.001'],
    [0.000999, '9.99E-4'],
    [9_999_999, '9999999.0'],
    [10_000_000, '1.0E7'],
    [1.2345e21, '1.2345E21'],
    [Math.PI, '3.141592653589793'],
    [1 / 3, '0.3333333333333333'],
    [-2.5e-8, '-2.5E-8'],
    [Number.MAX_VALUE, '1.7976931348623157E308'],
  ])('%d → %s', (value, expected) => {
    expect(javaDoubleToString(value)).toBe(expected);
  });
});
