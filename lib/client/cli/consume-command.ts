import { isEventLogError } from '../../log/errors.js';
import { Admin } from '../admin.js';
import { type FetchedRecord, fetchRecords } from '../fetcher.js';
import { type GlobalOptions, httpClient, UsageError, writeErr, writeOut } from './context.js';
import { parseOffsetSpecs, type StartSpec, startOffset } from './offset-spec.js';
import { type RecordFormats, recordJsonLine, recordKcatLine, recordValueLine } from './output.js';

export interface ConsumeOptions {
  fromBeginning?: boolean;
  /** kcat's -o specs (lib/client/cli/offset-spec.ts), each as given. */
  offset?: string[];
  /** ms since the epoch */
  fromTime?: number;
  /** ms since the epoch: stop each partition before its first record at or after it (e@). */
  toTime?: number;
  partition?: number;
  follow?: boolean;
  max?: number;
  /** json: ours; kcat: kcat -J's envelope; value: the value alone. */
  format: 'json' | 'kcat' | 'value';
  keyFormat: RecordFormats['key'];
  valueFormat: RecordFormats['value'];
  headerFormat: RecordFormats['header'];
  waitMs: number;
}

/** Partitions read at once when not following (following needs one long poll per partition). */
const CONCURRENCY = 8;
const MAX_RECORDS_PER_FETCH = 500;

/**
 * Prints records of a topic: of one partition, or of all of them, merged as they arrive
 * (in order within each partition). Starts at the latest offset (only new records) unless
 * told --from-beginning, --offset or --from-time. Without --follow it stops once every partition has
 * been read up to its high watermark; with it, it long-polls until --max records or Ctrl-C.
 * Returns the exit code.
 */
export async function consume(
  global: GlobalOptions,
  topic: string,
  options: ConsumeOptions,
): Promise<number> {
  const { start, endTime } = readRange(options);
  const http = httpClient(global);
  const admin = new Admin(http);
  const description = await admin.describeTopic(topic);
  const partitions =
    options.partition === undefined
      ? description.partitionOffsets
      : description.partitionOffsets.filter((p) => p.partition === options.partition);
  if (partitions.length === 0) {
    throw new UsageError(
      `Topic ${topic} has no partition ${options.partition} (it has ${description.partitions}: 0-${description.partitions - 1})`,
    );
  }
  const format = recordFormatter(topic, options);

  const stop = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let printed = 0;
  const remaining = () =>
    options.max === undefined ? Number.POSITIVE_INFINITY : options.max - printed;

  const readPartition = async (partition: number, start: number) => {
    let offset = start;
    while (!stop.signal.aborted && remaining() > 0) {
      const batch = await fetchRecords(http, {
        topic,
        partition,
        offset,
        maxRecords: Math.min(MAX_RECORDS_PER_FETCH, remaining()),
        ...(options.follow ? { waitMs: options.waitMs } : {}),
        signal: stop.signal,
      });
      // e@<ms>: the partition ends before its first record at or after the end time.
      const ending =
        endTime === undefined ? -1 : batch.records.findIndex((r) => r.timestamp >= endTime);
      const kept = ending < 0 ? batch.records : batch.records.slice(0, ending);
      // Another partition may have reached --max while this fetch was out.
      const records = kept.slice(0, Math.max(0, remaining()));
      if (records.length > 0) {
        printed += records.length;
        await writeOut(`${records.map((r) => format(partition, r)).join('\n')}\n`);
      }
      offset = batch.nextOffset;
      if (remaining() <= 0) stop.abort();
      if (ending >= 0) return;
      if (!options.follow && offset >= batch.highWatermark) return;
    }
  };

  const byTime =
    start.kind === 'time'
      ? new Map(
          (await admin.listOffsets(topic, start.timestamp, options.partition)).map((o) => [
            o.partition,
            o.offset ?? undefined,
          ]),
        )
      : undefined;
  const starts = partitions.map((p) => ({
    partition: p.partition,
    offset: startOffset(start, p, byTime?.get(p.partition)),
  }));
  try {
    await runLimited(starts, options.follow ? starts.length : CONCURRENCY, (s) =>
      readPartition(s.partition, s.offset).catch((error: unknown) => {
        // A partition stopped by --max or Ctrl-C: its fetch was aborted on purpose.
        if (stop.signal.aborted && !isEventLogError(error)) return;
        stop.abort();
        throw error;
      }),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  writeErr(
    `consumed ${printed} record${printed === 1 ? '' : 's'} from ${partitions.length} partition${partitions.length === 1 ? '' : 's'} of ${topic}\n`,
  );
  return interrupted && !options.follow ? 130 : 0;
}

/**
 * Where reading starts (--from-beginning, -o <offset>, --from-time, or the end) and the time it
 * stops at (-o e@<ms> or --to-time): at most one of each.
 */
function readRange(options: ConsumeOptions): { start: StartSpec; endTime: number | undefined } {
  const specs = parseOffsetSpecs(options.offset ?? []);
  const starting = [
    options.fromBeginning ? '--from-beginning' : undefined,
    specs.start === undefined ? undefined : '--offset',
    options.fromTime === undefined ? undefined : '--from-time',
  ].filter((o) => o !== undefined);
  if (starting.length > 1) {
    throw new UsageError(`${starting.join(' and ')} cannot be used together`);
  }
  if (specs.endTime !== undefined && options.toTime !== undefined) {
    throw new UsageError('-o e@<ms> and --to-time cannot be used together');
  }
  const endTime = specs.endTime ?? options.toTime;
  const start: StartSpec =
    specs.start ??
    (options.fromTime !== undefined
      ? { kind: 'time', timestamp: options.fromTime }
      : { kind: options.fromBeginning ? 'beginning' : 'end' });
  return { start, endTime };
}

/** The line printed for one record, in the --format asked for. */
function recordFormatter(
  topic: string,
  options: ConsumeOptions,
): (partition: number, record: FetchedRecord) => string {
  const formats: RecordFormats = {
    key: options.keyFormat,
    value: options.valueFormat,
    header: options.headerFormat,
  };
  return (partition: number, record: FetchedRecord) =>
    options.format === 'json'
      ? recordJsonLine(partition, record, formats)
      : options.format === 'kcat'
        ? recordKcatLine(topic, partition, record, formats)
        : recordValueLine(partition, record, options.valueFormat);
}

/** Runs `work` over the items, at most `limit` at a time; rejects with the first failure. */
async function runLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== undefined) throw failure.error;
}
