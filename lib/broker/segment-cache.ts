import type { SegmentStore } from '../store/segment-store.js';

/** What a process keeps of recently read objects by default. */
const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;

interface Entry {
  start: number;
  end: number;
  bytes: Promise<Buffer>;
}

/**
 * Recent object ranges read by this process. Objects never change once written, so a range
 * read for one consumer group serves the next group that reads it (the dispatcher serving
 * every subscription of a topic, a server holding several consumer instances): at the tail
 * each object costs one GET per process, not one per group. Concurrent reads of the same
 * range share one GET. Least recently used ranges go first.
 */
export class SegmentCache {
  private readonly entries = new Map<string, Entry>();
  private size = 0;

  constructor(
    private readonly segments: SegmentStore,
    private readonly maxBytes: number = DEFAULT_CACHE_BYTES,
  ) {}

  async getRange(object: string, start: number, end: number): Promise<Buffer> {
    const cached = this.entries.get(object);
    if (cached !== undefined && cached.start <= start && cached.end >= end) {
      this.entries.delete(object);
      this.entries.set(object, cached);
      const bytes = await cached.bytes;
      return bytes.subarray(start - cached.start, end - cached.start);
    }
    const bytes = this.segments.getRange(object, start, end);
    if (end - start > this.maxBytes / 4) return bytes;
    const entry: Entry = { start, end, bytes };
    this.replace(object, entry);
    try {
      return await bytes;
    } catch (error) {
      if (this.entries.get(object) === entry) this.remove(object);
      throw error;
    }
  }

  private replace(object: string, entry: Entry): void {
    this.remove(object);
    this.entries.set(object, entry);
    this.size += entry.end - entry.start;
    for (const [key] of this.entries) {
      if (this.size <= this.maxBytes) break;
      this.remove(key);
    }
  }

  private remove(object: string): void {
    const entry = this.entries.get(object);
    if (entry === undefined) return;
    this.entries.delete(object);
    this.size -= entry.end - entry.start;
  }
}
