import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLogError } from '../../../lib/log/errors.js';
import { createUlidGenerator, isUlid, ulid, ulidTime } from '../../../lib/log/ulid.js';

const CROCKFORD = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

describe('ulid', () => {
  it('makes 26 Crockford base32 characters', () => {
    const id = ulid();
    expect(id).toMatch(CROCKFORD);
    expect(isUlid(id)).toBe(true);
  });

  it('encodes the time in the first 10 characters, as the spec example does', () => {
    // From the ULID spec (github.com/ulid/spec): time 1469918176385 encodes as 01ARYZ6S41.
    const id = createUlidGenerator({ random: (b) => b.fill(0) })(1469918176385);
    expect(id).toBe('01ARYZ6S410000000000000000');
    expect(ulidTime(id)).toBe(1469918176385);
  });

  it('encodes all 80 random bits, most significant first', () => {
    expect(createUlidGenerator({ random: (b) => b.fill(0xff) })(0)).toBe(
      `0000000000${'Z'.repeat(16)}`,
    );
    const one = createUlidGenerator({
      random: (b) => {
        b.fill(0);
        b[9] = 1;
      },
    })(0);
    expect(one).toBe('00000000000000000000000001');
    const top = createUlidGenerator({
      random: (b) => {
        b.fill(0);
        b[0] = 0x80;
      },
    })(0);
    expect(top).toBe('0000000000G000000000000000');
  });

  it('round-trips the time for the whole 48-bit range', () => {
    const make = createUlidGenerator();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (time) => {
        expect(ulidTime(createUlidGenerator()(time))).toBe(time);
        expect(ulidTime(make(time))).toBeGreaterThanOrEqual(0);
      }),
    );
    expect(createUlidGenerator({ random: (b) => b.fill(0) })(2 ** 48 - 1).slice(0, 10)).toBe(
      '7ZZZZZZZZZ',
    );
  });

  it('sorts by time as strings', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        (a, b) => {
          fc.pre(a !== b);
          const ia = createUlidGenerator()(a);
          const ib = createUlidGenerator()(b);
          expect(ia < ib).toBe(a < b);
        },
      ),
    );
  });

  it('is strictly increasing within one millisecond and when the clock steps back', () => {
    let now = 1_700_000_000_000;
    const make = createUlidGenerator({ clock: () => now });
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) ids.push(make());
    now -= 5_000; // clock stepped back
    for (let i = 0; i < 10; i++) ids.push(make());
    now += 10_000;
    ids.push(make());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ulidTime(ids[1005]!)).toBe(1_700_000_000_000);
    expect(ulidTime(ids.at(-1)!)).toBe(1_700_000_005_000);
  });

  it('carries the increment across characters', () => {
    const make = createUlidGenerator({
      random: (b) => {
        b.fill(0);
        b[9] = 0x1f; // last character Z
      },
    });
    expect(make(5).slice(10)).toBe('000000000000000Z');
    expect(make(5).slice(10)).toBe('0000000000000010');
  });

  it('throws rather than wrap when the randomness overflows within a millisecond', () => {
    const make = createUlidGenerator({ random: (b) => b.fill(0xff) });
    make(1);
    expect(() => make(1)).toThrow(EventLogError);
  });

  it('refuses times outside [0, 2^48)', () => {
    for (const time of [-1, 2 ** 48, 1.5, Number.NaN]) {
      expect(() => createUlidGenerator()(time)).toThrow(EventLogError);
    }
  });

  it('parses case-insensitively and rejects malformed ids', () => {
    expect(ulidTime('01ARYZ6S410000000000000000'.toLowerCase())).toBe(1469918176385);
    for (const bad of [
      '',
      '01ARYZ6S41000000000000000',
      '81ARYZ6S410000000000000000',
      '01ARYZ6S41000000000000000U',
      '01ARYZ6S41000000000000000é',
    ]) {
      expect(isUlid(bad)).toBe(false);
      expect(() => ulidTime(bad)).toThrow(EventLogError);
    }
  });
});
