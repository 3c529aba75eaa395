/**
 * Per-principal request rates: a token bucket per principal, in this process. Off unless
 * configured. On Lambda each execution environment keeps its own buckets, so the rate a
 * principal gets is the limit times the environments serving it: a brake on one runaway
 * caller, not an exact quota (API Gateway usage plans or WAF rate rules are that).
 */

export interface RateLimitOptions {
  /** Sustained requests per second per principal. */
  requestsPerSecond: number;
  /** Requests allowed at once after a quiet spell; default one second's worth. */
  burst?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_PRINCIPALS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(options: RateLimitOptions) {
    if (!(options.requestsPerSecond > 0)) throw new Error('requestsPerSecond must be positive');
    this.rate = options.requestsPerSecond / 1000;
    this.burst = Math.max(1, options.burst ?? options.requestsPerSecond);
    this.now = options.now ?? Date.now;
  }

  /** Takes one request's token: 0 when allowed, else the ms until one is available. */
  take(principal: string): number {
    const now = this.now();
    let bucket = this.buckets.get(principal);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_PRINCIPALS) this.buckets.clear();
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(principal, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.rate);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.rate);
  }
}
