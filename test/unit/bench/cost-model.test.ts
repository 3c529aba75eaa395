import { describe, expect, it } from 'vitest';
import {
  AWS_LIMITS,
  apiGatewayUnits,
  applyDesignChange,
  type CostEstimate,
  DEFAULT_DEPLOYMENT,
  type Deployment,
  eventLogCost,
  kinesisOnDemandCost,
  kinesisProvisionedCost,
  kinesisShards,
  mskServerlessCost,
  type ProtocolCounts,
  readPlan,
  SECONDS_PER_MONTH,
  s3PrefixLoad,
  segmentBytesPerRequest,
  sequenceCeiling,
  sequencesOf,
  sequencesTouched,
  standardWorkloads,
  topicLookupsPerSecond,
  V2_COUNTS,
  V01_COUNTS,
  v2ItemBytes,
  type Workload,
  writeUnits,
  writeUnitsPerRequest,
} from '../../../bench/cost-model.js';
import { PRICES, type PriceTable, priceRows } from '../../../bench/prices.js';

// Hand-computed cases. A month is 730 h = 2,628,000 s; GB = 2^30 bytes. The prices are pinned
// here (the list prices of bench/prices.ts when these cases were written), so that updating the
// price table does not silently change what these tests check.
const P = structuredClone(PRICES) as unknown as PriceTable;
P.s3.put.usd = 0.005 / 1000;
P.s3.get.usd = 0.0004 / 1000;
P.s3.storageGbMonth.usd = 0.023;
P.dynamodb.writeRequestUnit.usd = 0.625e-6;
P.dynamodb.readRequestUnit.usd = 0.125e-6;
P.dynamodb.storageGbMonth.usd = 0.25;
P.apiGateway.httpRequest.usd = 1e-6;
P.lambda.request.usd = 0.2e-6;
P.lambda.gbSecondArm.usd = 0.0000133334;
P.kinesisProvisioned.shardHour.usd = 0.015;
P.kinesisProvisioned.putPayloadUnit.usd = 0.014e-6;
P.kinesisProvisioned.extendedRetentionShardHour.usd = 0.02;
P.kinesisProvisioned.efoConsumerShardHour.usd = 0.015;
P.kinesisProvisioned.efoDataGb.usd = 0.013;
P.kinesisOnDemand.streamHour.usd = 0.04;
P.kinesisOnDemand.dataInGb.usd = 0.08;
P.kinesisOnDemand.dataOutGb.usd = 0.04;
P.kinesisOnDemand.efoDataOutGb.usd = 0.05;
P.kinesisOnDemand.extendedRetentionGbMonth.usd = 0.1;
P.mskServerless.clusterHour.usd = 0.75;
P.mskServerless.partitionHour.usd = 0.0015;
P.mskServerless.dataInGb.usd = 0.1;
P.mskServerless.dataOutGb.usd = 0.05;
P.mskServerless.storageGbMonth.usd = 0.1;

/** 10 requests/s of 100 records of 1 KiB over 4 partitions: 1000 records/s, 1,024,000 B/s. */
const W: Workload = {
  name: 'test',
  recordBytes: 1024,
  recordsPerRequest: 100,
  requestsPerSecond: 10,
  partitions: 4,
  partitionsTouched: 4,
  retentionDays: 7,
  consumerGroups: 2,
};

/** 0.1: per partition touched, a reservation and an index entry; a GET per batch per group. */
const C01: ProtocolCounts = { ...V01_COUNTS };
/** v2 with round item sizes, so that every line can be checked by hand. */
const C2: ProtocolCounts = {
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
const D: Deployment = {
  lambdaMemoryGb: 1,
  produceDurationMs: 100,
  fetchDurationMs: 50,
  fullFetchDurationMs: 200,
  consumerModel: 'one process per group',
  maxPollsPerSecond: 5,
  maxFetchBytes: 4 * 1024 * 1024,
  httpExpansion: 4 / 3,
  topicCacheTtlMs: 1000,
  apiGatewayShare: 1,
};
/** The model the 0.1 figures were published with: each partition fetched on its own. */
const D_PER_PARTITION: Deployment = { ...D, consumerModel: 'fetch per partition' };

function line(estimate: CostEstimate, item: string): number {
  const found = estimate.lines.find((l) => l.item === item);
  if (found === undefined) throw new Error(`no line ${item} in ${estimate.system}`);
  return found.usd;
}

describe('eventLogCost, storage engine 0.1 as published (fetch per partition)', () => {
  const cost = eventLogCost(W, C01, D_PER_PARTITION, P);

  it('prices one S3 PUT per request', () => {
    // 10 req/s x 2,628,000 s x $0.005/1000
    expect(line(cost, 'S3 PUT')).toBeCloseTo(131.4, 6);
  });

  it('keeps 7 days of segments in S3', () => {
    // segment = 4 batches x 61 B + 100 x (1024 + 10) B = 103,644 B per request
    expect(segmentBytesPerRequest(W, C01)).toBe(103_644);
    // 10 x 103,644 B/s x 604,800 s / 2^30 = 583.789 GB x $0.023
    expect(line(cost, 'S3 storage')).toBeCloseTo(583.7892293930054 * 0.023, 6);
  });

  it('prices one GET per batch per consumer group', () => {
    // 10 req/s x 4 batches x 2 groups = 80 GET/s x 2,628,000 x $0.0004/1000
    expect(line(cost, 'S3 GET')).toBeCloseTo(84.096, 6);
  });

  it('prices two write units per partition touched', () => {
    // 10 x 4 x 2 = 80 WRU/s x 2,628,000 x $0.625/M
    expect(writeUnitsPerRequest(W, C01)).toBe(8);
    expect(line(cost, 'DynamoDB writes')).toBeCloseTo(131.4, 6);
  });

  it('prices fetches capped by the poll rate, and topic lookups', () => {
    // 10 batches/s per partition, capped at 5 fetches/s: 2 groups x 4 partitions x 5 = 40/s
    expect(readPlan(W, C01, D_PER_PARTITION).pollsPerSecond).toBe(40);
    // warm functions: 10 req/s x 0.1 s = 1, one lookup per second each
    expect(topicLookupsPerSecond(W, D)).toBe(1);
    // (40 x 2 + 1 x 1) = 81 RRU/s x 2,628,000 x $0.125/M
    expect(line(cost, 'DynamoDB reads')).toBeCloseTo(26.6085, 6);
  });

  it('prices the index items kept', () => {
    // 40 items/s x 250 B x 604,800 s / 2^30 x $0.25
    expect(line(cost, 'DynamoDB storage')).toBeCloseTo(1.4081597328186035, 6);
  });

  it('meters API Gateway per 512 KB of each request', () => {
    // produce bodies 136,533 B and fetch bodies 6,827 B: one unit each; (10 + 40)/s x $1/M
    expect(line(cost, 'API Gateway')).toBeCloseTo(131.4, 6);
    expect(apiGatewayUnits(512 * 1024)).toBe(1);
    expect(apiGatewayUnits(512 * 1024 + 1)).toBe(2);
    expect(apiGatewayUnits(0)).toBe(1);
  });

  it('charges nothing for the front door with a function URL, and the rest the same', () => {
    const viaUrl = eventLogCost(W, C01, { ...D_PER_PARTITION, apiGatewayShare: 0 }, P);
    expect(line(viaUrl, 'API Gateway')).toBe(0);
    expect(cost.totalUsd - viaUrl.totalUsd).toBeCloseTo(131.4, 6);
    expect(line(viaUrl, 'Lambda requests')).toBe(line(cost, 'Lambda requests'));
  });

  it('prices Lambda invocations and GB-seconds', () => {
    // 50 invocations/s x 2,628,000 x $0.20/M
    expect(line(cost, 'Lambda requests')).toBeCloseTo(26.28, 6);
    // 1 GB x (10 x 0.1 s + 40 x 0.05 s) = 3 GB-s/s x 2,628,000 x $0.0000133334
    expect(line(cost, 'Lambda duration')).toBeCloseTo(105.1205256, 6);
  });

  it('adds the lines up', () => {
    const sum = cost.lines.reduce((s, l) => s + l.usd, 0);
    expect(cost.totalUsd).toBeCloseTo(sum, 9);
  });
});

describe('eventLogCost, storage engine v2 (one reading process per group)', () => {
  const cost = eventLogCost(W, C2, D, P);

  it('sizes the head by the sequence and the commit by its vector and batches', () => {
    // head 60 + 4 x (5 + 3) = 92 B; commit 140 + 4 x (4 + 3) + 4 x 12 = 216 B
    expect(v2ItemBytes(W, C2)).toEqual({ head: 92, commit: 216 });
    expect(sequencesOf(W)).toBe(1);
    expect(sequencesTouched(W, C2)).toBe(1);
  });

  it('prices one reservation and one commit per request, whatever its partitions', () => {
    expect(writeUnitsPerRequest(W, C2)).toBe(2);
    expect(writeUnitsPerRequest({ ...W, partitionsTouched: 1 }, C2)).toBe(2);
    // 10 x 2 = 20 WRU/s x 2,628,000 x $0.625/M
    expect(line(cost, 'DynamoDB writes')).toBeCloseTo(32.85, 6);
  });

  it('bills a commit over 1 KB as two write units', () => {
    // 64 partitions all touched: commit 140 + 64 x 7 + 64 x 12 = 1356 B, head 572 B
    const wide = { ...W, partitions: 64, partitionsTouched: 64 };
    expect(v2ItemBytes(wide, C2)).toEqual({ head: 572, commit: 1356 });
    expect(writeUnitsPerRequest(wide, C2)).toBe(3);
  });

  it('counts one object per commit sequence touched', () => {
    const spread = { ...W, partitions: 8, partitionsTouched: 8, sequences: 4 };
    expect(sequencesTouched(spread, C2)).toBe(4);
    // per sequence: head 60 + 2 x 8 = 76 B, commit 140 + 2 x 7 + 2 x 12 = 178 B
    expect(v2ItemBytes(spread, C2)).toEqual({ head: 76, commit: 178 });
    expect(writeUnitsPerRequest(spread, C2)).toBe(8);
    // 10 req/s x 4 objects
    expect(line(eventLogCost(spread, C2, D, P), 'S3 PUT')).toBeCloseTo(4 * 131.4, 6);
  });

  it('reads each object once per group, polling at most 5 times a second', () => {
    const plan = readPlan(W, C2, D);
    // 2 groups x min(10 commits/s, 5) polls; 1,365,333 body B/s is far from 4 MiB a poll
    expect(plan.pollsPerSecond).toBe(10);
    expect(plan.byteBound).toBe(false);
    // 2 commits per poll of 216 B: meta (1) + one 4 KB Query unit = 2 RRU a poll
    expect(plan.readUnitsPerSecond).toBe(20);
    // 10 objects/s x 2 groups = 20 GET/s x 2,628,000 x $0.0004/1000
    expect(plan.getsPerSecond).toBe(20);
    expect(line(cost, 'S3 GET')).toBeCloseTo(21.024, 6);
    // (20 + 1 lookup) RRU/s x 2,628,000 x $0.125/M
    expect(line(cost, 'DynamoDB reads')).toBeCloseTo(6.8985, 6);
  });

  it('polls again at once while answers come back full', () => {
    // 48 requests/s of 1 MiB: 64 MiB/s of body per group, 4 MiB answers = 16 polls/s
    const big = {
      ...W,
      recordBytes: 16 * 1024,
      recordsPerRequest: 64,
      requestsPerSecond: 48,
      partitions: 64,
      partitionsTouched: 64,
    };
    const plan = readPlan(big, C2, D);
    expect(plan.byteBound).toBe(true);
    expect(plan.pollsPerSecond).toBe(32);
    expect(plan.fetchBodyBytes).toBe(4 * 1024 * 1024);
    // each group: 48 objects/s + one GET per full answer (it may end inside an object)
    expect(plan.getsPerSecond).toBe(2 * (48 + 16));
    // 3 commits per poll x 1356 B = 4068 B: one 4 KB unit + the meta = 2 RRU per poll
    expect(plan.readUnitsPerSecond).toBe(64);
    // a full answer is billed at the full fetch's duration
    const cost = eventLogCost(big, C2, D, P);
    // 1 GB x (48 x 0.1 s + 32 x 0.2 s) = 11.2 GB-s/s
    expect(line(cost, 'Lambda duration')).toBeCloseTo(11.2 * SECONDS_PER_MONTH * 0.0000133334, 6);
    // API Gateway: 48 x 3 (1 MiB x 4/3 in 512 KB units) + 32 x 8 (4 MiB answers)
    expect(line(cost, 'API Gateway')).toBeCloseTo((48 * 3 + 32 * 8) * 2.628, 6);
  });

  it('keeps commit items, one per commit, as long as the segments', () => {
    // 10 commits/s x 216 B x 604,800 s / 2^30 x $0.25
    expect(line(cost, 'DynamoDB storage')).toBeCloseTo(
      ((10 * 216 * 604_800) / 1024 ** 3) * 0.25,
      9,
    );
  });

  it('meters API Gateway and Lambda per poll, not per partition', () => {
    // (10 produce + 10 polls) x 1 unit x $1/M; 20 invocations/s x $0.20/M
    expect(line(cost, 'API Gateway')).toBeCloseTo(52.56, 6);
    expect(line(cost, 'Lambda requests')).toBeCloseTo(10.512, 6);
    // 1 GB x (10 x 0.1 s + 10 x 0.05 s) = 1.5 GB-s/s
    expect(line(cost, 'Lambda duration')).toBeCloseTo(1.5 * SECONDS_PER_MONTH * 0.0000133334, 6);
  });

  it('prices 0.1 under the same consumer model for a fair before and after', () => {
    const before = readPlan(W, C01, D);
    // 10 polls/s, each reading the 4 partitions with new batches at 2 RRU: 80 RRU/s
    expect(before.pollsPerSecond).toBe(10);
    expect(before.readUnitsPerSecond).toBe(80);
    expect(before.getsPerSecond).toBe(80);
    expect(eventLogCost(W, C01, D, P).totalUsd).toBeGreaterThan(cost.totalUsd);
  });
});

describe('ceilings', () => {
  it('takes 1,000 plain requests a second per sequence while both items stay under 1 KB', () => {
    const c = sequenceCeiling('plain', 500, 900, false);
    expect(c.headUnits).toBe(1);
    expect(c.commitUnits).toBe(1);
    expect(c.requestsPerSecond).toBe(1000);
    expect(c.sequencesFor).toBe(5);
  });

  it('halves it for the idempotent path (its commit is in a transaction)', () => {
    const c = sequenceCeiling('idempotent', 500, 900, true);
    expect(c.commitUnits).toBe(2);
    expect(c.requestsPerSecond).toBe(500);
    expect(c.sequencesFor).toBe(10);
    expect(sequenceCeiling('wide', 500, 1200, true).requestsPerSecond).toBe(250);
  });

  it('spreads objects over 8 prefixes per sequence', () => {
    expect(AWS_LIMITS.prefixesPerSequence).toBe(8);
    expect(s3PrefixLoad(5000, 1, 2)).toEqual({
      prefixes: 8,
      putsPerPrefix: 625,
      getsPerPrefix: 1250,
      maxReaders: 8,
    });
    expect(s3PrefixLoad(5000, 10, 2).putsPerPrefix).toBe(62.5);
    // an uneven spread: the busiest prefix takes 5/32 of the objects
    expect(s3PrefixLoad(5000, 1, 2, 5 / 32)).toEqual({
      prefixes: 8,
      putsPerPrefix: 781.25,
      getsPerPrefix: 1562.5,
      maxReaders: 7,
    });
  });
});

describe('Kinesis provisioned', () => {
  it('sizes shards by 1 MiB/s and 1000 records/s in, 2 MiB/s out shared', () => {
    // 1000 records/s = exactly one shard's record limit; 1,024,000 B/s < 1 MiB/s
    expect(kinesisShards(W, false)).toBe(1);
    expect(kinesisShards({ ...W, requestsPerSecond: 10.01 }, true)).toBe(2);
    // 3 groups reading 1,024,000 B/s each exceed one shard's 2 MiB/s of shared reads
    expect(kinesisShards({ ...W, consumerGroups: 3 }, false)).toBe(2);
    expect(kinesisShards({ ...W, consumerGroups: 3 }, true)).toBe(1);
  });

  it('prices shard-hours, PUT payload units and extended retention', () => {
    const cost = kinesisProvisionedCost(W, { enhancedFanOut: false }, P);
    expect(line(cost, 'shard-hours')).toBeCloseTo(730 * 0.015, 9);
    // 1000 records/s x 1 unit (<= 25 KB) x 2,628,000 x $0.014/M
    expect(line(cost, 'PUT payload units')).toBeCloseTo(36.792, 6);
    expect(line(cost, 'extended retention')).toBeCloseTo(730 * 0.02, 9);
    expect(cost.totalUsd).toBeCloseTo(10.95 + 36.792 + 14.6, 6);
  });

  it('counts 25 KB payload units per record', () => {
    const big = { ...W, recordBytes: 30 * 1024, recordsPerRequest: 1, requestsPerSecond: 1 };
    const cost = kinesisProvisionedCost(big, { enhancedFanOut: false }, P);
    expect(line(cost, 'PUT payload units')).toBeCloseTo(2 * SECONDS_PER_MONTH * 0.014e-6, 9);
  });

  it('prices enhanced fan-out per consumer-shard-hour and per GB', () => {
    const cost = kinesisProvisionedCost(W, { enhancedFanOut: true }, P);
    expect(line(cost, 'enhanced fan-out consumer-shard-hours')).toBeCloseTo(2 * 730 * 0.015, 9);
    // 2 x 1,024,000 B/s x 2,628,000 s / 2^30 = 5012.5 GB x $0.013
    expect(line(cost, 'enhanced fan-out data')).toBeCloseTo(65.16265869140625, 6);
  });
});

describe('Kinesis on-demand', () => {
  it('prices the stream-hour, data in and out (1 KB rounding) and extended retention', () => {
    const cost = kinesisOnDemandCost(W, { enhancedFanOut: false }, P);
    expect(line(cost, 'stream-hours')).toBeCloseTo(29.2, 9);
    // 1,024,000 B/s x 2,628,000 s / 2^30 = 2506.26 GB
    expect(line(cost, 'data in')).toBeCloseTo(200.50048828125, 6);
    expect(line(cost, 'data out')).toBeCloseTo(200.50048828125, 6);
    // 6 days beyond the first 24 h: 1,024,000 x 518,400 / 2^30 = 494.38 GB x $0.10
    expect(line(cost, 'extended retention')).toBeCloseTo(49.4384765625, 6);
  });

  it('rounds each record up to 1 KB', () => {
    const small = { ...W, recordBytes: 100 };
    const cost = kinesisOnDemandCost(small, { enhancedFanOut: false }, P);
    expect(line(cost, 'data in')).toBeCloseTo(200.50048828125, 6);
  });

  it('prices enhanced fan-out retrievals', () => {
    const cost = kinesisOnDemandCost(W, { enhancedFanOut: true }, P);
    expect(line(cost, 'data out (enhanced fan-out)')).toBeCloseTo(250.6256103515625, 6);
  });
});

describe('MSK Serverless', () => {
  it('prices cluster-hours, partition-hours, data in and out, and storage', () => {
    const cost = mskServerlessCost(W, P);
    expect(line(cost, 'cluster-hours')).toBeCloseTo(547.5, 9);
    expect(line(cost, 'partition-hours')).toBeCloseTo(4 * 730 * 0.0015, 9);
    expect(line(cost, 'data in')).toBeCloseTo(250.6256103515625, 6);
    expect(line(cost, 'data out')).toBeCloseTo(250.6256103515625, 6);
    // 1,024,000 B/s x 604,800 s / 2^30 = 576.78 GB x $0.10
    expect(line(cost, 'storage')).toBeCloseTo(57.67822265625, 6);
  });
});

describe('design changes', () => {
  it('function URL front door: no API Gateway line', () => {
    const { deployment } = applyDesignChange('function URL front door', W, C2, D);
    expect(line(eventLogCost(W, C2, deployment, P), 'API Gateway')).toBe(0);
  });

  it('batching producers: 100 records per request on one partition', () => {
    const single = { ...W, recordsPerRequest: 1, requestsPerSecond: 1000, partitionsTouched: 1 };
    const { workload } = applyDesignChange('batching producers', single, C2, D);
    expect(workload.requestsPerSecond).toBe(10);
    expect(workload.recordsPerRequest).toBe(100);
    expect(workload.partitionsTouched).toBe(1);
  });

  it('compression shrinks what S3 stores', () => {
    const { counts } = applyDesignChange('compression', W, C2, D, 0.25);
    expect(segmentBytesPerRequest(W, counts)).toBe(4 * 61 + 100 * 1034 * 0.25);
  });

  it('all of the above is never dearer than the baseline', () => {
    for (const w of standardWorkloads()) {
      const baseline = eventLogCost(w, C2, DEFAULT_DEPLOYMENT, P).totalUsd;
      const all = applyDesignChange('all of the above', w, C2, DEFAULT_DEPLOYMENT);
      expect(eventLogCost(all.workload, all.counts, all.deployment, P).totalUsd).toBeLessThan(
        baseline,
      );
    }
  });

  it('v2 is never dearer than 0.1 on the standard workloads, and (c) is below $6,000', () => {
    const totals = standardWorkloads().map((w) => ({
      before: eventLogCost(w, V01_COUNTS, DEFAULT_DEPLOYMENT, P).totalUsd,
      after: eventLogCost(w, V2_COUNTS, DEFAULT_DEPLOYMENT, P).totalUsd,
    }));
    for (const { before, after } of totals) expect(after).toBeLessThanOrEqual(before);
    // (c): 0.1's 128 write units and 64 GETs per request per group are gone
    expect(totals[2]?.before).toBeGreaterThan(15_000);
    expect(totals[2]?.after).toBeLessThan(6000);
  });
});

describe('units and prices', () => {
  it('bills DynamoDB writes per started KB', () => {
    expect(writeUnits(1)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
  });

  it('gives every price a source, a date and a confirmation', () => {
    for (const { service, item, price } of priceRows()) {
      expect(price.usd, `${service}.${item}`).toBeGreaterThan(0);
      expect(price.source, `${service}.${item}`).toMatch(/^https:\/\//);
      expect(price.read, `${service}.${item}`).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(['search', 'design', 'unconfirmed']).toContain(price.confirmed);
    }
  });

  it('defines the three workloads of the issue', () => {
    const [a, b, c] = standardWorkloads();
    expect(a && a.recordsPerRequest * a.requestsPerSecond * a.recordBytes).toBeCloseTo(1e6, 6);
    expect(b?.requestsPerSecond).toBe(1000);
    expect(b?.recordsPerRequest).toBe(1);
    expect(c && c.recordsPerRequest * c.requestsPerSecond * c.recordBytes).toBeCloseTo(50e6, 3);
    expect(c && c.recordsPerRequest * c.recordBytes).toBe(1024 * 1024);
  });
});
