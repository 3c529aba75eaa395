import { Admin } from '../admin.js';
import { type GlobalOptions, httpClient, parseTime, writeOut } from './context.js';
import { formatTime, table } from './output.js';

/**
 * Without --at: each partition's earliest (log start) and latest (high watermark) offset.
 * With --at: each partition's first offset whose timestamp is at or after that time.
 */
export async function showOffsets(
  global: GlobalOptions,
  topic: string,
  options: { at?: string; partition?: number; json?: boolean },
): Promise<void> {
  const admin = new Admin(httpClient(global));
  if (options.at !== undefined) {
    const at = parseTime(options.at);
    const listed = await admin.listOffsets(topic, at, options.partition);
    if (options.json) {
      await writeOut(`${JSON.stringify({ topic, at: options.at, partitions: listed })}\n`);
      return;
    }
    await writeOut(
      `${table(
        ['PARTITION', 'OFFSET', 'TIMESTAMP'],
        listed.map((p) => [
          p.partition,
          // Kafka answers -1: no record at or after the time (yet).
          p.offset === null ? `none (next: ${p.highWatermark})` : p.offset,
          p.timestamp === undefined ? '' : formatTime(p.timestamp),
        ]),
      )}\n`,
    );
    return;
  }
  // The latest answer carries the log start too: one request gives both ends.
  const listed = await admin.listOffsets(topic, 'latest', options.partition);
  if (options.json) {
    await writeOut(
      `${JSON.stringify({
        topic,
        partitions: listed.map((p) => ({
          partition: p.partition,
          earliest: p.logStartOffset,
          latest: p.highWatermark,
        })),
      })}\n`,
    );
    return;
  }
  await writeOut(
    `${table(
      ['PARTITION', 'EARLIEST', 'LATEST', 'RECORDS'],
      listed.map((p) => [
        p.partition,
        p.logStartOffset,
        p.highWatermark,
        p.highWatermark - p.logStartOffset,
      ]),
    )}\n`,
  );
}
