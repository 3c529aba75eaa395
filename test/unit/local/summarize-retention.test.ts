import { describe, expect, it } from 'vitest';
import type { RetentionReport } from '../../../lib/broker/retention.js';
import { summarizeRetention } from '../../../lib/local/instance.js';

const partition = {
  partition: 0,
  logStartOffset: 0,
  highWatermark: 10,
  entriesDeleted: 0,
  bytesRemoved: 0,
  abortedRanges: 0,
};

describe('the maintenance summary line', () => {
  it('stays quiet when a pass did nothing', () => {
    const report: RetentionReport = {
      topics: [{ topic: 'idle', partitions: [partition], objectsDeleted: 0, orphansDeleted: 0 }],
      deletedTopicsCleaned: [],
    };
    expect(summarizeRetention(report, 12)).toBeUndefined();
  });

  it('names expired batches, objects, orphans of failed writes and closed holes per topic', () => {
    const report: RetentionReport = {
      topics: [
        {
          topic: 'orders',
          partitions: [
            { ...partition, entriesDeleted: 3, bytesRemoved: 3072, abortedRanges: 1 },
            { ...partition, partition: 1, entriesDeleted: 2, bytesRemoved: 1024 },
          ],
          objectsDeleted: 4,
          orphansDeleted: 2,
        },
        { topic: 'quiet', partitions: [partition], objectsDeleted: 0, orphansDeleted: 0 },
      ],
      deletedTopicsCleaned: ['old'],
    };
    const line = summarizeRetention(report, 42);
    expect(line).toMatch(
      /^maintenance: orders: 5 expired batches \(.+\) deleted, 4 objects deleted, 2 orphan objects of failed writes deleted, 1 abandoned offset ranges closed; data of deleted topics removed: old \(42 ms\)$/,
    );
    expect(line).not.toContain('quiet');
  });
});
