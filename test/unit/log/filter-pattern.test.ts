import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileFilterCriteria,
  FILTER_LIMITS,
  filterCriteriaProblems,
} from '../../../lib/log/filter-pattern.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const json = (value: unknown): Uint8Array => bytes(JSON.stringify(value));

/** Whether a record value passes the given patterns (objects, written as JSON text). */
function passes(value: Uint8Array | null, ...patterns: unknown[]): boolean {
  const keep = compileFilterCriteria({
    filters: patterns.map((p) => ({ pattern: typeof p === 'string' ? p : JSON.stringify(p) })),
  });
  if (keep === undefined) throw new Error('expected filters');
  return keep(value);
}

/** A pattern over one field of a JSON value. */
const onField = (field: string, rules: unknown) => ({ value: { [field]: rules } });

describe('filter operators (Lambda event filtering over a Kafka value)', () => {
  it("matches Lambda's documented example: device_ID beginning with AB", () => {
    const pattern = '{ "value" : { "device_ID" : [ { "prefix": "AB" } ] } }';
    expect(passes(json({ device_ID: 'AB1234', session: { duration: 162 } }), pattern)).toBe(true);
    expect(passes(json({ device_ID: 'CD1234' }), pattern)).toBe(false);
  });

  it('exact values: strings, numbers, booleans, null; "" is empty', () => {
    expect(passes(json({ a: 'x' }), onField('a', ['x']))).toBe(true);
    expect(passes(json({ a: 'xy' }), onField('a', ['x']))).toBe(false);
    expect(passes(json({ a: 5 }), onField('a', [5]))).toBe(true);
    expect(passes(json({ a: '5' }), onField('a', [5]))).toBe(false);
    expect(passes(json({ a: true }), onField('a', [true]))).toBe(true);
    expect(passes(json({ a: null }), onField('a', [null]))).toBe(true);
    expect(passes(json({}), onField('a', [null]))).toBe(false);
    expect(passes(json({ a: '' }), onField('a', ['']))).toBe(true);
    expect(passes(json({ a: 'x' }), onField('a', ['']))).toBe(false);
  });

  it('OR within a list, AND across fields, $or across sub-patterns', () => {
    const or = onField('pay', ['Credit', 'Debit']);
    expect(passes(json({ pay: 'Debit' }), or)).toBe(true);
    expect(passes(json({ pay: 'Cash' }), or)).toBe(false);
    const and = { value: { city: ['NY'], day: ['Mon'] } };
    expect(passes(json({ city: 'NY', day: 'Mon' }), and)).toBe(true);
    expect(passes(json({ city: 'NY', day: 'Tue' }), and)).toBe(false);
    const dollarOr = { value: { $or: [{ city: ['NY'] }, { day: ['Mon'] }] } };
    expect(passes(json({ city: 'LA', day: 'Mon' }), dollarOr)).toBe(true);
    expect(passes(json({ city: 'LA', day: 'Tue' }), dollarOr)).toBe(false);
    const topOr = { $or: [{ value: { a: [1] } }, { value: { b: [2] } }] };
    expect(passes(json({ b: 2 }), topOr)).toBe(true);
    expect(passes(json({ b: 3 }), topOr)).toBe(false);
  });

  it('exists true and false, on leaves only', () => {
    expect(passes(json({ a: 1 }), onField('a', [{ exists: true }]))).toBe(true);
    expect(passes(json({ b: 1 }), onField('a', [{ exists: true }]))).toBe(false);
    expect(passes(json({ b: 1 }), onField('a', [{ exists: false }]))).toBe(true);
    expect(passes(json({ a: 1 }), onField('a', [{ exists: false }]))).toBe(false);
    // An object is not a leaf (EventBridge's rule).
    expect(passes(json({ a: { b: 1 } }), onField('a', [{ exists: true }]))).toBe(false);
    // A null value (a tombstone) is absent.
    expect(passes(null, { value: [{ exists: false }] })).toBe(true);
    expect(passes(null, { value: [{ exists: true }] })).toBe(false);
  });

  it('prefix, suffix and equals-ignore-case, on strings only', () => {
    expect(passes(json({ r: 'us-east-1' }), onField('r', [{ prefix: 'us-' }]))).toBe(true);
    expect(passes(json({ r: 'eu-west-1' }), onField('r', [{ prefix: 'us-' }]))).toBe(false);
    expect(passes(json({ f: 'a.png' }), onField('f', [{ suffix: '.png' }]))).toBe(true);
    expect(passes(json({ f: 'a.jpg' }), onField('f', [{ suffix: '.png' }]))).toBe(false);
    expect(passes(json({ n: 'ALICE' }), onField('n', [{ 'equals-ignore-case': 'alice' }]))).toBe(
      true,
    );
    expect(passes(json({ n: 'alicia' }), onField('n', [{ 'equals-ignore-case': 'alice' }]))).toBe(
      false,
    );
    expect(passes(json({ n: 12 }), onField('n', [{ prefix: '1' }]))).toBe(false);
  });

  it('anything-but: a value, a list, a prefix, a suffix, ignoring case; needs the field', () => {
    expect(passes(json({ w: 'Sunny' }), onField('w', [{ 'anything-but': 'Raining' }]))).toBe(true);
    expect(passes(json({ w: 'Raining' }), onField('w', [{ 'anything-but': ['Raining'] }]))).toBe(
      false,
    );
    expect(passes(json({ w: 'Snow' }), onField('w', [{ 'anything-but': ['Rain', 'Snow'] }]))).toBe(
      false,
    );
    expect(passes(json({ c: 3 }), onField('c', [{ 'anything-but': [1, 2] }]))).toBe(true);
    expect(passes(json({ c: 2 }), onField('c', [{ 'anything-but': [1, 2] }]))).toBe(false);
    expect(passes(json({}), onField('w', [{ 'anything-but': 'Raining' }]))).toBe(false);
    const noInit = onField('s', [{ 'anything-but': { prefix: 'init' } }]);
    expect(passes(json({ s: 'running' }), noInit)).toBe(true);
    expect(passes(json({ s: 'initializing' }), noInit)).toBe(false);
    const noTxt = onField('f', [{ 'anything-but': { suffix: '.txt' } }]);
    expect(passes(json({ f: 'a.png' }), noTxt)).toBe(true);
    expect(passes(json({ f: 'a.txt' }), noTxt)).toBe(false);
    const noCase = onField('n', [{ 'anything-but': { 'equals-ignore-case': ['bob', 'eve'] } }]);
    expect(passes(json({ n: 'Alice' }), noCase)).toBe(true);
    expect(passes(json({ n: 'EVE' }), noCase)).toBe(false);
  });

  it('numeric: =, >, >=, <, <= and ranges, on numbers only', () => {
    const price = (rules: unknown[]) => onField('price', [{ numeric: rules }]);
    expect(passes(json({ price: 100 }), price(['=', 100]))).toBe(true);
    expect(passes(json({ price: 101 }), price(['=', 100]))).toBe(false);
    expect(passes(json({ price: 11 }), price(['>', 10]))).toBe(true);
    expect(passes(json({ price: 10 }), price(['>', 10]))).toBe(false);
    expect(passes(json({ price: 10 }), price(['>=', 10]))).toBe(true);
    expect(passes(json({ price: 9 }), price(['<', 10]))).toBe(true);
    expect(passes(json({ price: 10 }), price(['<', 10]))).toBe(false);
    expect(passes(json({ price: 10 }), price(['<=', 10]))).toBe(true);
    expect(passes(json({ price: 20 }), price(['>', 10, '<=', 20]))).toBe(true);
    expect(passes(json({ price: 10 }), price(['>', 10, '<=', 20]))).toBe(false);
    expect(passes(json({ price: 21 }), price(['>', 10, '<=', 20]))).toBe(false);
    expect(passes(json({ price: '15' }), price(['>', 10]))).toBe(false);
  });

  it('nested fields and lists in the record', () => {
    const nested = { value: { session: { duration: [{ numeric: ['>', 100] }] } } };
    expect(passes(json({ session: { duration: 162 } }), nested)).toBe(true);
    expect(passes(json({ session: { duration: 50 } }), nested)).toBe(false);
    expect(passes(json({ tags: ['a', 'b'] }), onField('tags', ['b']))).toBe(true);
    expect(passes(json({ tags: ['a', 'c'] }), onField('tags', ['b']))).toBe(false);
  });

  it('values that are not JSON are plain strings; values that are not UTF-8 match only exists', () => {
    expect(passes(bytes('INFO started'), { value: [{ prefix: 'INFO' }] })).toBe(true);
    expect(passes(bytes('DEBUG noise'), { value: [{ prefix: 'INFO' }] })).toBe(false);
    // A JSON pattern on a plain string: no field is there to match.
    expect(passes(bytes('INFO started'), onField('level', ['INFO']))).toBe(false);
    const notUtf8 = Uint8Array.of(0xff, 0xfe, 0x00);
    expect(passes(notUtf8, { value: [{ exists: true }] })).toBe(true);
    expect(passes(notUtf8, { value: [{ prefix: '' }] })).toBe(false);
  });

  it('a record passes when ANY filter matches', () => {
    const a = onField('kind', ['a']);
    const b = onField('kind', ['b']);
    expect(passes(json({ kind: 'b' }), a, b)).toBe(true);
    expect(passes(json({ kind: 'c' }), a, b)).toBe(false);
  });

  it('no filters: no filter function (every record passes)', () => {
    expect(compileFilterCriteria(undefined)).toBeUndefined();
    expect(compileFilterCriteria({ filters: [] })).toBeUndefined();
  });
});

describe('filterCriteriaProblems (refused at create and update)', () => {
  const problemsOf = (pattern: unknown) =>
    filterCriteriaProblems({
      filters: [{ pattern: typeof pattern === 'string' ? pattern : JSON.stringify(pattern) }],
    });

  it('accepts every operator', () => {
    expect(
      problemsOf({
        value: {
          a: ['x', 1, true, null, ''],
          b: [{ prefix: 'p' }, { suffix: 's' }, { 'equals-ignore-case': 'e' }],
          c: [{ exists: true }, { numeric: ['>=', 0, '<', 5] }, { numeric: ['=', 3] }],
          d: [
            { 'anything-but': ['x', 2] },
            { 'anything-but': { prefix: 'p' } },
            { 'anything-but': { suffix: 's' } },
          ],
          $or: [{ e: [1] }, { f: [2] }],
        },
      }),
    ).toEqual([]);
  });

  it.each([
    ['{ "value": ', 'not JSON'],
    ['[1]', 'a pattern is a JSON object'],
    [{ key: ['x'] }, "match the record's value only"],
    [{ headers: { a: ['x'] } }, 'name "value", not "headers"'],
    [{ value: { a: 'x' } }, "a field's rules are a list"],
    [{ value: { a: [] } }, 'may not be empty'],
    [{ value: { a: [{ begins: 'x' }] } }, 'unknown operator "begins"'],
    [{ value: { a: [{ prefix: 1 }] } }, 'takes a string'],
    [{ value: { a: [{ exists: 'yes' }] } }, 'exists takes true or false'],
    [{ value: { a: [{ numeric: ['>', 'x'] }] } }, 'a bound is a number'],
    [{ value: { a: [{ numeric: ['~', 1] }] } }, 'is not one of'],
    [{ value: { a: [{ numeric: ['<', 5, '>', 1] }] } }, 'lower bound before an upper one'],
    [{ value: { a: [{ numeric: ['>', 5, '<', 1] }] } }, 'lower bound must be below'],
    [{ value: { a: [{ 'anything-but': [] }] } }, 'non-empty list'],
    [{ value: { a: [{ wildcard: '*x' }] } }, 'not an operator of Lambda'],
    [{ value: { a: [{ prefix: 'x', suffix: 'y' }] } }, 'exactly one operator'],
    [{ value: { $or: [{ a: [1] }] } }, 'at least two'],
    [{ $or: [{ value: { a: [1] } }, { key: ['k'] }] }, 'not "key"'],
  ])('refuses %j with the reason', (pattern, reason) => {
    const problems = problemsOf(pattern);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('filters[0].pattern');
    expect(problems[0]?.message).toContain(reason);
  });

  it("enforces Lambda's limits: 5 filters, 4096 characters a pattern", () => {
    const five = Array.from({ length: FILTER_LIMITS.filters }, () => ({
      pattern: '{"value":["x"]}',
    }));
    expect(filterCriteriaProblems({ filters: five })).toEqual([]);
    expect(filterCriteriaProblems({ filters: [...five, five[0]] })[0]?.message).toContain(
      'at most 5 filters',
    );
    const long = `{"value":["${'x'.repeat(4096)}"]}`;
    expect(problemsOf(long)[0]?.message).toContain('at most 4096 characters');
  });

  it('refuses malformed criteria and filters', () => {
    expect(filterCriteriaProblems('x')[0]?.path).toBe('');
    expect(filterCriteriaProblems({ filters: {} })[0]?.path).toBe('filters');
    expect(filterCriteriaProblems({ Filters: [] })[0]?.message).toContain('unknown: Filters');
    expect(filterCriteriaProblems({ filters: [{ pattern: 1 }] })[0]?.path).toBe(
      'filters[0].pattern',
    );
    expect(filterCriteriaProblems({})).toEqual([]);
  });
});

describe('filter properties', () => {
  const field = fc.stringMatching(/^[a-z]{1,8}$/);
  const ascii = fc.stringMatching(/^[ -~]{0,12}$/);

  it('exact and anything-but are complements on a present string', () => {
    fc.assert(
      fc.property(field, ascii, ascii, (name, actual, wanted) => {
        const value = json({ [name]: actual });
        const exact = passes(value, onField(name, [wanted]));
        const but = passes(value, onField(name, [{ 'anything-but': [wanted] }]));
        expect(exact).toBe(actual === wanted);
        expect(but).toBe(!exact);
      }),
      { numRuns: 200 },
    );
  });

  it('prefix and suffix match exactly the strings that start or end so', () => {
    fc.assert(
      fc.property(field, ascii, ascii, ascii, (name, head, tail, probe) => {
        const value = json({ [name]: head + tail });
        expect(passes(value, onField(name, [{ prefix: head }]))).toBe(true);
        expect(passes(value, onField(name, [{ suffix: tail }]))).toBe(true);
        expect(passes(value, onField(name, [{ prefix: probe }]))).toBe(
          (head + tail).startsWith(probe),
        );
        expect(passes(value, onField(name, [{ 'anything-but': { prefix: probe } }]))).toBe(
          !(head + tail).startsWith(probe),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('equals-ignore-case ignores ASCII case', () => {
    fc.assert(
      fc.property(field, fc.stringMatching(/^[a-zA-Z]{1,10}$/), (name, word) => {
        const value = json({ [name]: word.toUpperCase() });
        expect(passes(value, onField(name, [{ 'equals-ignore-case': word.toLowerCase() }]))).toBe(
          true,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('a numeric range holds exactly the numbers inside it', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }),
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        (x, lo, width) => {
          const hi = lo + width;
          const inside = passes(json({ n: x }), onField('n', [{ numeric: ['>', lo, '<=', hi] }]));
          expect(inside).toBe(x > lo && x <= hi);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('several filters pass a record exactly when one of them does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<string>('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 5 }),
        fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        (kinds, actual) => {
          const patterns = kinds.map((k) => onField('kind', [k]));
          const value = json({ kind: actual });
          expect(passes(value, ...patterns)).toBe(patterns.some((p) => passes(value, p)));
          expect(passes(value, ...patterns)).toBe(kinds.includes(actual));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws on any bytes', () => {
    const keep = compileFilterCriteria({
      filters: [
        { pattern: '{"value":{"a":[{"numeric":[">",0]}],"b":[{"exists":false}]}}' },
        { pattern: '{"value":[{"prefix":"x"},{"anything-but":{"suffix":"y"}}]}' },
      ],
    });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (value) => {
        expect(typeof keep?.(value)).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});
