import { describe, expect, it } from 'vitest';
import { omitUndefined, withDefaults } from '../../../lib/log/omit-undefined.js';

describe('omitUndefined', () => {
  it('drops the undefined members and keeps falsy ones', () => {
    expect(omitUndefined({ a: 1, b: undefined, c: 0, d: '', e: null })).toEqual({
      a: 1,
      c: 0,
      d: '',
      e: null,
    });
  });
});

describe('withDefaults', () => {
  const defaults = { concurrency: 32, lingerMs: 0, backoff: { baseMs: 500 } };

  it('takes each given member in place of its default, and a default where none is given', () => {
    const resolved = withDefaults(defaults, { concurrency: 4, lingerMs: undefined });
    expect(resolved).toEqual({ concurrency: 4, lingerMs: 0, backoff: { baseMs: 500 } });
  });

  it('keeps a given 0 or false (only undefined means "not given")', () => {
    expect(withDefaults({ n: 5, on: true }, { n: 0, on: false })).toEqual({ n: 0, on: false });
  });

  it('ignores members the defaults do not name, and leaves the defaults unchanged', () => {
    const given = { concurrency: 1, clock: 'not a setting' } as { concurrency: number };
    const resolved = withDefaults(defaults, given);
    expect(Object.keys(resolved).sort()).toEqual(['backoff', 'concurrency', 'lingerMs']);
    expect(defaults.concurrency).toBe(32);
  });
});
