import { Consumer } from '../consumer.js';
import type { FetchedRecord } from '../fetcher.js';
import { Groups } from '../groups.js';
import type { ConsumeOptions } from './consume-command.js';
import { type GlobalOptions, httpClient, UsageError, writeErr, writeOut } from './context.js';
import {
  formatTime,
  type RecordFormats,
  recordJsonLine,
  recordKcatLine,
  recordValueLine,
  table,
} from './output.js';

/**
 * `eventlog groups list|describe|delete` (reset: reset-command.ts) and `eventlog consume <topic> --group <g>`.
 */

export async function listGroups(
  global: GlobalOptions,
  options: { json?: boolean },
): Promise<void> {
  const groups = await new Groups(httpClient(global)).list();
  if (options.json) {
    await writeOut(`${JSON.stringify(groups)}\n`);
    return;
  }
  if (groups.length === 0) {
    await writeOut('no groups\n');
    return;
  }
  await writeOut(
    `${table(
      ['GROUP', 'STATE', 'MEMBERS'],
      groups.map((g) => [g.group, g.state, g.members]),
    )}\n`,
  );
}

export async function describeGroup(
  global: GlobalOptions,
  group: string,
  options: { json?: boolean },
): Promise<void> {
  const described = await new Groups(httpClient(global)).describe(group);
  if (options.json) {
    await writeOut(`${JSON.stringify(described)}\n`);
    return;
  }
  const dash = (v: number | string | null) => (v === null ? '-' : v);
  const members =
    described.members.length === 0
      ? 'no live members'
      : table(
          ['MEMBER', 'KIND', 'PARTITIONS', 'SESSION EXPIRES IN', 'JOINED'],
          described.members.map((m) => [
            m.memberId,
            m.kind,
            m.partitions.map((p) => `${p.topic}/${p.partition}`).join(',') || '-',
            `${Math.max(0, Math.round(m.expiresInMs / 100) / 10)} s`,
            formatTime(m.joinedAt),
          ]),
        );
  const partitions = table(
    ['TOPIC', 'PARTITION', 'OWNER', 'COMMITTED', 'LOG END', 'LAG'],
    described.partitions.map((p) => [
      p.topic,
      p.partition,
      dash(p.owner),
      dash(p.committed),
      dash(p.highWatermark),
      dash(p.lag),
    ]),
  );
  await writeOut(
    `group ${described.group}: ${described.state}, ${described.members.length} member${described.members.length === 1 ? '' : 's'}, total lag ${described.totalLag}\n\n${members}\n\n${partitions}\n`,
  );
}

export async function deleteGroup(
  global: GlobalOptions,
  group: string,
  options: { force?: boolean },
): Promise<void> {
  const deleted = await new Groups(httpClient(global)).delete(group, options);
  await writeOut(`deleted group ${group} (${deleted} item${deleted === 1 ? '' : 's'})\n`);
}

/**
 * Reads a topic as a member of a group: the group decides the partitions (shared with the
 * other members) and where each starts (its committed offsets; else the latest, or the
 * earliest with --from-beginning). Runs until Ctrl-C or --max records, commits what was
 * printed, and leaves the group. Returns the exit code.
 */
export async function consumeGroup(
  global: GlobalOptions,
  topic: string,
  options: ConsumeOptions & { group: string },
): Promise<number> {
  if (options.partition !== undefined || options.offset !== undefined) {
    throw new UsageError(
      '--partition and --offset cannot be used with --group: the group decides partitions and offsets (reset them with `eventlog groups reset`)',
    );
  }
  const formats: RecordFormats = {
    key: options.keyFormat,
    value: options.valueFormat,
    header: options.headerFormat,
  };
  const line = (partition: number, record: FetchedRecord) =>
    options.format === 'json'
      ? recordJsonLine(partition, record, formats)
      : options.format === 'kcat'
        ? recordKcatLine(topic, partition, record, formats)
        : recordValueLine(partition, record, options.valueFormat);
  const consumer = new Consumer(httpClient(global), {
    group: options.group,
    topics: [topic],
    autoOffsetReset: options.fromBeginning ? 'earliest' : 'latest',
    waitMs: options.waitMs,
    onAssign: (partitions) =>
      writeErr(
        `assigned ${partitions.map((p) => `${p.topic}/${p.partition}@${p.offset}`).join(', ')}\n`,
      ),
    onRevoke: (partitions) =>
      writeErr(`revoked ${partitions.map((p) => `${p.topic}/${p.partition}`).join(', ')}\n`),
  });
  // Ctrl-C is how a group reader normally stops: it closes (commits, leaves) and exits 0.
  const onSignal = () => {
    void consumer.close();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let printed = 0;
  try {
    for await (const batch of consumer) {
      const room = options.max === undefined ? batch.records.length : options.max - printed;
      const records = batch.records.slice(0, room);
      if (records.length > 0) {
        await writeOut(`${records.map((r) => line(batch.partition, r)).join('\n')}\n`);
        printed += records.length;
      }
      if (options.max !== undefined && printed >= options.max) {
        // Only what was printed counts as consumed: the rest of the batch is the group's next.
        const last = records[records.length - 1];
        if (last !== undefined) {
          await consumer.commit([{ topic, partition: batch.partition, offset: last.offset + 1 }]);
        }
        break;
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await consumer.close();
  }
  writeErr(
    `consumed ${printed} record${printed === 1 ? '' : 's'} of ${topic} in group ${options.group}\n`,
  );
  return 0;
}
