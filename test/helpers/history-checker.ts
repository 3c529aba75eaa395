/**
 * A Jepsen-style history checker for the event log. Clients record every operation with its
 * outcome while faults fire; afterwards the whole log is read (holes healed first) and the
 * history is checked against it:
 *
 *   lost                an acknowledged record is not in the log
 *   wrong-offset        an acknowledged record is in the log, elsewhere than acknowledged
 *   duplicate           a record is in the log more than once (acknowledged or not)
 *   failed-but-written  a record whose write definitely failed is in the log
 *   phantom             a record in the log that nobody produced
 *   reordered           a producer's records on a partition are not in the order it sent them
 *   read-gap            a consumer skipped offsets that are not an aborted range
 *   read-backwards      a consumer got offsets that are not increasing within its position
 *   read-mismatch       a consumer read a record that is not what the log holds at that offset
 *   commit-regressed    a committed offset went down, or below an applied commit
 *   expired-early       an acknowledged record below the log start that neither retention.ms
 *                       (its timestamp) nor retention.bytes (the bytes known after it) let go
 *   offset-gap          an offset between the log start and the high watermark that holds
 *                       no record and is not in an aborted range (offsets are contiguous)
 *   bounds-regressed    a high watermark or log start seen lower than one seen before (by
 *                       any process: the observation started after the other one ended)
 *
 * With retention, records may be gone, but only from the log start: an acknowledged record
 * at or above the final log start that is missing is `lost`, one below it is checked against
 * the topic's retention.
 *
 * Outcomes: `ok` (acknowledged, with partition and offset), `failed` (definitely not written:
 * the server said so), `unknown` (a lost answer, a timeout, a crash: may or may not be written).
 */

export type Outcome = 'ok' | 'failed' | 'unknown';

export interface ProducedRecord {
  /** Unique across the whole history: the checker finds records by value. */
  value: string;
  outcome: Outcome;
  partition?: number;
  offset?: number;
  /** The record's timestamp as acknowledged (ms since the epoch), for retention.ms. */
  timestamp?: number;
  /** What retention.bytes counts for it: key + value + header bytes plus Kafka's 21 of framing. */
  bytes?: number;
}

export interface ProduceOp {
  kind: 'produce';
  process: string;
  /** Producers sending one request at a time (or idempotently) promise order per partition. */
  ordered: boolean;
  idempotent: boolean;
  /** Position of the op in its process, for the order check. */
  index: number;
  records: ProducedRecord[];
  outcome: Outcome;
  error?: string;
  start: number;
  end: number;
}

export interface ReadOp {
  kind: 'read';
  process: string;
  partition: number;
  /** Reads of one tenure (a member's lease at one counter) continue one another. */
  tenure: string;
  from: number;
  records: { offset: number; value: string }[];
  nextOffset: number;
  start: number;
  end: number;
}

export interface CommitOp {
  kind: 'commit';
  process: string;
  partition: number;
  offset: number;
  outcome: Outcome;
  /** The offset stored after the commit, when it answered. */
  committed?: number;
  error?: string;
  start: number;
  end: number;
}

export interface CommittedSnapshot {
  kind: 'committed';
  process: string;
  offsets: Record<number, number>;
  start: number;
  end: number;
}

export interface FailedOp {
  kind: 'error';
  process: string;
  what: string;
  error: string;
  start: number;
  end: number;
}

/** One look at every partition's log start and high watermark, by one process. */
export interface BoundsSnapshot {
  kind: 'bounds';
  process: string;
  highWatermarks: Record<number, number>;
  logStarts: Record<number, number>;
  start: number;
  end: number;
}

export type Op = ProduceOp | ReadOp | CommitOp | CommittedSnapshot | FailedOp | BoundsSnapshot;

export interface FinalLog {
  partitions: {
    partition: number;
    records: { offset: number; value: string }[];
    aborted: { from: number; to: number }[];
    /** Offsets below it were removed by retention (default 0). */
    logStartOffset?: number;
    /** The end of the readable log; when given, every offset up to it is checked. */
    highWatermark?: number;
  }[];
  /** The topic's retention, when it ran during the history. */
  retention?: {
    retentionMs: number;
    retentionBytes: number;
    /** Wall-clock ms when the last retention run started: nothing newer can have expired by time. */
    lastRunAt: number;
  };
}

export type AnomalyKind =
  | 'lost'
  | 'wrong-offset'
  | 'duplicate'
  | 'failed-but-written'
  | 'phantom'
  | 'reordered'
  | 'read-gap'
  | 'read-backwards'
  | 'read-mismatch'
  | 'commit-regressed'
  | 'expired-early'
  | 'offset-gap'
  | 'bounds-regressed';

export interface Anomaly {
  kind: AnomalyKind;
  detail: string;
}

export interface CheckResult {
  anomalies: Anomaly[];
  byKind: Partial<Record<AnomalyKind, number>>;
}

/** Collects operations from concurrent clients; `now` is the clock the ops are stamped with. */
export class History {
  readonly ops: Op[] = [];
  private readonly indexes = new Map<string, number>();

  constructor(readonly now: () => number = () => performance.now()) {}

  /** The next op index of a process (its send order). */
  nextIndex(process: string): number {
    const index = this.indexes.get(process) ?? 0;
    this.indexes.set(process, index + 1);
    return index;
  }

  add(op: Op): void {
    this.ops.push(op);
  }
}

export function checkHistory(ops: readonly Op[], log: FinalLog): CheckResult {
  const anomalies: Anomaly[] = [];
  const report = (kind: AnomalyKind, detail: string) => anomalies.push({ kind, detail });

  const where = new Map<string, { partition: number; offset: number }[]>();
  const logValue = new Map<number, Map<number, string>>();
  for (const { partition, records } of log.partitions) {
    const byOffset = new Map<number, string>();
    logValue.set(partition, byOffset);
    for (const { offset, value } of records) {
      byOffset.set(offset, value);
      const list = where.get(value) ?? [];
      list.push({ partition, offset });
      where.set(value, list);
    }
  }

  const logStart = new Map(log.partitions.map((p) => [p.partition, p.logStartOffset ?? 0]));
  const startOf = (partition: number) => logStart.get(partition) ?? 0;
  const produces = ops.filter((op): op is ProduceOp => op.kind === 'produce');
  // What is known to have been at each offset: acknowledged, read by a consumer, in the log.
  const known = new Map<number, Map<number, string>>();
  const bytesOf = new Map<string, number>();
  const remember = (partition: number, offset: number, value: string) => {
    let byOffset = known.get(partition);
    if (byOffset === undefined) {
      byOffset = new Map();
      known.set(partition, byOffset);
    }
    if (!byOffset.has(offset)) byOffset.set(offset, value);
  };
  for (const op of produces) {
    for (const record of op.records) {
      if (record.bytes !== undefined) bytesOf.set(record.value, record.bytes);
      if (record.outcome === 'ok' && record.partition !== undefined && record.offset !== undefined)
        remember(record.partition, record.offset, record.value);
    }
  }
  for (const { partition, records } of log.partitions) {
    for (const { offset, value } of records) remember(partition, offset, value);
  }
  for (const op of ops) {
    if (op.kind === 'read') for (const r of op.records) remember(op.partition, r.offset, r.value);
  }
  /** Whether retention may have removed the record at partition/offset by the end. */
  const mayHaveExpired = (record: ProducedRecord): boolean => {
    const rules = log.retention;
    if (rules === undefined || record.partition === undefined || record.offset === undefined)
      return false;
    if (
      rules.retentionMs >= 0 &&
      record.timestamp !== undefined &&
      record.timestamp < rules.lastRunAt - rules.retentionMs
    ) {
      return true;
    }
    if (rules.retentionBytes < 0) return false;
    let after = 0;
    for (const [offset, value] of known.get(record.partition) ?? []) {
      if (offset > (record.offset as number)) after += bytesOf.get(value) ?? 0;
    }
    return after >= rules.retentionBytes;
  };

  const produced = new Set<string>();
  for (const op of produces) {
    for (const record of op.records) {
      produced.add(record.value);
      const found = where.get(record.value) ?? [];
      if (found.length > 1) {
        report(
          'duplicate',
          `${record.value} (${op.process}, ${record.outcome}) at ${found.map((f) => `${f.partition}/${f.offset}`).join(', ')}`,
        );
      }
      if (record.outcome === 'ok') {
        const belowStart =
          record.partition !== undefined &&
          record.offset !== undefined &&
          record.offset < startOf(record.partition);
        if (found.length === 0 && belowStart) {
          if (!mayHaveExpired(record)) {
            report(
              'expired-early',
              `${record.value} (${op.process}) acknowledged at ${record.partition}/${record.offset} (timestamp ${record.timestamp}) is below the log start ${startOf(record.partition as number)}`,
            );
          }
        } else if (found.length === 0) {
          report(
            'lost',
            `${record.value} (${op.process}) acknowledged at ${record.partition}/${record.offset}`,
          );
        } else if (
          !found.some((f) => f.partition === record.partition && f.offset === record.offset)
        ) {
          report(
            'wrong-offset',
            `${record.value} acknowledged at ${record.partition}/${record.offset}, found at ${found.map((f) => `${f.partition}/${f.offset}`).join(', ')}`,
          );
        }
      } else if (record.outcome === 'failed' && found.length > 0) {
        report('failed-but-written', `${record.value} (${op.process}: ${op.error ?? 'failed'})`);
      }
    }
  }
  for (const value of where.keys()) {
    if (!produced.has(value)) report('phantom', value);
  }

  // Order per producer and partition: the log order of its records is its send order.
  const byProcess = new Map<string, ProduceOp[]>();
  for (const op of produces) {
    if (!op.ordered) continue;
    const list = byProcess.get(op.process) ?? [];
    list.push(op);
    byProcess.set(op.process, list);
  }
  for (const [process, list] of byProcess) {
    const last = new Map<number, { offset: number; value: string }>();
    for (const op of [...list].sort((a, b) => a.index - b.index)) {
      for (const record of op.records) {
        const found = where.get(record.value);
        if (found === undefined || found.length !== 1) continue;
        const at = found[0] as { partition: number; offset: number };
        const previous = last.get(at.partition);
        if (previous !== undefined && previous.offset > at.offset) {
          report(
            'reordered',
            `${process}: ${record.value} at ${at.partition}/${at.offset} is before ${previous.value} at ${previous.offset}, sent earlier`,
          );
        }
        last.set(at.partition, { offset: at.offset, value: record.value });
      }
    }
  }

  // Reads: what a consumer skipped must be aborted, what it got must be the log's.
  const aborted = new Map(log.partitions.map((p) => [p.partition, p.aborted]));
  // Below the final log start, an offset may have been skipped because retention removed it
  // (log starts never go down, so it was below the log start of that time or is now).
  const isAborted = (partition: number, offset: number) =>
    offset < startOf(partition) ||
    (aborted.get(partition) ?? []).some((r) => offset >= r.from && offset < r.to);
  const skipped = (partition: number, from: number, to: number): number | undefined => {
    for (let offset = from; offset < to; offset++) {
      if (!isAborted(partition, offset)) return offset;
    }
    return undefined;
  };
  const tenures = new Map<string, ReadOp[]>();
  for (const op of ops) {
    if (op.kind !== 'read') continue;
    const key = `${op.process}|${op.partition}|${op.tenure}`;
    const list = tenures.get(key) ?? [];
    list.push(op);
    tenures.set(key, list);
    let position = op.from;
    for (const record of op.records) {
      if (record.offset < position) {
        report(
          'read-backwards',
          `${op.process} read ${op.partition}/${record.offset} after position ${position}`,
        );
      } else {
        const gap = skipped(op.partition, position, record.offset);
        if (gap !== undefined) {
          report(
            'read-gap',
            `${op.process} skipped ${op.partition}/${gap} (read ${position}→${record.offset})`,
          );
        }
      }
      // Below the log start the final log holds nothing: compare with what was known there.
      const expected =
        record.offset < startOf(op.partition)
          ? known.get(op.partition)?.get(record.offset)
          : logValue.get(op.partition)?.get(record.offset);
      if (expected !== record.value) {
        report(
          'read-mismatch',
          `${op.process} read ${record.value} at ${op.partition}/${record.offset}; the log has ${expected ?? 'nothing'} there`,
        );
      }
      position = record.offset + 1;
    }
    if (op.nextOffset < position) {
      report(
        'read-backwards',
        `${op.process}: nextOffset ${op.nextOffset} below ${position} on ${op.partition}`,
      );
    } else {
      const gap = skipped(op.partition, position, op.nextOffset);
      if (gap !== undefined) {
        report(
          'read-gap',
          `${op.process} skipped ${op.partition}/${gap} (nextOffset ${op.nextOffset})`,
        );
      }
    }
  }
  for (const [key, list] of tenures) {
    const ordered = [...list].sort((a, b) => a.start - b.start);
    for (let i = 1; i < ordered.length; i++) {
      const previous = ordered[i - 1] as ReadOp;
      const current = ordered[i] as ReadOp;
      if (current.from < previous.nextOffset) {
        report(
          'read-backwards',
          `${key}: read from ${current.from} after reaching ${previous.nextOffset}`,
        );
      }
    }
  }

  // Committed offsets: snapshots, taken one after another, never go down; and nothing read
  // after an applied commit is below it.
  const snapshots = ops
    .filter((op): op is CommittedSnapshot => op.kind === 'committed')
    .sort((a, b) => a.start - b.start);
  const high = new Map<number, number>();
  for (const snapshot of snapshots) {
    for (const [key, offset] of Object.entries(snapshot.offsets)) {
      const partition = Number(key);
      const previous = high.get(partition);
      if (previous !== undefined && offset < previous) {
        report('commit-regressed', `partition ${partition}: committed ${offset} after ${previous}`);
      }
      high.set(partition, Math.max(previous ?? offset, offset));
    }
  }
  const commits = ops.filter((op): op is CommitOp => op.kind === 'commit' && op.outcome === 'ok');
  for (const commit of commits) {
    for (const snapshot of snapshots) {
      if (snapshot.start <= commit.end) continue;
      const seen = snapshot.offsets[commit.partition];
      if (seen === undefined || seen < (commit.committed ?? commit.offset)) {
        report(
          'commit-regressed',
          `partition ${commit.partition}: ${commit.process} committed ${commit.committed ?? commit.offset}, later read ${seen ?? 'none'}`,
        );
        break;
      }
    }
  }

  // Contiguous offsets: from the log start to the high watermark, every offset holds a record
  // or lies in an aborted range.
  for (const p of log.partitions) {
    if (p.highWatermark === undefined) continue;
    const held = new Set(p.records.map((r) => r.offset));
    for (let offset = p.logStartOffset ?? 0; offset < p.highWatermark; offset++) {
      if (held.has(offset) || isAborted(p.partition, offset)) continue;
      report('offset-gap', `partition ${p.partition}: offset ${offset} holds nothing`);
      break;
    }
    const beyond = p.records.find((r) => r.offset >= (p.highWatermark as number));
    if (beyond !== undefined) {
      report('offset-gap', `partition ${p.partition}: ${beyond.offset} past the high watermark`);
    }
  }

  // High watermarks and log starts never go backwards, as any process sees them: a look that
  // began after another one ended sees at least as much.
  const looks = ops
    .filter((op): op is BoundsSnapshot => op.kind === 'bounds')
    .sort((a, b) => a.end - b.end);
  const highest = new Map<number, { hw: number; start: number; by: string }>();
  let settled = 0;
  for (const look of [...looks].sort((a, b) => a.start - b.start)) {
    // Fold in every look that ended before this one started.
    while (settled < looks.length && (looks[settled] as BoundsSnapshot).end < look.start) {
      const done = looks[settled++] as BoundsSnapshot;
      for (const [key, hw] of Object.entries(done.highWatermarks)) {
        const partition = Number(key);
        const seen = highest.get(partition) ?? { hw: 0, start: 0, by: '' };
        highest.set(partition, {
          hw: Math.max(seen.hw, hw),
          start: Math.max(seen.start, done.logStarts[partition] ?? 0),
          by: done.process,
        });
      }
    }
    for (const [key, hw] of Object.entries(look.highWatermarks)) {
      const partition = Number(key);
      const seen = highest.get(partition);
      if (seen === undefined) continue;
      const start = look.logStarts[partition] ?? 0;
      if (hw < seen.hw || start < seen.start) {
        report(
          'bounds-regressed',
          `partition ${partition}: ${look.process} saw high watermark ${hw}, log start ${start} after ${seen.hw}, ${seen.start} were seen`,
        );
      }
    }
  }
  const finalBounds = new Map(log.partitions.map((p) => [p.partition, p]));
  for (const look of looks) {
    for (const [key, hw] of Object.entries(look.highWatermarks)) {
      const last = finalBounds.get(Number(key));
      if (last?.highWatermark !== undefined && hw > last.highWatermark) {
        report(
          'bounds-regressed',
          `partition ${key}: ${look.process} saw high watermark ${hw}, the final log ends at ${last.highWatermark}`,
        );
      }
    }
  }

  const byKind: Partial<Record<AnomalyKind, number>> = {};
  for (const anomaly of anomalies) byKind[anomaly.kind] = (byKind[anomaly.kind] ?? 0) + 1;
  return { anomalies, byKind };
}

export interface FaultCount {
  action: string;
  command: string;
}

/** A few lines for the test log: what ran, what was injected, what was found. */
export function summarize(
  ops: readonly Op[],
  log: FinalLog,
  result: CheckResult,
  faults: readonly FaultCount[],
  extra: Record<string, number> = {},
): string {
  const count = <T>(items: readonly T[], key: (item: T) => string) => {
    const counts = new Map<string, number>();
    for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
    return [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  };
  const produces = ops.filter((op): op is ProduceOp => op.kind === 'produce');
  const records = produces.flatMap((op) => op.records);
  const reads = ops.filter((op): op is ReadOp => op.kind === 'read');
  const commits = ops.filter((op): op is CommitOp => op.kind === 'commit');
  const logRecords = log.partitions.reduce((n, p) => n + p.records.length, 0);
  const abortedRanges = log.partitions.reduce((n, p) => n + p.aborted.length, 0);
  const lines = [
    `operations: ${ops.length} — produce ${produces.length} (${count(produces, (op) => op.outcome)}), records ${records.length} (${count(records, (r) => r.outcome)}), reads ${reads.length} (${reads.reduce((n, r) => n + r.records.length, 0)} records), commits ${commits.length} (${count(commits, (c) => c.outcome)}), committed snapshots ${ops.filter((op) => op.kind === 'committed').length}, bounds looks ${ops.filter((op) => op.kind === 'bounds').length}, other errors ${ops.filter((op) => op.kind === 'error').length}`,
    `by process: ${count(produces, (op) => `${op.process}`)}; produce latency p50 ${percentile(produces, 0.5)} ms, p99 ${percentile(produces, 0.99)} ms`,
    `faults injected: ${faults.length}${faults.length === 0 ? '' : ` — ${count(faults, (f) => `${f.action}:${f.command}`)}`}${
      Object.keys(extra).length === 0
        ? ''
        : `; ${Object.entries(extra)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`
    }`,
    `log: ${log.partitions.length} partitions, ${logRecords} records, ${abortedRanges} aborted ranges, log starts ${log.partitions.map((p) => p.logStartOffset ?? 0).join('/')}, high watermarks ${log.partitions.map((p) => p.highWatermark ?? '?').join('/')}`,
    `anomalies: ${
      result.anomalies.length === 0
        ? 'none'
        : Object.entries(result.byKind)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')
    }`,
    ...result.anomalies.slice(0, 10).map((a) => `  ${a.kind}: ${a.detail}`),
  ];
  return lines.join('\n');
}

function percentile(ops: readonly { start: number; end: number }[], p: number): number {
  const durations = ops.map((op) => op.end - op.start).sort((a, b) => a - b);
  if (durations.length === 0) return 0;
  return Math.round(
    durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] as number,
  );
}
