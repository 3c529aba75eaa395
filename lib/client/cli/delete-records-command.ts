import { readFile } from 'node:fs/promises';
import { Admin } from '../admin.js';
import { type GlobalOptions, httpClient, UsageError, writeOut } from './context.js';

/**
 * `eventlog delete-records`, as kafka-delete-records: the offsets from --offset-json-file
 * (Kafka's format, `{"partitions": [{"topic": "t", "partition": 0, "offset": 5}],
 * "version": 1}`), or for one topic from --partition and --offset.
 */
export interface DeleteRecordsOptions {
  offsetJsonFile?: string;
  partition?: number;
  /** -1: the high watermark. */
  offset?: string;
}

export async function deleteRecords(
  global: GlobalOptions,
  topic: string | undefined,
  options: DeleteRecordsOptions,
): Promise<void> {
  const byTopic = new Map<string, { partition: number; offset: number }[]>();
  if (options.offsetJsonFile !== undefined) {
    if (topic !== undefined || options.partition !== undefined || options.offset !== undefined) {
      throw new UsageError('--offset-json-file names topics, partitions and offsets alone');
    }
    for (const entry of await readOffsetFile(options.offsetJsonFile)) {
      const { partition, offset } = entry;
      byTopic.set(entry.topic, [...(byTopic.get(entry.topic) ?? []), { partition, offset }]);
    }
  } else {
    if (topic === undefined || options.partition === undefined || options.offset === undefined) {
      throw new UsageError(
        'Give --offset-json-file <file>, or <topic> --partition <p> --offset <n>',
      );
    }
    byTopic.set(topic, [{ partition: options.partition, offset: offsetOf(options.offset) }]);
  }
  const admin = new Admin(httpClient(global));
  const lines: string[] = [];
  for (const [name, offsets] of byTopic) {
    for (const p of await admin.deleteRecords(name, offsets)) {
      lines.push(`partition: ${name}-${p.partition}\tlow_watermark: ${p.lowWatermark}`);
    }
  }
  await writeOut(`Records delete operation completed:\n${lines.join('\n')}\n`);
}

function offsetOf(text: string): number {
  if (!/^(-1|\d+)$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--offset takes an offset or -1 (the high watermark), not "${text}"`);
  }
  return Number(text);
}

async function readOffsetFile(
  path: string,
): Promise<{ topic: string; partition: number; offset: number }[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  const partitions = (parsed as { partitions?: unknown }).partitions;
  if (!Array.isArray(partitions) || partitions.length === 0) {
    throw new UsageError(`${path}: expected {"partitions": [{"topic", "partition", "offset"}]}`);
  }
  return partitions.map((p, i) => {
    const { topic, partition, offset } = p as Record<string, unknown>;
    if (
      typeof topic !== 'string' ||
      !Number.isSafeInteger(partition) ||
      !Number.isSafeInteger(offset)
    ) {
      throw new UsageError(`${path}: partitions[${i}] needs a topic, a partition and an offset`);
    }
    return { topic, partition: partition as number, offset: offset as number };
  });
}
