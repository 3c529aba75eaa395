import { describe, expect, it } from 'vitest';
import { compileTopicPattern, MAX_TOPIC_PATTERN_LENGTH } from '../../../lib/log/topic-pattern.js';

const matches = (pattern: string, name: string) => compileTopicPattern(pattern).matches(name);

describe('topic patterns', () => {
  it('match whole names, as Java Pattern.matches does', () => {
    expect(matches('orders', 'orders')).toBe(true);
    expect(matches('orders', 'orders-eu')).toBe(false);
    expect(matches('orders.*', 'orders-eu')).toBe(true);
    expect(matches('.*', 'anything')).toBe(true);
    expect(matches('(orders|payments)-[a-z]+', 'payments-eu')).toBe(true);
    expect(matches('(orders|payments)-[a-z]+', 'payments-EU')).toBe(false);
    expect(matches('o?rders\\.v\\d+', 'rders.v12')).toBe(true);
    expect(matches('a+b*', 'aaa')).toBe(true);
    expect(matches('a+b*', 'b')).toBe(false);
    expect(matches('[^x]+', 'abc')).toBe(true);
    expect(matches('[^x]+', 'axc')).toBe(false);
    expect(matches('(?:ab)*c', 'ababc')).toBe(true);
    expect(matches('^orders$', 'orders')).toBe(true);
    expect(matches('[a-c_.-]+', 'a_b.c-')).toBe(true);
    expect(matches('\\w+', 'ok_1')).toBe(true);
  });

  it('refuses what it does not offer, and long patterns, with 400s', () => {
    for (const bad of ['a{2}', '(a', 'a)', '*a', '\\1', '(?=a)', '[a', 'a^b', 'x'.repeat(257)]) {
      expect(() => compileTopicPattern(bad), bad).toThrow(/Invalid topic_pattern/);
    }
    expect(() => compileTopicPattern('x'.repeat(MAX_TOPIC_PATTERN_LENGTH))).not.toThrow();
  });

  it('answers pathological patterns on long almost-matching names in well under a second', () => {
    const name = `c${'a'.repeat(248)}`;
    for (const pattern of [
      'c((.*)*)*x',
      '(a*)*b',
      '(a|a)*b',
      `(${'a?'.repeat(60)})${'a'.repeat(60)}x`,
    ]) {
      const started = performance.now();
      expect(matches(pattern, name)).toBe(false);
      expect(performance.now() - started, pattern).toBeLessThan(100);
    }
  });
});
