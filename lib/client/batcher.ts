/**
 * Groups items into batches of at most `maxRecords` items and `maxBytes` bytes, in order.
 * An item larger than `maxBytes` on its own becomes a batch of one: whether it is too large
 * is the server's call (the topic's max.message.bytes), not the batcher's.
 */

export interface BatchLimits {
  /** Items per batch. */
  maxRecords: number;
  /** Sum of the items' sizes per batch. */
  maxBytes: number;
}

/**
 * A produce request's share: 500 records or 1 MiB, whichever comes first. Well under the
 * server's limits (10000 records, 6 MB body), and large enough that the per-request costs
 * (an S3 PUT, two DynamoDB writes per partition) are spread over many records.
 */
export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxRecords: 500, maxBytes: 1024 * 1024 };

/** The server's own ceilings for one produce request. */
export const MAX_BATCH_LIMITS: BatchLimits = { maxRecords: 10_000, maxBytes: 6 * 1024 * 1024 };

export function checkBatchLimits(limits: BatchLimits): BatchLimits {
  for (const name of ['maxRecords', 'maxBytes'] as const) {
    const value = limits[name];
    if (!Number.isInteger(value) || value < 1 || value > MAX_BATCH_LIMITS[name]) {
      throw new RangeError(
        `${name} must be an integer from 1 to ${MAX_BATCH_LIMITS[name]}, got ${value}`,
      );
    }
  }
  return limits;
}

export class Batcher<T> {
  private items: T[] = [];
  private bytes = 0;

  constructor(
    private readonly limits: BatchLimits,
    private readonly sizeOf: (item: T) => number,
  ) {
    checkBatchLimits(limits);
  }

  get size(): number {
    return this.items.length;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /**
   * Adds an item; returns the batches it completed (none, or the batch before it when it
   * did not fit, and/or the batch it filled), in order.
   */
  add(item: T): T[][] {
    const done: T[][] = [];
    const size = this.sizeOf(item);
    if (this.items.length > 0 && this.bytes + size > this.limits.maxBytes) {
      done.push(this.take());
    }
    this.items.push(item);
    this.bytes += size;
    if (this.items.length >= this.limits.maxRecords || this.bytes >= this.limits.maxBytes) {
      done.push(this.take());
    }
    return done;
  }

  /** The partial batch, if any, emptied. */
  drain(): T[] | undefined {
    return this.items.length === 0 ? undefined : this.take();
  }

  private take(): T[] {
    const batch = this.items;
    this.items = [];
    this.bytes = 0;
    return batch;
  }
}

/** Splits a list into batches (see Batcher). */
export function toBatches<T>(
  items: Iterable<T>,
  limits: BatchLimits,
  sizeOf: (item: T) => number,
): T[][] {
  const batcher = new Batcher(limits, sizeOf);
  const batches: T[][] = [];
  for (const item of items) batches.push(...batcher.add(item));
  const rest = batcher.drain();
  if (rest !== undefined) batches.push(rest);
  return batches;
}
