/**
 * Storage engine v2: the commit, the unit of the log's metadata (docs/architecture.md,
 * "Storage engine v2").
 *
 * A topic's partitions are split over one or more commit sequences (partition p belongs to
 * sequence p % sequences). One produce request is one S3 object and, per sequence it touches,
 * one commit: a numbered entry that names the object and, for each partition of the request,
 * the byte range of its batch. A writer reserves a commit number and every partition's offsets
 * in one atomic update of the sequence head, then publishes the commit with one conditional
 * put. So a request costs the same two writes whether it touches 1 partition or 64.
 *
 * Each commit also carries the sequence's offset vector after it (every partition's next
 * offset, as the reservation returned it). That makes every commit self-describing: a batch's
 * base offset is its partition's vector entry minus its count, a partition's high watermark is
 * its entry in the last published commit of the settled prefix, and a reader finds the commit
 * holding an offset by searching commit numbers, with no per-partition index to write.
 *
 * A commit whose writer died after reserving is settled by an aborted marker at its number
 * (the same conditional put), so a late publish of exactly that writer fails, and readers
 * skip the offsets it reserved (the gap between the neighbours' vectors).
 *
 * The batches and the vector are packed into one binary attribute, because DynamoDB bills
 * writes by the kilobyte: 64 partitions take about 1.2 KB packed against 4-5 KB as a map.
 *
 * Layout of the packed attribute (varint = unsigned LEB128, up to 2^53; zvarint = zigzag):
 *
 *   format          uint8 = 1
 *   vectorLength    varint
 *   vector          vectorLength x ( partitionDelta varint   partition - previous partition - 1
 *                                    nextOffset     varint )
 *   batchCount      varint
 *   batches         batchCount x ( partitionDelta varint     as above, ascending partitions
 *                                  count          varint     records
 *                                  position       varint     byte offset in the object
 *                                  length         varint     bytes in the object
 *                                  minTimestamp   zvarint    minus the commit's time
 *                                  timestampSpan  varint     maxTimestamp - minTimestamp
 *                                  bytes          varint )   key + value + header bytes
 *   producer        uint8 0 | 1
 *   [if 1]          producerId varint, producerEpoch varint,
 *                   batchCount x baseSequence varint          in batch order
 */
import { EventLogError } from './errors.js';
import { parseStrictInteger } from './strict-number.js';

export const COMMIT_FORMAT = 1;

/** One partition's batch inside a commit's object. */
export interface CommitBatch {
  partition: number;
  /** Offsets [baseOffset, baseOffset + count). */
  baseOffset: number;
  count: number;
  /** Byte range [position, position + length) in the object. */
  position: number;
  length: number;
  minTimestamp: number;
  maxTimestamp: number;
  /**
   * Uncompressed key + value + header bytes plus Kafka's per-record framing, as
   * max.message.bytes counts them: retention.bytes and fetch planning count these.
   */
  bytes: number;
  /** Set for an idempotent producer's batch. */
  baseSequence?: number;
}

export interface CommitProducer {
  producerId: number;
  producerEpoch: number;
}

/** A published commit: one object, one batch per partition of the sequence it touched. */
export interface PublishedCommit {
  kind: 'published';
  /** Commit number in its sequence, from 1. */
  commit: number;
  /** S3 key of the object. */
  object: string;
  /** The writer's clock when it reserved (ms): also the object's append time. */
  reservedAt: number;
  /** When the previous commit number was reserved (ms), 0 for the first: bounds its writer's deadline. */
  previousReservedAt: number;
  batches: CommitBatch[];
  /** Every partition's next offset after this commit (partition -> offset), ascending. */
  vector: Map<number, number>;
  producer?: CommitProducer;
}

/** A commit number settled without data: its writer died, gave up, or failed. */
export interface AbortedCommit {
  kind: 'aborted';
  commit: number;
  /** When it was declared aborted (ms). */
  abortedAt: number;
}

export type Commit = PublishedCommit | AbortedCommit;

/** What a commit's packed attribute holds. */
export interface CommitBody {
  vector: Map<number, number>;
  batches: CommitBatch[];
  producer?: CommitProducer;
}

/** Partition p's sequence. */
export function sequenceOf(partition: number, sequences: number): number {
  return partition % sequences;
}

/** The partitions of sequence `sequence`, ascending. */
export function partitionsOfSequence(
  sequence: number,
  sequences: number,
  partitions: number,
): number[] {
  const out: number[] = [];
  for (let p = sequence; p < partitions; p += sequences) out.push(p);
  return out;
}

/** Partitions per sequence above which a topic gets another sequence by default. */
export const PARTITIONS_PER_SEQUENCE = 64;

/** The default number of commit sequences for a topic of `partitions` partitions. */
export function defaultSequences(partitions: number): number {
  return Math.max(1, Math.ceil(partitions / PARTITIONS_PER_SEQUENCE));
}

/**
 * The topic-creation config that sets the number of sequences. One sequence takes about 1,000
 * write units a second in DynamoDB (docs/architecture.md): more sequences let one topic take
 * more requests, at one commit (and one object) per sequence a request touches.
 */
export const COMMIT_SEQUENCES_CONFIG = 'commit.sequences';

export function parseCommitSequences(raw: unknown, partitions: number): number {
  if (raw === undefined) return defaultSequences(partitions);
  const parsed = parseStrictInteger(raw);
  const value = parsed.ok ? parsed.value : Number.NaN;
  if (!(value >= 1 && value <= partitions)) {
    throw new EventLogError(
      'INVALID_CONFIG',
      `${COMMIT_SEQUENCES_CONFIG} must be an integer from 1 to the partition count (${partitions}), got ${String(raw)}`,
    );
  }
  return value;
}

// --- packing -------------------------------------------------------------------------------

class Writer {
  private buf = new Uint8Array(256);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(value: number): this {
    this.ensure(1);
    this.buf[this.length++] = value;
    return this;
  }

  /** Unsigned LEB128 of a non-negative safe integer (arithmetic, not 32-bit bit operations). */
  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new EventLogError('INTERNAL', `Cannot pack ${value} as an unsigned varint`);
    }
    this.ensure(8);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
    return this;
  }

  zvarint(value: number): this {
    return this.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

class Reader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  private fail(what: string): never {
    throw new EventLogError('CORRUPT_RECORD', `Commit entry is malformed: ${what}`);
  }

  byte(): number {
    if (this.pos >= this.buf.length) this.fail('truncated');
    return this.buf[this.pos++] as number;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) this.fail('varint out of range');
        return value;
      }
      scale *= 0x80;
    }
    return this.fail('varint too long');
  }

  zvarint(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  done(): void {
    if (this.pos !== this.buf.length) this.fail('trailing bytes');
  }
}

/** Packs a commit's vector, batches and producer; `reservedAt` anchors the timestamps. */
export function packCommitBody(body: CommitBody, reservedAt: number): Uint8Array {
  const w = new Writer().byte(COMMIT_FORMAT);
  const vector = [...body.vector.entries()].sort((a, b) => a[0] - b[0]);
  w.varint(vector.length);
  let previous = -1;
  for (const [partition, next] of vector) {
    w.varint(partition - previous - 1).varint(next);
    previous = partition;
  }
  const batches = [...body.batches].sort((a, b) => a.partition - b.partition);
  w.varint(batches.length);
  previous = -1;
  for (const b of batches) {
    if (b.partition <= previous) {
      throw new EventLogError('INTERNAL', `Commit has two batches for partition ${b.partition}`);
    }
    w.varint(b.partition - previous - 1)
      .varint(b.count)
      .varint(b.position)
      .varint(b.length)
      .zvarint(b.minTimestamp - reservedAt)
      .varint(b.maxTimestamp - b.minTimestamp)
      .varint(b.bytes);
    previous = b.partition;
  }
  if (body.producer === undefined) {
    w.byte(0);
  } else {
    w.byte(1).varint(body.producer.producerId).varint(body.producer.producerEpoch);
    for (const b of batches) w.varint(b.baseSequence ?? 0);
  }
  return w.bytes();
}

/** Unpacks what packCommitBody wrote; base offsets come from the vector. */
export function unpackCommitBody(bytes: Uint8Array, reservedAt: number): CommitBody {
  const r = new Reader(bytes);
  const format = r.byte();
  if (format !== COMMIT_FORMAT) {
    throw new EventLogError('CORRUPT_RECORD', `Commit entry has unknown format ${format}`);
  }
  const vector = new Map<number, number>();
  const vectorLength = r.varint();
  let partition = -1;
  for (let i = 0; i < vectorLength; i++) {
    partition += r.varint() + 1;
    vector.set(partition, r.varint());
  }
  const batchCount = r.varint();
  const batches: CommitBatch[] = [];
  partition = -1;
  for (let i = 0; i < batchCount; i++) {
    partition += r.varint() + 1;
    const count = r.varint();
    const position = r.varint();
    const length = r.varint();
    const minTimestamp = reservedAt + r.zvarint();
    const maxTimestamp = minTimestamp + r.varint();
    const bytes = r.varint();
    const next = vector.get(partition);
    if (next === undefined || next < count) {
      throw new EventLogError(
        'CORRUPT_RECORD',
        `Commit entry's batch for partition ${partition} is not covered by its vector`,
      );
    }
    batches.push({
      partition,
      baseOffset: next - count,
      count,
      position,
      length,
      minTimestamp,
      maxTimestamp,
      bytes,
    });
  }
  let producer: CommitProducer | undefined;
  if (r.byte() === 1) {
    producer = { producerId: r.varint(), producerEpoch: r.varint() };
    for (const b of batches) b.baseSequence = r.varint();
  }
  r.done();
  return { vector, batches, ...(producer === undefined ? {} : { producer }) };
}

/** Packs a partition -> number map (a vector, log starts, byte counts) as in the commit layout. */
export function packPartitionMap(map: ReadonlyMap<number, number>): Uint8Array {
  const w = new Writer();
  const entries = [...map.entries()].sort((a, b) => a[0] - b[0]);
  w.varint(entries.length);
  let previous = -1;
  for (const [partition, value] of entries) {
    w.varint(partition - previous - 1).varint(value);
    previous = partition;
  }
  return w.bytes();
}

export function unpackPartitionMap(bytes: Uint8Array | undefined): Map<number, number> {
  const map = new Map<number, number>();
  if (bytes === undefined || bytes.length === 0) return map;
  const r = new Reader(bytes);
  const length = r.varint();
  let partition = -1;
  for (let i = 0; i < length; i++) {
    partition += r.varint() + 1;
    map.set(partition, r.varint());
  }
  r.done();
  return map;
}

// --- reading a sequence ----------------------------------------------------------------------

/**
 * The settled prefix of a sequence: every commit number below `next` is published or aborted.
 * `vector` is the offset vector of the last published commit in it (empty before any), so a
 * partition's high watermark is `vector.get(p) ?? 0`: offsets an aborted commit reserved past
 * it hold nothing and are skipped when the next published commit shows where they end.
 */
export interface SettledPrefix {
  /** The first commit number not known to be settled. */
  next: number;
  vector: ReadonlyMap<number, number>;
}

export const EMPTY_PREFIX: SettledPrefix = { next: 1, vector: new Map() };

/** A hole: commit numbers [from, to) missing below a published commit, and when its writers' time ends. */
export interface CommitHole {
  from: number;
  to: number;
  /** The latest of the missing commits was reserved at this time (the next commit's previousReservedAt). */
  reservedBy: number;
}

/**
 * Walks `commits` (ascending, any numbers >= prefix.next) from the prefix: extends it over the
 * contiguous run and stops at the first missing number, which is returned as a hole when a
 * later commit is present (a missing number with nothing after it is an in-flight reservation
 * at the tail, which holds nobody back).
 */
export function extendPrefix(
  prefix: SettledPrefix,
  commits: readonly Commit[],
): { prefix: SettledPrefix; used: Commit[]; hole?: CommitHole } {
  let next = prefix.next;
  let vector = prefix.vector;
  const used: Commit[] = [];
  for (let i = 0; i < commits.length; i++) {
    const commit = commits[i] as Commit;
    if (commit.commit < next) continue;
    if (commit.commit > next) {
      const reservedBy =
        commit.kind === 'published' ? commit.previousReservedAt : Number.POSITIVE_INFINITY;
      return {
        prefix: { next, vector },
        used,
        hole: {
          from: next,
          to: commit.commit,
          // An aborted marker does not know when its predecessor was reserved: the first
          // published commit after the hole does.
          reservedBy:
            commit.kind === 'published'
              ? reservedBy
              : (firstPublishedAfter(commits, i)?.previousReservedAt ?? Number.POSITIVE_INFINITY),
        },
      };
    }
    used.push(commit);
    if (commit.kind === 'published') vector = commit.vector;
    next++;
  }
  return { prefix: { next, vector }, used };
}

function firstPublishedAfter(commits: readonly Commit[], i: number): PublishedCommit | undefined {
  for (let j = i; j < commits.length; j++) {
    const c = commits[j] as Commit;
    if (c.kind === 'published') return c;
  }
  return undefined;
}

/** Whether the writers of a hole's commits can no longer publish, at `now`. */
export function holeExpired(hole: CommitHole, now: number, graceMs: number): boolean {
  return now > hole.reservedBy + graceMs;
}

/** The batch of `partition` in a published commit, if it touched the partition. */
export function batchOf(commit: Commit, partition: number): CommitBatch | undefined {
  if (commit.kind !== 'published') return undefined;
  for (const b of commit.batches) if (b.partition === partition) return b;
  return undefined;
}

// --- where objects go ------------------------------------------------------------------------

/**
 * Objects of one sequence are spread over this many key prefixes. S3 scales request rates per
 * prefix (about 3,500 writes and 5,500 reads a second each) and time-ordered keys would put
 * every new object of a topic at the end of one key range.
 */
export const SEGMENT_SPREAD = 8;

/** Where segment objects live in the bucket. */
export const SEGMENT_ROOT = 'segments/';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The object key of a commit's object: `{root}{topicId}/{sequence}/{spread}/{ulid}`. The spread
 * is the ULID's last character (5 random bits) modulo 8: each prefix gets exactly an eighth.
 */
export function segmentKey(root: string, topicId: string, sequence: number, id: string): string {
  const digit = Math.max(0, CROCKFORD.indexOf(id.charAt(id.length - 1)));
  return `${root}${topicId}/${sequence}/${digit % SEGMENT_SPREAD}/${id}`;
}

/** The id a segment key ends with (what a commit stores: the rest follows from its key). */
export function segmentId(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** Every prefix a sequence's objects are under, for listings. */
export function segmentPrefixes(root: string, topicId: string, sequence: number): string[] {
  return Array.from({ length: SEGMENT_SPREAD }, (_, i) => `${root}${topicId}/${sequence}/${i}/`);
}
