import { describe, expect, it } from 'vitest';
import {
  apiGatewayUnits,
  applyDesignChange,
  type CostEstimate,
  DEFAULT_DEPLOYMENT,
  DESIGN_COUNTS,
  type Deployment,
  eventLogCost,
  fetchesPerSecond,
  kinesisOnDemandCost,
  kinesisProvisionedCost,
  kinesisShards,
  mskServerlessCost,
  type ProtocolCounts,
  SECONDS_PER_MONTH,
  segmentBytesPerRequest,
  standardWorkloads,
  topicLookupsPerSecond,
  type Workload,
  writeUnits,
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

const C: ProtocolCounts = { ...DESIGN_COUNTS };
const D: Deployment = {
  lambdaMemoryGb: 1,
  produceDurationMs: 100,
  fetchDurationMs: 50,
  maxFetchesPerSecondPerPartition: 5,
  httpExpansion: 4 / 3,
  topicCacheTtlMs: 1000,
};

function line(estimate: CostEstimate, item: string): number {
  const found = estimate.lines.find((l) => l.item === item);
  if (found === undefined) throw new Error(`no line ${item} in ${estimate.system}`);
  return found.usd;
}

describe('eventLogCost', () => {
  const cost = eventLogCost(W, C, D, P);

  it('prices one S3 PUT per request', () => {
    // 10 req/s x 2,628,000 s x $0.005/1000
    expect(line(cost, 'S3 PUT')).toBeCloseTo(131.4, 6);
  });

  it('keeps 7 days of segments in S3', () => {
    // segment = 4 batches x 61 B + 100 x (1024 + 10) B = 103,644 B per request
    expect(segmentBytesPerRequest(W, C)).toBe(103_644);
    // 10 x 103,644 B/s x 604,800 s / 2^30 = 583.789 GB x $0.023
    expect(line(cost, 'S3 storage')).toBeCloseTo(583.7892293930054 * 0.023, 6);
  });

  it('prices one GET per batch per consumer group', () => {
    // 10 req/s x 4 batches x 2 groups = 80 GET/s x 2,628,000 x $0.0004/1000
    expect(line(cost, 'S3 GET')).toBeCloseTo(84.096, 6);
  });

  it('prices two write units per partition touched', () => {
    // 10 x 4 x 2 = 80 WRU/s x 2,628,000 x $0.625/M
    expect(line(cost, 'DynamoDB writes')).toBeCloseTo(131.4, 6);
  });

  it('prices fetches capped by the poll rate, and topic lookups', () => {
    // 10 batches/s per partition, capped at 5 fetches/s: 2 groups x 4 partitions x 5 = 40/s
    expect(fetchesPerSecond(W, D)).toBe(40);
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
    const viaUrl = eventLogCost(W, C, { ...D, frontDoor: 'functionUrl' }, P);
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
  it('topic-level reservation: one write per request plus one per partition', () => {
    const { counts } = applyDesignChange('topic-level reservation', W, C);
    expect(counts.writeUnitsPerPartition).toBe(1);
    expect(counts.writeUnitsPerRequest).toBe(1);
    // 10 x (4 x 1 + 1) = 50 WRU/s
    expect(line(eventLogCost(W, counts, D, P), 'DynamoDB writes')).toBeCloseTo(
      50 * SECONDS_PER_MONTH * 0.625e-6,
      6,
    );
  });

  it('tail readers sharing GETs: one GET per object', () => {
    const { counts } = applyDesignChange('tail readers sharing GETs', W, C);
    expect(line(eventLogCost(W, counts, D, P), 'S3 GET')).toBeCloseTo(
      10 * SECONDS_PER_MONTH * 0.0004e-3,
      6,
    );
  });

  it('batching producers: 100 records per request on one partition', () => {
    const single = { ...W, recordsPerRequest: 1, requestsPerSecond: 1000, partitionsTouched: 1 };
    const { workload } = applyDesignChange('batching producers', single, C);
    expect(workload.requestsPerSecond).toBe(10);
    expect(workload.recordsPerRequest).toBe(100);
    expect(workload.partitionsTouched).toBe(1);
  });

  it('compression shrinks what S3 stores', () => {
    const { counts } = applyDesignChange('compression', W, C, 0.25);
    expect(segmentBytesPerRequest(W, counts)).toBe(4 * 61 + 100 * 1034 * 0.25);
  });

  it('all of the above is never dearer than the baseline', () => {
    for (const w of standardWorkloads()) {
      const baseline = eventLogCost(w, C, DEFAULT_DEPLOYMENT, P).totalUsd;
      const all = applyDesignChange('all of the above', w, C);
      expect(eventLogCost(all.workload, all.counts, DEFAULT_DEPLOYMENT, P).totalUsd).toBeLessThan(
        baseline,
      );
    }
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
