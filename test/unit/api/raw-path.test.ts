import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../lib/api/rate-limit.js';
import { pathOfUrl, rawPathProblem } from '../../../lib/api/raw-path.js';

describe('raw path check', () => {
  it.each([
    ['/v1/topics/orders/partitions/../../payments', 'a dot segment'],
    ['/v1/topics/./orders', 'a dot segment'],
    ['/v1/topics/%2e%2e/x', 'a dot segment'],
    ['/v1/topics/%2E%2e/x', 'a dot segment'],
    ['/v1/topics/.%2E/x', 'a dot segment'],
    ['/v1/topics/%2e/x', 'a dot segment'],
    ['/v1/topics/..', 'a dot segment'],
    ['/v1/topics/a\\b', 'a backslash'],
    ['/v1/topics/a%2Fb', 'an encoded "/" or "\\"'],
    ['/v1/topics/a%2fb', 'an encoded "/" or "\\"'],
    ['/v1/topics/a%5cb', 'an encoded "/" or "\\"'],
    ['/v1/topics/a%5Cb', 'an encoded "/" or "\\"'],
  ])('refuses %s (%s)', (path, problem) => {
    expect(rawPathProblem(path)).toBe(problem);
  });

  it('lets names with dots and query strings with anything through', () => {
    expect(rawPathProblem('/v1/topics/orders.v2/partitions/0/records')).toBeUndefined();
    expect(rawPathProblem('/v1/topics/...')).toBeUndefined();
    expect(rawPathProblem('/v1/topics/a..b?x=../..')).toBeUndefined();
  });

  it('takes the path of a URL as written', () => {
    expect(pathOfUrl('http://h:1/a/%2e%2e/b?x=1')).toBe('/a/%2e%2e/b?x=1');
    expect(pathOfUrl('/a/b')).toBe('/a/b');
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then one request per interval, and says how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ requestsPerSecond: 2, burst: 2, now: () => now });
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(500);
    expect(limiter.take('b')).toBe(0);
    now += 500;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0);
  });
});
