import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../lib/broker/broker.js';
import { isEventLogError } from '../../lib/log/errors.js';
import { uniqueName } from '../helpers/aws.js';
import { cliAgainst } from '../helpers/cli.js';
import { brokerForTest, produceValues } from './broker/helpers.js';

/**
 * Kafka's DeleteRecords: `eventlog delete-records` against a served API (broker A), seen at
 * once by a second reader with its own memory of the log (broker B, as another process
 * would be), then retention removing the batches wholly below the new log start.
 */

const writer = brokerForTest();
const reader = brokerForTest();
const cli = cliAgainst(writer);

const values = async (b: Broker, topic: string, offset: number) =>
  (await b.fetch.fetch({ topic, partition: 0, offset, maxRecords: 100 })).records.map((r) =>
    Buffer.from(r.value ?? []).toString(),
  );

async function fetchError(b: Broker, topic: string, offset: number): Promise<string> {
  try {
    await b.fetch.fetch({ topic, partition: 0, offset });
  } catch (error) {
    if (isEventLogError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

describe('eventlog delete-records', () => {
  it('moves the log start for every reader at once; retention then deletes what is wholly below', async () => {
    const topic = uniqueName('cli-dr');
    await writer.topics.create({ name: topic, partitions: 1 });
    // Three commits of four records: offsets 0-3, 4-7, 8-11.
    for (let batch = 0; batch < 3; batch++) {
      await produceValues(
        writer,
        topic,
        Array.from({ length: 4 }, (_, i) => `v${batch * 4 + i}`),
      );
    }
    // The second reader has read the partition already: its memory of the log is warm.
    expect(await values(reader, topic, 0)).toHaveLength(12);

    const deleted = await cli('delete-records', topic, '--partition', '0', '--offset', '6');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe(
      `Records delete operation completed:\npartition: ${topic}-0\tlow_watermark: 6\n`,
    );
    expect(await fetchError(reader, topic, 0)).toBe('OFFSET_OUT_OF_RANGE');
    expect(await fetchError(reader, topic, 5)).toBe('OFFSET_OUT_OF_RANGE');
    expect((await reader.offsets.listOffsets(topic, 0, 'earliest')).offset).toBe(6);
    expect(await values(reader, topic, 6)).toEqual(['v6', 'v7', 'v8', 'v9', 'v10', 'v11']);

    // Past the high watermark: refused, nothing moves. Lower than the log start: no change.
    const past = await cli('delete-records', topic, '--partition', '0', '--offset', '13');
    expect(past.code).toBe(1);
    expect(past.stderr).toContain('(OFFSET_OUT_OF_RANGE)');
    const lower = await cli('delete-records', topic, '--partition', '0', '--offset', '2');
    expect(lower.stdout).toContain('low_watermark: 6');

    // Retention removes the first commit (0-3, wholly below 6) and keeps the one holding 6.
    const report = await writer.retention.runOnce({ topics: [topic] });
    const ran = report.topics.find((t) => t.topic === topic);
    expect(ran?.objectsDeleted).toBe(1);
    expect(ran?.partitions[0]?.entriesDeleted).toBe(1);
    expect((await reader.offsets.listOffsets(topic, 0, 'earliest')).offset).toBe(6);
    expect(await values(reader, topic, 6)).toEqual(['v6', 'v7', 'v8', 'v9', 'v10', 'v11']);

    // Kafka's offset JSON file; -1 is the high watermark: the partition is then empty.
    const file = join(await mkdtemp(join(tmpdir(), 'eventlog-dr-')), 'offsets.json');
    await writeFile(
      file,
      JSON.stringify({ partitions: [{ topic, partition: 0, offset: -1 }], version: 1 }),
    );
    const all = await cli('delete-records', '--offset-json-file', file);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain(`partition: ${topic}-0\tlow_watermark: 12`);
    expect(await values(reader, topic, 12)).toEqual([]);
    expect(await fetchError(reader, topic, 11)).toBe('OFFSET_OUT_OF_RANGE');
    const cleaned = await writer.retention.runOnce({ topics: [topic] });
    expect(cleaned.topics.find((t) => t.topic === topic)?.objectsDeleted).toBe(2);
  }, 60_000);
});
