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
  retentionDays: number;
  consumerGroups: number;
}

/** What one operation costs in AWS calls: counted by the benchmark, or the design's figures. */
export interface ProtocolCounts {
  s3PutsPerRequest: number;
  /** DynamoDB write units per partition a request touches (reservation + index entry). */
  writeUnitsPerPartition: number;
  /** DynamoDB write units per request whatever its partitions (0 today; 1 with a topic-level head). */
  writeUnitsPerRequest: number;
  /** Read units of one topic lookup (a strongly consistent GetItem of the topic item). */
  readUnitsPerTopicLookup: number;
  /** Read units per fetch (partition head + index query, strongly consistent). */
  readUnitsPerFetch: number;
  /**
   * S3 GETs per consumer group per batch (an object's range for one partition). 1 today.
   * With tail readers that fetch each new object once for all partitions and groups, set
   * `sharedTailReads` instead.
   */
  getsPerBatchPerGroup: number;
  /** One GET per object, whatever its partitions and the number of groups. */
  sharedTailReads: boolean;
  /** Bytes a record takes in a segment beyond its key and value (varints, attributes). */
  recordOverheadBytes: number;
  /** Bytes per RecordBatch header (61 in Kafka's v2 format). */
  batchOverheadBytes: number;
  /** Stored size of one index item (DynamoDB storage). */
  indexItemBytes: number;
  /** Stored bytes / uncompressed bytes (1 = no compression). */
  compressionRatio: number;
}

/** The protocol as designed: one PUT per request, an ADD and a conditional put per partition. */
export const DESIGN_COUNTS: ProtocolCounts = {
  s3PutsPerRequest: 1,
  writeUnitsPerPartition: 2,
  writeUnitsPerRequest: 0,
  readUnitsPerTopicLookup: 1,
  readUnitsPerFetch: 2,
  getsPerBatchPerGroup: 1,
  sharedTailReads: false,
  recordOverheadBytes: 10,
  batchOverheadBytes: 61,
  indexItemBytes: 250,
  compressionRatio: 1,
};

export interface Deployment {
  /** Memory of the API function (1024 MB in lib/infra). */
  lambdaMemoryGb: number;
  /** Billed duration of one produce invocation; the benchmark uses its measured ack latency. */
  produceDurationMs: number;
  /** Billed duration of one fetch invocation. */
  fetchDurationMs: number;
  /**
   * How often one consumer polls one partition at most (fetches per second). A consumer
   * that polls a busy partition gets every batch that arrived since its last poll in one
   * fetch; on a quiet one it gets one batch per fetch.
   */
  maxFetchesPerSecondPerPartition: number;
  /** HTTP body bytes per payload byte (base64 in JSON: 4/3). */
  httpExpansion: number;
  /** How long a warm function trusts its copy of a topic (TopicService's cache, 1 s). */
  topicCacheTtlMs: number;
  /**
   * What carries requests to the API function: API Gateway's HTTP API ($1.00 per million
   * requests, metered per 512 KB) or a Lambda function URL (no charge of its own). The
   * figures of the report are for `httpApi`, as deployed before function URLs; lib/infra's
   * default is now `functionUrl`. Default `httpApi`.
   */
  frontDoor?: 'httpApi' | 'functionUrl';
}

export const DEFAULT_DEPLOYMENT: Deployment = {
  lambdaMemoryGb: 1,
  produceDurationMs: 100,
  fetchDurationMs: 50,
  maxFetchesPerSecondPerPartition: 5,
  httpExpansion: 4 / 3,
  topicCacheTtlMs: 1000,
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

/** Fetches per second over all groups and partitions, capped by the poll rate. */
export function fetchesPerSecond(w: Workload, d: Deployment): number {
  const batchesPerPartition = (w.requestsPerSecond * w.partitionsTouched) / w.partitions;
  return (
    w.consumerGroups *
    w.partitions *
    Math.min(batchesPerPartition, d.maxFetchesPerSecondPerPartition)
  );
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
  const batchesPerSecond = rps * w.partitionsTouched;
  const getsPerSecond = c.sharedTailReads
    ? rps * c.s3PutsPerRequest
    : batchesPerSecond * c.getsPerBatchPerGroup * w.consumerGroups;
  const writeUnitsPerSecond =
    rps * (w.partitionsTouched * c.writeUnitsPerPartition + c.writeUnitsPerRequest);
  const fetches = fetchesPerSecond(w, d);
  const lookups = topicLookupsPerSecond(w, d);
  const readUnitsPerSecond = lookups * c.readUnitsPerTopicLookup + fetches * c.readUnitsPerFetch;
  const indexGb = (batchesPerSecond * c.indexItemBytes * w.retentionDays * DAY_SECONDS) / GIB;
  const requestBodyBytes = w.recordsPerRequest * w.recordBytes * d.httpExpansion;
  const fetchBodyBytes =
    fetches === 0 ? 0 : ((bytesPerSecond(w) * w.consumerGroups) / fetches) * d.httpExpansion;
  const viaApiGateway = (d.frontDoor ?? 'httpApi') === 'httpApi';
  const apiUnitsPerSecond = viaApiGateway
    ? rps * apiGatewayUnits(requestBodyBytes) + fetches * apiGatewayUnits(fetchBodyBytes)
    : 0;
  const invocationsPerSecond = rps + fetches;
  const gbSecondsPerSecond =
    (d.lambdaMemoryGb * (rps * d.produceDurationMs + fetches * d.fetchDurationMs)) / 1000;

  return estimate('eventlog (S3 + DynamoDB on-demand + API Gateway HTTP + Lambda arm64)', [
    {
      item: 'S3 PUT',
      usd: rps * c.s3PutsPerRequest * T * p.s3.put.usd,
      detail: `${fmt(rps)} req/s x ${c.s3PutsPerRequest} PUT`,
    },
    {
      item: 'S3 storage',
      usd: storedGb * p.s3.storageGbMonth.usd,
      detail: `${fmt(storedGb)} GB kept (${w.retentionDays} days of ${fmt((rps * segmentBytes) / 1e6)} MB/s of segments)`,
    },
    {
      item: 'S3 GET',
      usd: getsPerSecond * T * p.s3.get.usd,
      detail: c.sharedTailReads
        ? `${fmt(getsPerSecond)} GET/s: each object once, shared by all partitions and groups`
        : `${fmt(getsPerSecond)} GET/s: ${fmt(batchesPerSecond)} batches/s x ${w.consumerGroups} groups`,
    },
    {
      item: 'DynamoDB writes',
      usd: writeUnitsPerSecond * T * p.dynamodb.writeRequestUnit.usd,
      detail: `${fmt(writeUnitsPerSecond)} WRU/s: ${w.partitionsTouched} partitions x ${c.writeUnitsPerPartition} + ${c.writeUnitsPerRequest} per request`,
    },
    {
      item: 'DynamoDB reads',
      usd: readUnitsPerSecond * T * p.dynamodb.readRequestUnit.usd,
      detail: `${fmt(readUnitsPerSecond)} RRU/s: ${fmt(fetches)} fetches/s x ${fmt(c.readUnitsPerFetch)} + ${fmt(lookups)} topic lookups/s x ${fmt(c.readUnitsPerTopicLookup)}`,
    },
    {
      item: 'DynamoDB storage',
      usd: indexGb * p.dynamodb.storageGbMonth.usd,
      detail: `${fmt(indexGb)} GB of index items`,
    },
    {
      item: 'API Gateway',
      usd: apiUnitsPerSecond * T * p.apiGateway.httpRequest.usd,
      detail: viaApiGateway
        ? `${fmt(apiUnitsPerSecond)} metered requests/s (produce ${apiGatewayUnits(requestBodyBytes)} x 512 KB each, ${fmt(fetches)} fetches/s)`
        : 'none: a Lambda function URL has no charge of its own',
    },
    {
      item: 'Lambda requests',
      usd: invocationsPerSecond * T * p.lambda.request.usd,
      detail: `${fmt(invocationsPerSecond)} invocations/s`,
    },
    {
      item: 'Lambda duration',
      usd: gbSecondsPerSecond * T * p.lambda.gbSecondArm.usd,
      detail: `${fmt(gbSecondsPerSecond)} GB-s/s (produce ${fmt(d.produceDurationMs)} ms, fetch ${fmt(d.fetchDurationMs)} ms at ${d.lambdaMemoryGb} GB)`,
    },
  ]);
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

export type DesignChange =
  | 'topic-level reservation'
  | 'tail readers sharing GETs'
  | 'batching producers'
  | 'compression'
  | 'all of the above';

export const DESIGN_CHANGES: readonly DesignChange[] = [
  'topic-level reservation',
  'tail readers sharing GETs',
  'batching producers',
  'compression',
  'all of the above',
];

/** What each change means, for the report. */
export const DESIGN_CHANGE_NOTES: Record<DesignChange, string> = {
  'topic-level reservation':
    "one UpdateItem ADD on a topic-level head reserves every partition's range of a request; one index entry per partition stays (at the price of ~1000 requests/s per topic)",
  'tail readers sharing GETs':
    'a tail reader fetches each new object once, for all its partitions and all groups, instead of one ranged GET per partition per group',
  'batching producers':
    "producers send at least 100 records per request, grouped per partition as Kafka's producer does (one partition per request)",
  compression: 'segments compressed (gzip ratio measured on JSON-like records)',
  'all of the above': 'the four changes together',
};

/** The workload and counts after a design change, to price what it would save. */
export function applyDesignChange(
  change: DesignChange,
  w: Workload,
  c: ProtocolCounts,
  compressionRatio = 0.5,
): { workload: Workload; counts: ProtocolCounts } {
  switch (change) {
    case 'topic-level reservation':
      return {
        workload: w,
        counts: {
          ...c,
          writeUnitsPerPartition: Math.max(0, c.writeUnitsPerPartition - 1),
          writeUnitsPerRequest: c.writeUnitsPerRequest + 1,
        },
      };
    case 'tail readers sharing GETs':
      return { workload: w, counts: { ...c, sharedTailReads: true } };
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
      };
    }
    case 'compression':
      return { workload: w, counts: { ...c, compressionRatio } };
    case 'all of the above': {
      let next = { workload: w, counts: c };
      for (const each of [
        'batching producers',
        'topic-level reservation',
        'tail readers sharing GETs',
        'compression',
      ] as const) {
        next = applyDesignChange(each, next.workload, next.counts, compressionRatio);
      }
      return next;
    }
  }
}
