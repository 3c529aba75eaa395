import { readFile } from 'node:fs/promises';
import { Groups, type ResetResult, type ResetTo } from '../groups.js';
import { type GlobalOptions, httpClient, UsageError, writeErr, writeOut } from './context.js';
import { table } from './output.js';

/**
 * `eventlog groups reset` and `eventlog groups delete-offsets`, as
 * `kafka-consumer-groups --reset-offsets` and `--delete-offsets` behave: a reset shows its
 * plan and writes nothing unless --execute is given (--dry-run is the default).
 */

export interface ResetOptions {
  /** `topic` or `topic:0,1,2`, repeatable. */
  topic?: string[];
  allTopics?: boolean;
  /** Only these partitions (with one --topic); `topic:0,1` says the same. */
  partition?: number[];
  /** Kept from before: earliest or latest. */
  to?: string;
  toEarliest?: boolean;
  toLatest?: boolean;
  toCurrent?: boolean;
  toOffset?: number;
  shiftBy?: string;
  /** ISO-8601 duration, PnDTnHnMnS: back from now. */
  byDuration?: string;
  /** Kafka's YYYY-MM-DDTHH:mm:SS.sss (local time without a zone), or ms. */
  toDatetime?: string;
  fromFile?: string;
  execute?: boolean;
  dryRun?: boolean;
  /** Print the plan as CSV, as Kafka's --export writes it (topic,partition,offset). */
  export?: boolean;
  force?: boolean;
  json?: boolean;
}

interface TopicSelection {
  topic: string;
  partitions?: number[];
}

export async function resetGroup(
  global: GlobalOptions,
  group: string,
  options: ResetOptions,
): Promise<void> {
  if (options.execute === true && options.dryRun === true) {
    throw new UsageError('--execute and --dry-run cannot be used together');
  }
  const groups = new Groups(httpClient(global));
  const plans: { topic: string; to: ResetTo; partitions?: number[] }[] = [];
  if (options.fromFile !== undefined) {
    if (
      options.topic !== undefined ||
      options.allTopics === true ||
      scenario(options) !== undefined
    ) {
      throw new UsageError('--from-file takes topics and offsets from the file alone');
    }
    for (const [topic, offsets] of await readPlanFile(options.fromFile, group)) {
      plans.push({ topic, to: { offsets } });
    }
  } else {
    const to = scenario(options);
    if (to === undefined) {
      throw new UsageError(
        'Give one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --by-duration, --to-datetime, --from-file',
      );
    }
    for (const s of await selections(groups, group, options)) {
      plans.push({
        topic: s.topic,
        to,
        ...(s.partitions === undefined ? {} : { partitions: s.partitions }),
      });
    }
  }
  const force = options.force === true ? { force: true } : {};
  // The whole plan first: a bad topic or partition fails before anything is written.
  let results: ResetResult[] = [];
  for (const plan of plans) {
    results.push(...(await groups.reset(group, { ...plan, ...force, dryRun: true })));
  }
  if (options.execute === true) {
    results = [];
    for (const plan of plans) results.push(...(await groups.reset(group, { ...plan, ...force })));
  } else {
    writeErr('dry run: nothing changed (add --execute to apply this plan)\n');
  }
  if (options.json) {
    await writeOut(`${JSON.stringify(results)}\n`);
  } else if (options.export) {
    await writeOut(results.map((r) => `${r.topic},${r.partition},${r.committed}\n`).join(''));
  } else {
    await writeOut(
      `${table(
        ['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'],
        results.map((r) => [group, r.topic, r.partition, r.committed]),
      )}\n`,
    );
  }
}

export async function deleteOffsets(
  global: GlobalOptions,
  group: string,
  options: { topic: string[]; partition?: number[] },
): Promise<void> {
  const groups = new Groups(httpClient(global));
  const deleted = [];
  for (const s of await selections(groups, group, options)) {
    deleted.push(
      ...(await groups.deleteOffsets(group, {
        topic: s.topic,
        ...(s.partitions === undefined ? {} : { partitions: s.partitions }),
      })),
    );
  }
  await writeOut(
    deleted.length === 0
      ? `no committed offsets of group ${group} to delete\n`
      : `${table(
          ['TOPIC', 'PARTITION', 'STATUS'],
          deleted.map((d) => [d.topic, d.partition, 'Successful']),
        )}\n`,
  );
}

/** The one reset scenario the options name, or undefined when none. */
function scenario(options: ResetOptions): ResetTo | undefined {
  const given: [string, ResetTo][] = [];
  if (options.to !== undefined) {
    if (options.to !== 'earliest' && options.to !== 'latest') {
      throw new UsageError(`--to takes earliest or latest, not "${options.to}"`);
    }
    given.push(['--to', options.to]);
  }
  if (options.toEarliest) given.push(['--to-earliest', 'earliest']);
  if (options.toLatest) given.push(['--to-latest', 'latest']);
  if (options.toCurrent) given.push(['--to-current', { shift: 0 }]);
  if (options.toOffset !== undefined) given.push(['--to-offset', { offset: options.toOffset }]);
  if (options.shiftBy !== undefined) {
    if (!/^-?\d+$/.test(options.shiftBy) || !Number.isSafeInteger(Number(options.shiftBy))) {
      throw new UsageError(`--shift-by takes an integer, not "${options.shiftBy}"`);
    }
    given.push(['--shift-by', { shift: Number(options.shiftBy) }]);
  }
  if (options.byDuration !== undefined) {
    given.push(['--by-duration', { timestamp: Date.now() - parseIsoDuration(options.byDuration) }]);
  }
  if (options.toDatetime !== undefined) {
    given.push(['--to-datetime', { timestamp: parseKafkaDateTime(options.toDatetime) }]);
  }
  if (given.length > 1) {
    throw new UsageError(`${given.map((g) => g[0]).join(' and ')} cannot be used together`);
  }
  return given[0]?.[1];
}

/** --topic t / t:0,1 (repeatable), --partition, or --all-topics (those with offsets). */
async function selections(
  groups: Groups,
  group: string,
  options: { topic?: string[]; partition?: number[]; allTopics?: boolean },
): Promise<TopicSelection[]> {
  const topics = options.topic ?? [];
  if (options.allTopics === true) {
    if (topics.length > 0) throw new UsageError('--all-topics and --topic cannot be used together');
    const committed = await groups.committed(group);
    const names = [...new Set(committed.map((c) => c.topic))].sort();
    if (names.length === 0) throw new UsageError(`Group ${group} has no committed offsets`);
    return names.map((topic) => ({ topic }));
  }
  if (topics.length === 0)
    throw new UsageError('Give --topic <topic[:partitions]> or --all-topics');
  if (options.partition !== undefined && topics.length > 1) {
    throw new UsageError('--partition goes with one --topic: use --topic name:0,1 for several');
  }
  return topics.map((spec) => {
    const at = spec.lastIndexOf(':');
    if (at < 0) {
      return {
        topic: spec,
        ...(options.partition === undefined ? {} : { partitions: options.partition }),
      };
    }
    const list = spec.slice(at + 1);
    if (!/^\d+(,\d+)*$/.test(list)) {
      throw new UsageError(`--topic ${spec}: partitions are numbers separated by commas`);
    }
    if (options.partition !== undefined) {
      throw new UsageError('--partition and --topic name:partitions cannot be used together');
    }
    return { topic: spec.slice(0, at), partitions: list.split(',').map(Number) };
  });
}

/**
 * Kafka's --from-file: the CSV its --export writes, `topic,partition,offset` per line (or
 * `group,topic,partition,offset` when it exported several groups: only this group's rows).
 */
export async function readPlanFile(
  path: string,
  group: string,
): Promise<Map<string, { partition: number; offset: number }[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  const plan = new Map<string, { partition: number; offset: number }[]>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length === 4 && cells[0] !== group) return;
    const [topic, partition, offset] = cells.length === 4 ? cells.slice(1) : cells;
    if (
      (cells.length !== 3 && cells.length !== 4) ||
      !topic ||
      !/^\d+$/.test(partition ?? '') ||
      !/^\d+$/.test(offset ?? '')
    ) {
      throw new UsageError(
        `${path} line ${i + 1}: expected topic,partition,offset (or group,topic,partition,offset)`,
      );
    }
    const rows = plan.get(topic) ?? [];
    rows.push({ partition: Number(partition), offset: Number(offset) });
    plan.set(topic, rows);
  });
  if (plan.size === 0) throw new UsageError(`${path} holds no offsets for group ${group}`);
  return plan;
}

const DURATION =
  /^([-+]?)P(?:([-+]?\d+)D)?(?:T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+)(?:[.,](\d{1,9}))?S)?)?$/i;

/**
 * An ISO-8601 duration as java.time.Duration.parse reads it (PnDTnHnMn.nS; days are 24 h),
 * in ms. Kafka's --by-duration takes the same text.
 */
export function parseIsoDuration(text: string): number {
  const m = DURATION.exec(text);
  if (m === null || text.endsWith('T') || /^[-+]?P$/i.test(text)) {
    throw new UsageError(
      `--by-duration takes an ISO-8601 duration like PT10M or P1DT2H, not "${text}"`,
    );
  }
  const n = (i: number) => Number(m[i] ?? 0);
  const seconds = m[5] ?? '0';
  const fraction = Number(`0.${m[6] ?? '0'}`) * (seconds.startsWith('-') ? -1 : 1);
  const ms = ((n(2) * 24 + n(3)) * 60 + n(4)) * 60_000 + (Number(seconds) + fraction) * 1000;
  return Math.round(m[1] === '-' ? -ms : ms);
}

/**
 * Kafka's --to-datetime: YYYY-MM-DDTHH:mm:SS.sss, with an optional zone (Z, +hh:mm);
 * without one it is local time, as Kafka's tool reads it. Milliseconds since the epoch too.
 */
export function parseKafkaDateTime(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)
    ? Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
    : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--to-datetime takes YYYY-MM-DDTHH:mm:SS.sss (optionally with Z or +hh:mm), not "${text}"`,
    );
  }
  return ms;
}
