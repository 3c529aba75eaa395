/**
 * The dispatcher's wake-up signals, by topic#partition: notify() (a produce just wrote records)
 * cuts short the waits of batching windows and lingering leases on those partitions, and
 * counts, so that a wait knows whether a notification came since its caller last read.
 */

// Keyed by topic and partition as leases are: one spelling of that key.
import { leaseKey } from './lease-balancer.js';

export class PartitionSignals {
  /** Window waits to cut short when records arrive, by topic#partition. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** notify() calls so far, by topic#partition: a wait knows whether one came since it looked. */
  private readonly notified = new Map<string, number>();

  constructor(
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>,
    /** Ends every wait at once (the dispatcher closing). */
    private readonly closing: AbortSignal,
  ) {}

  /** Cuts short the waits of these partitions: records just arrived. */
  notify(topic: string, partitions: readonly number[]): void {
    for (const partition of partitions) {
      const key = leaseKey(topic, partition);
      this.notified.set(key, (this.notified.get(key) ?? 0) + 1);
      const waiting = this.waiters.get(key);
      if (waiting === undefined) continue;
      for (const wake of waiting) wake();
    }
  }

  /** notify() calls for the partition so far: what a reader passes to waitForRecords later. */
  count(topic: string, partition: number): number {
    return this.notified.get(leaseKey(topic, partition)) ?? 0;
  }

  /**
   * Waits up to `ms`; true when notify() cut it short, or had been called since the caller's
   * last read (`notifiedBefore`), which makes it return at once.
   */
  async waitForRecords(
    topic: string,
    partition: number,
    ms: number,
    notifiedBefore: number,
  ): Promise<boolean> {
    const key = leaseKey(topic, partition);
    if ((this.notified.get(key) ?? 0) > notifiedBefore) return true;
    const waiting = this.waiters.get(key) ?? new Set<() => void>();
    this.waiters.set(key, waiting);
    const early = new AbortController();
    let woken = false;
    const wake = () => {
      woken = true;
      early.abort();
    };
    waiting.add(wake);
    const onClose = () => early.abort();
    this.closing.addEventListener('abort', onClose, { once: true });
    try {
      await this.sleep(ms, early.signal);
    } finally {
      waiting.delete(wake);
      if (waiting.size === 0) this.waiters.delete(key);
      this.closing.removeEventListener('abort', onClose);
    }
    return woken;
  }
}
