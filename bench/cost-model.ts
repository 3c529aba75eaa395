import { PRICES, type PriceTable } from './prices.js';

/**
 * The monthly AWS bill of a workload: on this event log (from the AWS calls counted per
 * operation), on Kinesis Data Streams (provisioned and on-demand) and on MSK Serverless.
 * Pure arithmetic; every input is a parameter, so the unit tests can check each line by hand
 * and the benchmark can feed in what it counted.
 *
 * Units: a month is 730 hours (AWS's convention); "GB" in a price is 2^30 bytes; DynamoDB
 * bills writes per 1 KB (1024 B) of item, strongly consistent reads per 4 KB; API Gateway
 * HTTP APIs meter a request per 512 KB (524288 B) of its size; Kinesis rounds each record up
 * to 1 KB for on-demand data and to 25 KB for a provisioned PUT payload unit.
 */

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;
export const KIB = 1024;
const DAY_SECONDS = 86_400;
const API_GATEWAY_INCREMENT = 512 * KIB;
const KINESIS_PUT_PAYLOAD_UNIT = 25 * KIB;

export interface Workload {
  name: string;
  /** Key + value bytes of one record. */
  recordBytes: number;
  recordsPerRequest: number;
  requestsPerSecond: number;
  /** The topic's partitions (Kinesis shards are sized separately, by their own limits). */
  partitions: number;
  /** Partitions a produce request writes to (its records spread over them). */
  partitionsTouched: number;
  /** Commit sequences of the topic (v2's `commit.sequences`; default 1 up to 64 partitions). */
  sequences?: number;
  retentionDays: number;
  consumerGroups: number;
}

/**
 * The storage engine whose calls are priced: 0.1 (per partition touched, a reservation and an
 * index entry; a GET per batch per group) or v2 (per commit sequence touched, one reservation
 * and one commit whatever the partitions; a GET per object per reading process).
 */
export type Engine = '0.1' | 'v2';

/** What one operation costs in AWS calls: counted by the benchmark, or the design's figures. */
export interface ProtocolCounts {
  engine: Engine;
  /** S3 PUTs per commit sequence a request touches (one object each). */
  s3PutsPerRequest: number;
  /** 0.1: DynamoDB write units per partition a request touches (reservation + index entry). */
  writeUnitsPerPartition: number;
  /**
   * v2: bytes of the sequence head item (billed on each reservation): base + per partition of
   * the sequence (one offset attribute each, every partition written once in steady state).
   */
  headItemBytes: { base: number; perPartition: number };
  /**
   * v2: bytes of a commit item: base + per partition of the sequence (its offset vector) + per
   * batch (partition touched).
   */
  commitItemBytes: { base: number; perPartition: number; perBatch: number };
  /**
   * Bytes added per partition to the head and to a commit's vector once offsets are large
   * (the bench measures small offsets: 1-2 byte numbers, where a week of traffic needs 4-5).
   */
  largeOffsetBytesPerPartition: number;
  /** Read units of one topic lookup (a strongly consistent GetItem of the topic item). */
  readUnitsPerTopicLookup: number;
  /**
   * 0.1: read units per partition a poll reads (partition head + index query).
   * v2: read units of a poll that finds one new commit (sequence meta + one Query), the
   * measured tail fetch; a poll finding k commits reads their bytes in the Query (4 KB units).
   */
  readUnitsPerPoll: number;
  /** Bytes a record takes in a segment beyond its key and value (varints, attributes). */
  recordOverheadBytes: number;
  /** Bytes per RecordBatch header (61 in Kafka's v2 format). */
  batchOverheadBytes: number;
  /** 0.1: stored size of one index item per batch (DynamoDB storage). */
  indexItemBytes: number;
  /** Stored bytes / uncompressed bytes (1 = no compression). */
  compressionRatio: number;
}

/** Storage engine 0.1 as designed and measured (docs/cost-model.md before v2). */
export const V01_COUNTS: ProtocolCounts = {
  engine: '0.1',
  s3PutsPerRequest: 1,
  writeUnitsPerPartition: 2,
  headItemBytes: { base: 0, perPartition: 0 },
  commitItemBytes: { base: 0, perPartition: 0, perBatch: 0 },
  largeOffsetBytesPerPartition: 0,
  readUnitsPerTopicLookup: 1,
  readUnitsPerPoll: 2,
  recordOverheadBytes: 10,
  batchOverheadBytes: 61,
  indexItemBytes: 250,
  compressionRatio: 1,
};

/**
 * Storage engine v2 as designed (lib/log/commit.ts): item sizes of the order the bench
 * measures (it replaces them with what it measured).
 */
export const V2_COUNTS: ProtocolCounts = {
  engine: 'v2',
  s3PutsPerRequest: 1,
  writeUnitsPerPartition: 0,
  headItemBytes: { base: 60, perPartition: 5 },
  commitItemBytes: { base: 140, perPartition: 4, perBatch: 12 },
  largeOffsetBytesPerPartition: 3,
  readUnitsPerTopicLookup: 1,
  readUnitsPerPoll: 2,
  recordOverheadBytes: 10,
  batchOverheadBytes: 61,
  indexItemBytes: 0,
  compressionRatio: 1,
};

/** The counts the model prices by default: today's engine. */
export const DESIGN_COUNTS: ProtocolCounts = V2_COUNTS;

/**
 * How consumers read. 'one process per group' (the fixed model of issue 13): each group is one
 * reading process owning all of the topic's partitions; it polls at most `maxPollsPerSecond`
 * times a second while caught up, and at once again while its answers come back full (a
 * fetch answer holds at most `maxFetchBytes` of body). 'fetch per partition' (the model the
 * 0.1 figures were published with): each partition is fetched on its own, at most
 * `maxPollsPerSecond` times a second.
 */
export type ConsumerModel = 'one process per group' | 'fetch per partition';

export interface Deployment {
  /** Memory of the API function (1024 MB in lib/infra). */
  lambdaMemoryGb: number;
  /** Billed duration of one produce invocation; the benchmark uses its measured ack latency. */
  produceDurationMs: number;
  /** Billed duration of one fetch invocation (a tail poll). */
  fetchDurationMs: number;
  /** Billed duration of a full fetch (maxFetchBytes of records), when polls are byte-bound. */
  fullFetchDurationMs: number;
  consumerModel: ConsumerModel;
  /** Polls per second at most (per group, or per partition in the 0.1 model). */
  maxPollsPerSecond: number;
  /** Body bytes of one fetch answer at most (FETCH_LIMITS.maxBytes, measured on the body). */
  maxFetchBytes: number;
  /** HTTP body bytes per payload byte (base64 in JSON: 4/3). */
  httpExpansion: number;
  /** How long a warm function trusts its copy of a topic (TopicService's cache, 1 s). */
  topicCacheTtlMs: number;
  /** 0 removes the API Gateway line (a Lambda function URL as the front door). */
  apiGatewayShare: number;
}

export const DEFAULT_DEPLOYMENT: Deployment = {
  lambdaMemoryGb: 1,
  produceDurationMs: 100,
  fetchDurationMs: 50,
  fullFetchDurationMs: 200,
  consumerModel: 'one process per group',
  maxPollsPerSecond: 5,
  maxFetchBytes: 4 * MIB,
  httpExpansion: 4 / 3,
  topicCacheTtlMs: 1000,
  apiGatewayShare: 1,
};

export interface CostLine {
  item: string;
  /** Dollars a month. */
  usd: number;
  /** How it was computed, in words and numbers. */
  detail: string;
}

export interface CostEstimate {
  system: string;
  lines: CostLine[];
  totalUsd: number;
}

export function recordsPerSecond(w: Workload): number {
  return w.requestsPerSecond * w.recordsPerRequest;
}

export function bytesPerSecond(w: Workload): number {
  return recordsPerSecond(w) * w.recordBytes;
}

function estimate(system: string, lines: CostLine[]): CostEstimate {
  return { system, lines, totalUsd: lines.reduce((sum, line) => sum + line.usd, 0) };
}

const fmt = (n: number): string =>
  n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3);

/** Segment bytes one request writes to S3 (before compression of the records). */
export function segmentBytesPerRequest(w: Workload, c: ProtocolCounts): number {
  const records = w.recordsPerRequest * (w.recordBytes + c.recordOverheadBytes);
  return w.partitionsTouched * c.batchOverheadBytes + records * c.compressionRatio;
}

/** The topic's commit sequences (v2's default: one per 64 partitions). */
export function sequencesOf(w: Workload): number {
  return w.sequences ?? Math.max(1, Math.ceil(w.partitions / 64));
}

/**
 * Commit sequences one request touches: its partitions spread over the sequences (partition
 * p is in sequence p % sequences), so min(touched, sequences).
 */
export function sequencesTouched(w: Workload, c: ProtocolCounts): number {
  return c.engine === '0.1' ? 1 : Math.min(w.partitionsTouched, sequencesOf(w));
}

/** v2: the bytes of the head item and of one commit item of this workload. */
export function v2ItemBytes(w: Workload, c: ProtocolCounts): { head: number; commit: number } {
  const perSequence = Math.ceil(w.partitions / sequencesOf(w));
  const touchedPerSequence = w.partitionsTouched / sequencesTouched(w, c);
  const large = c.largeOffsetBytesPerPartition;
  return {
    head: c.headItemBytes.base + perSequence * (c.headItemBytes.perPartition + large),
    commit:
      c.commitItemBytes.base +
      perSequence * (c.commitItemBytes.perPartition + large) +
      touchedPerSequence * c.commitItemBytes.perBatch,
  };
}

/** DynamoDB write units per produce request. */
export function writeUnitsPerRequest(w: Workload, c: ProtocolCounts): number {
  if (c.engine === '0.1') return w.partitionsTouched * c.writeUnitsPerPartition;
  const items = v2ItemBytes(w, c);
  return sequencesTouched(w, c) * (writeUnits(items.head) + writeUnits(items.commit));
}

/** How the consumer groups read: polls, GETs and read units per second over all groups. */
export interface ReadPlan {
  /** Fetch requests (HTTP requests and invocations) per second, all groups. */
  pollsPerSecond: number;
  /** True when polls are bound by the answer size, not by the poll rate. */
  byteBound: boolean;
  /** Body bytes of one fetch answer. */
  fetchBodyBytes: number;
  getsPerSecond: number;
  readUnitsPerSecond: number;
  /** In words, for the line details. */
  detail: string;
}

export function readPlan(w: Workload, c: ProtocolCounts, d: Deployment): ReadPlan {
  const rps = w.requestsPerSecond;
  const groups = w.consumerGroups;
  const bodyPerSecond = bytesPerSecond(w) * d.httpExpansion;
  const batchesPerSecond = rps * w.partitionsTouched;
  if (d.consumerModel === 'fetch per partition') {
    // 0.1's published model: each partition fetched on its own, at most maxPolls a second.
    const perPartition = batchesPerSecond / w.partitions;
    const polls = groups * w.partitions * Math.min(perPartition, d.maxPollsPerSecond);
    return {
      pollsPerSecond: polls,
      byteBound: false,
      fetchBodyBytes: polls === 0 ? 0 : (bodyPerSecond * groups) / polls,
      getsPerSecond: batchesPerSecond * groups,
      readUnitsPerSecond: polls * c.readUnitsPerPoll,
      detail: `${fmt(polls)} partition fetches/s (${groups} groups x ${w.partitions} partitions x ${fmt(Math.min(perPartition, d.maxPollsPerSecond))}/s)`,
    };
  }
  // One process per group: polls at the commit rate up to maxPolls a second, more when the
  // answers are full.
  const rateBound = Math.min(rps, d.maxPollsPerSecond);
  const sizeBound = bodyPerSecond / d.maxFetchBytes;
  const perGroup = Math.max(rateBound, sizeBound);
  const byteBound = sizeBound > rateBound;
  const polls = groups * perGroup;
  const commitsPerPoll = perGroup === 0 ? 0 : rps / perGroup;
  let gets: number;
  let unitsPerPoll: number;
  let how: string;
  if (c.engine === '0.1') {
    // One GET per batch; per poll, each partition with new batches is read on its own.
    const partitionsRead = Math.min(w.partitions, commitsPerPoll * w.partitionsTouched);
    gets = batchesPerSecond * groups;
    unitsPerPoll = partitionsRead * c.readUnitsPerPoll;
    how = `${fmt(partitionsRead)} partitions read per poll x ${fmt(c.readUnitsPerPoll)} RRU`;
  } else {
    // One GET per object, ranges merged; a full answer may end inside an object, whose rest
    // the next poll reads with one more GET.
    const objectsPerSecond = rps * sequencesTouched(w, c);
    gets = groups * (objectsPerSecond + (byteBound ? perGroup : 0));
    const sequences = sequencesOf(w);
    const commitsPerSequencePoll = (commitsPerPoll * sequencesTouched(w, c)) / sequences;
    const queryUnits = Math.max(
      1,
      Math.ceil((commitsPerSequencePoll * v2ItemBytes(w, c).commit) / (4 * KIB)),
    );
    unitsPerPoll = sequences * (c.readUnitsPerPoll - 1 + queryUnits);
    how = `${fmt(commitsPerPoll)} commits per poll: ${fmt(unitsPerPoll)} RRU per poll (meta + Query of ${queryUnits} x 4 KB per sequence)`;
  }
  return {
    pollsPerSecond: polls,
    byteBound,
    fetchBodyBytes: polls === 0 ? 0 : (bodyPerSecond * groups) / polls,
    getsPerSecond: gets,
    readUnitsPerSecond: polls * unitsPerPoll,
    detail: `${fmt(polls)} polls/s (${groups} groups x ${fmt(perGroup)}/s, ${byteBound ? `bound by ${fmt(d.maxFetchBytes / MIB)} MiB answers` : `at most ${d.maxPollsPerSecond}/s`}); ${how}`,
  };
}

/**
 * Topic lookups per second: each warm produce function looks the topic up once per cache
 * lifetime; the warm functions are the requests in flight (rate x duration), at least one.
 */
export function topicLookupsPerSecond(w: Workload, d: Deployment): number {
  if (w.requestsPerSecond === 0) return 0;
  const warm = Math.max(1, w.requestsPerSecond * (d.produceDurationMs / 1000));
  return Math.min(w.requestsPerSecond, warm / (d.topicCacheTtlMs / 1000));
}

/** API Gateway HTTP API billable requests for one request or response of `bytes`. */
export function apiGatewayUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / API_GATEWAY_INCREMENT));
}

/** DynamoDB write units for an item of `bytes` (1 per KB, rounded up). */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / KIB));
}

export function eventLogCost(
  w: Workload,
  c: ProtocolCounts = DESIGN_COUNTS,
  d: Deployment = DEFAULT_DEPLOYMENT,
  p: PriceTable = PRICES,
): CostEstimate {
  const T = SECONDS_PER_MONTH;
  const rps = w.requestsPerSecond;
  const segmentBytes = segmentBytesPerRequest(w, c);
  const storedGb = (rps * segmentBytes * w.retentionDays * DAY_SECONDS) / GIB;
  const putsPerSecond = rps * c.s3PutsPerRequest * sequencesTouched(w, c);
  const wruPerRequest = writeUnitsPerRequest(w, c);
  const writeUnitsPerSecond = rps * wruPerRequest;
  const reads = readPlan(w, c, d);
  const lookups = topicLookupsPerSecond(w, d);
  const readUnitsPerSecond = lookups * c.readUnitsPerTopicLookup + reads.readUnitsPerSecond;
  const metadataItemsPerSecond =
    c.engine === '0.1' ? rps * w.partitionsTouched : rps * sequencesTouched(w, c);
  const metadataItemBytes = c.engine === '0.1' ? c.indexItemBytes : v2ItemBytes(w, c).commit;
  const metadataGb =
    (metadataItemsPerSecond * metadataItemBytes * w.retentionDays * DAY_SECONDS) / GIB;
  const requestBodyBytes = w.recordsPerRequest * w.recordBytes * d.httpExpansion;
  const polls = reads.pollsPerSecond;
  const apiUnitsPerSecond =
    rps * apiGatewayUnits(requestBodyBytes) + polls * apiGatewayUnits(reads.fetchBodyBytes);
  const invocationsPerSecond = rps + polls;
  const fetchMs = reads.byteBound ? d.fullFetchDurationMs : d.fetchDurationMs;
  const gbSecondsPerSecond =
    (d.lambdaMemoryGb * (rps * d.produceDurationMs + polls * fetchMs)) / 1000;
  const items = c.engine === 'v2' ? v2ItemBytes(w, c) : undefined;

  return estimate(
    `eventlog ${c.engine} (S3 + DynamoDB on-demand + API Gateway HTTP + Lambda arm64)`,
    [
      {
        item: 'S3 PUT',
        usd: putsPerSecond * T * p.s3.put.usd,
        detail: `${fmt(rps)} req/s x ${fmt(putsPerSecond / Math.max(rps, 1e-12))} PUT`,
      },
      {
        item: 'S3 storage',
        usd: storedGb * p.s3.storageGbMonth.usd,
        detail: `${fmt(storedGb)} GB kept (${w.retentionDays} days of ${fmt((rps * segmentBytes) / 1e6)} MB/s of segments)`,
      },
      {
        item: 'S3 GET',
        usd: reads.getsPerSecond * T * p.s3.get.usd,
        detail:
          c.engine === '0.1'
            ? `${fmt(reads.getsPerSecond)} GET/s: ${fmt(rps * w.partitionsTouched)} batches/s x ${w.consumerGroups} groups`
            : `${fmt(reads.getsPerSecond)} GET/s: each object once per group${reads.byteBound ? ', plus one per full answer (it may end inside an object)' : ''}`,
      },
      {
        item: 'DynamoDB writes',
        usd: writeUnitsPerSecond * T * p.dynamodb.writeRequestUnit.usd,
        detail:
          items === undefined
            ? `${fmt(writeUnitsPerSecond)} WRU/s: ${w.partitionsTouched} partitions x ${c.writeUnitsPerPartition} per request`
            : `${fmt(writeUnitsPerSecond)} WRU/s: ${fmt(wruPerRequest)} per request (head ${fmt(items.head)} B = ${writeUnits(items.head)} WRU, commit ${fmt(items.commit)} B = ${writeUnits(items.commit)} WRU${sequencesTouched(w, c) > 1 ? `, x ${sequencesTouched(w, c)} sequences` : ''})`,
      },
      {
        item: 'DynamoDB reads',
        usd: readUnitsPerSecond * T * p.dynamodb.readRequestUnit.usd,
        detail: `${fmt(readUnitsPerSecond)} RRU/s: ${reads.detail}; + ${fmt(lookups)} topic lookups/s x ${fmt(c.readUnitsPerTopicLookup)}`,
      },
      {
        item: 'DynamoDB storage',
        usd: metadataGb * p.dynamodb.storageGbMonth.usd,
        detail: `${fmt(metadataGb)} GB of ${c.engine === '0.1' ? 'index items' : 'commit items'}`,
      },
      {
        item: 'API Gateway',
        usd: d.apiGatewayShare * apiUnitsPerSecond * T * p.apiGateway.httpRequest.usd,
        detail:
          d.apiGatewayShare === 0
            ? 'none: a Lambda function URL is the front door'
            : `${fmt(apiUnitsPerSecond)} metered requests/s (produce ${apiGatewayUnits(requestBodyBytes)} x 512 KB each, ${fmt(polls)} fetches/s of ${apiGatewayUnits(reads.fetchBodyBytes)} x 512 KB)`,
      },
      {
        item: 'Lambda requests',
        usd: invocationsPerSecond * T * p.lambda.request.usd,
        detail: `${fmt(invocationsPerSecond)} invocations/s`,
      },
      {
        item: 'Lambda duration',
        usd: gbSecondsPerSecond * T * p.lambda.gbSecondArm.usd,
        detail: `${fmt(gbSecondsPerSecond)} GB-s/s (produce ${fmt(d.produceDurationMs)} ms, fetch ${fmt(fetchMs)} ms at ${d.lambdaMemoryGb} GB)`,
      },
    ],
  );
}

/** Shards a provisioned stream needs: 1 MiB/s and 1000 records/s in, 2 MiB/s out shared by all readers. */
export function kinesisShards(w: Workload, enhancedFanOut: boolean): number {
  const write = Math.max(bytesPerSecond(w) / MIB, recordsPerSecond(w) / 1000);
  const read = enhancedFanOut ? 0 : (bytesPerSecond(w) * w.consumerGroups) / (2 * MIB);
  return Math.max(1, Math.ceil(Math.max(write, read) - 1e-9));
}

export function kinesisProvisionedCost(
  w: Workload,
  options: { enhancedFanOut: boolean },
  p: PriceTable = PRICES,
): CostEstimate {
  const T = SECONDS_PER_MONTH;
  const k = p.kinesisProvisioned;
  const shards = kinesisShards(w, options.enhancedFanOut);
  const unitsPerRecord = Math.ceil(w.recordBytes / KINESIS_PUT_PAYLOAD_UNIT);
  const lines: CostLine[] = [
    {
      item: 'shard-hours',
      usd: shards * HOURS_PER_MONTH * k.shardHour.usd,
      detail: `${shards} shards`,
    },
    {
      item: 'PUT payload units',
      usd: recordsPerSecond(w) * unitsPerRecord * T * k.putPayloadUnit.usd,
      detail: `${fmt(recordsPerSecond(w))} records/s x ${unitsPerRecord} unit`,
    },
  ];
  if (w.retentionDays > 1) {
    lines.push({
      item: 'extended retention',
      usd: shards * HOURS_PER_MONTH * k.extendedRetentionShardHour.usd,
      detail: `${shards} shards, ${w.retentionDays} days`,
    });
  }
  if (options.enhancedFanOut) {
    const gbOut = (bytesPerSecond(w) * w.consumerGroups * T) / GIB;
    lines.push(
      {
        item: 'enhanced fan-out consumer-shard-hours',
        usd: w.consumerGroups * shards * HOURS_PER_MONTH * k.efoConsumerShardHour.usd,
        detail: `${w.consumerGroups} consumers x ${shards} shards`,
      },
      {
        item: 'enhanced fan-out data',
        usd: gbOut * k.efoDataGb.usd,
        detail: `${fmt(gbOut)} GB read`,
      },
    );
  }
  return estimate(
    `Kinesis provisioned (${options.enhancedFanOut ? 'enhanced fan-out' : 'shared reads'})`,
    lines,
  );
}

export function kinesisOnDemandCost(
  w: Workload,
  options: { enhancedFanOut: boolean },
  p: PriceTable = PRICES,
): CostEstimate {
  const T = SECONDS_PER_MONTH;
  const k = p.kinesisOnDemand;
  // Data is billed per record rounded up to 1 KB.
  const billedBytesPerSecond = recordsPerSecond(w) * Math.ceil(w.recordBytes / KIB) * KIB;
  const gbIn = (billedBytesPerSecond * T) / GIB;
  const gbOut = gbIn * w.consumerGroups;
  const lines: CostLine[] = [
    { item: 'stream-hours', usd: HOURS_PER_MONTH * k.streamHour.usd, detail: '1 stream' },
    { item: 'data in', usd: gbIn * k.dataInGb.usd, detail: `${fmt(gbIn)} GB (1 KB rounding)` },
    {
      item: options.enhancedFanOut ? 'data out (enhanced fan-out)' : 'data out',
      usd: gbOut * (options.enhancedFanOut ? k.efoDataOutGb.usd : k.dataOutGb.usd),
      detail: `${fmt(gbOut)} GB (${w.consumerGroups} consumers)`,
    },
  ];
  if (w.retentionDays > 1) {
    const extendedGb = (billedBytesPerSecond * (w.retentionDays - 1) * DAY_SECONDS) / GIB;
    lines.push({
      item: 'extended retention',
      usd: extendedGb * k.extendedRetentionGbMonth.usd,
      detail: `${fmt(extendedGb)} GB kept beyond 24 h`,
    });
  }
  return estimate(
    `Kinesis on-demand (${options.enhancedFanOut ? 'enhanced fan-out' : 'shared reads'})`,
    lines,
  );
}

export function mskServerlessCost(w: Workload, p: PriceTable = PRICES): CostEstimate {
  const T = SECONDS_PER_MONTH;
  const m = p.mskServerless;
  const gbIn = (bytesPerSecond(w) * T) / GIB;
  const gbOut = gbIn * w.consumerGroups;
  const storedGb = (bytesPerSecond(w) * w.retentionDays * DAY_SECONDS) / GIB;
  return estimate('MSK Serverless', [
    { item: 'cluster-hours', usd: HOURS_PER_MONTH * m.clusterHour.usd, detail: '1 cluster' },
    {
      item: 'partition-hours',
      usd: w.partitions * HOURS_PER_MONTH * m.partitionHour.usd,
      detail: `${w.partitions} partitions`,
    },
    { item: 'data in', usd: gbIn * m.dataInGb.usd, detail: `${fmt(gbIn)} GB` },
    { item: 'data out', usd: gbOut * m.dataOutGb.usd, detail: `${fmt(gbOut)} GB` },
    {
      item: 'storage',
      usd: storedGb * m.storageGbMonth.usd,
      detail: `${fmt(storedGb)} GB kept ${w.retentionDays} days`,
    },
  ]);
}

/** The three workloads of the issue, each with 7 days' retention and two consumer groups. */
export function standardWorkloads(): Workload[] {
  const base = { retentionDays: 7, consumerGroups: 2 };
  return [
    {
      name: '(a) 1 MB/s of 1 KiB records, 100 per request',
      recordBytes: KIB,
      recordsPerRequest: 100,
      requestsPerSecond: 1e6 / (100 * KIB),
      partitions: 4,
      partitionsTouched: 4,
      ...base,
    },
    {
      name: '(b) 1000 requests/s of one 1 KiB record',
      recordBytes: KIB,
      recordsPerRequest: 1,
      requestsPerSecond: 1000,
      partitions: 4,
      partitionsTouched: 1,
      ...base,
    },
    {
      name: '(c) 50 MB/s of 16 KiB records in 1 MiB requests',
      recordBytes: 16 * KIB,
      recordsPerRequest: 64,
      requestsPerSecond: 50e6 / (64 * 16 * KIB),
      partitions: 64,
      partitionsTouched: 64,
      ...base,
    },
  ];
}

export interface Comparison {
  workload: Workload;
  estimates: CostEstimate[];
}

/** The workload on every system; the event log first. */
export function compare(
  w: Workload,
  counts: ProtocolCounts = DESIGN_COUNTS,
  deployment: Deployment = DEFAULT_DEPLOYMENT,
  p: PriceTable = PRICES,
): Comparison {
  return {
    workload: w,
    estimates: [
      eventLogCost(w, counts, deployment, p),
      kinesisProvisionedCost(w, { enhancedFanOut: false }, p),
      kinesisProvisionedCost(w, { enhancedFanOut: true }, p),
      kinesisOnDemandCost(w, { enhancedFanOut: false }, p),
      kinesisOnDemandCost(w, { enhancedFanOut: true }, p),
      mskServerlessCost(w, p),
    ],
  };
}

/** Levers not built yet, priced on top of today's engine. */
export type DesignChange =
  | 'function URL front door'
  | 'batching producers'
  | 'compression'
  | 'all of the above';

export const DESIGN_CHANGES: readonly DesignChange[] = [
  'function URL front door',
  'batching producers',
  'compression',
  'all of the above',
];

/** What each change means, for the report. */
export const DESIGN_CHANGE_NOTES: Record<DesignChange, string> = {
  'function URL front door':
    'a Lambda function URL instead of API Gateway in front of the API (no per-request charge; IAM auth still available)',
  'batching producers':
    "producers send at least 100 records per request, grouped per partition as Kafka's producer does (one partition per request)",
  compression: 'segments compressed (gzip ratio measured on JSON-like records)',
  'all of the above': 'the three together',
};

/** The levers that were priced before v2 and are now built (docs/cost-model.md). */
export const BUILT_CHANGES = [
  {
    change: 'topic-level reservation',
    how: 'one reservation (UpdateItem on the sequence head) and one commit item per request, whatever its partitions',
  },
  {
    change: 'tail readers sharing GETs',
    how: 'a multi-partition fetch reads each object once with one ranged GET covering its batches; recent GETs are shared in-process',
  },
] as const;

/** The workload, counts and deployment after a design change, to price what it would save. */
export function applyDesignChange(
  change: DesignChange,
  w: Workload,
  c: ProtocolCounts,
  d: Deployment,
  compressionRatio = 0.5,
): { workload: Workload; counts: ProtocolCounts; deployment: Deployment } {
  switch (change) {
    case 'function URL front door':
      return { workload: w, counts: c, deployment: { ...d, apiGatewayShare: 0 } };
    case 'batching producers': {
      const recordsPerRequest = Math.max(100, w.recordsPerRequest);
      return {
        workload: {
          ...w,
          recordsPerRequest,
          requestsPerSecond: (w.requestsPerSecond * w.recordsPerRequest) / recordsPerRequest,
          partitionsTouched: 1,
        },
        counts: c,
        deployment: d,
      };
    }
    case 'compression':
      return { workload: w, counts: { ...c, compressionRatio }, deployment: d };
    case 'all of the above': {
      let next = { workload: w, counts: c, deployment: d };
      for (const each of [
        'batching producers',
        'function URL front door',
        'compression',
      ] as const) {
        next = applyDesignChange(
          each,
          next.workload,
          next.counts,
          next.deployment,
          compressionRatio,
        );
      }
      return next;
    }
  }
}

/** AWS's per-key and per-prefix limits the ceilings are computed from. */
export const AWS_LIMITS = {
  /** Write units a second one DynamoDB partition key takes (one physical partition). */
  dynamoWriteUnitsPerKey: 1000,
  /** Read units a second one DynamoDB partition key takes. */
  dynamoReadUnitsPerKey: 3000,
  /** S3 requests a second per partitioned prefix. */
  s3PutsPerPrefix: 3500,
  s3GetsPerPrefix: 5500,
  /** Prefixes v2 spreads one sequence's objects over (segments/{topic}/{seq}/{0-7}/{ulid}). */
  prefixesPerSequence: 8,
} as const;

export interface SequenceCeiling {
  label: string;
  idempotent: boolean;
  headBytes: number;
  commitBytes: number;
  /** Write units per request on the head key and on the commits key. */
  headUnits: number;
  commitUnits: number;
  /** Requests a second one sequence takes (the tighter of its two keys). */
  requestsPerSecond: number;
  /** Sequences a topic needs for `target` requests a second, each request touching one sequence. */
  sequencesFor: number;
}

/**
 * Requests a second one commit sequence takes in DynamoDB: every request writes the head key
 * once (writeUnits(head)) and the commits key once (writeUnits(commit); doubled for the
 * idempotent path, whose commit put is in a transaction, billed and throttled at 2 units per
 * KB). A topic with N sequences takes N times that when each request touches one sequence; a
 * request that touches k sequences counts against k of them.
 */
export function sequenceCeiling(
  label: string,
  headBytes: number,
  commitBytes: number,
  idempotent: boolean,
  target = 5000,
): SequenceCeiling {
  const headUnits = writeUnits(headBytes);
  const commitUnits = writeUnits(commitBytes) * (idempotent ? 2 : 1);
  const requestsPerSecond = Math.floor(
    Math.min(
      AWS_LIMITS.dynamoWriteUnitsPerKey / headUnits,
      AWS_LIMITS.dynamoWriteUnitsPerKey / commitUnits,
    ),
  );
  return {
    label,
    idempotent,
    headBytes,
    commitBytes,
    headUnits,
    commitUnits,
    requestsPerSecond,
    sequencesFor: Math.ceil(target / requestsPerSecond),
  };
}

/**
 * S3 load on the busiest prefix at `requestsPerSecond` on a topic of `sequences` sequences,
 * each request one object, read once by each of `readers` processes. `busiestShare` is the
 * share of a sequence's objects its busiest prefix gets (1/8 if the spread were even).
 */
export function s3PrefixLoad(
  requestsPerSecond: number,
  sequences: number,
  readers: number,
  busiestShare = 1 / AWS_LIMITS.prefixesPerSequence,
): { prefixes: number; putsPerPrefix: number; getsPerPrefix: number; maxReaders: number } {
  const prefixes = sequences * AWS_LIMITS.prefixesPerSequence;
  const putsPerPrefix = (requestsPerSecond / sequences) * busiestShare;
  return {
    prefixes,
    putsPerPrefix,
    getsPerPrefix: putsPerPrefix * readers,
    maxReaders: Math.floor(AWS_LIMITS.s3GetsPerPrefix / putsPerPrefix),
  };
}
