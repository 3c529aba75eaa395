import { describe, expect, it } from 'vitest';
import type { ProduceCallsRow } from '../../../bench/calls-bench.js';
import { fitItemBytes } from '../../../bench/cost-bench.js';
import { dynamoItemBytes, numberBytes } from '../../../bench/item-size.js';
import type { ProduceCell } from '../../../bench/produce-bench.js';
import { awsWriteUnits, busiestPrefixShare, matrixRatios } from '../../../bench/report.js';

const per = {
  s3Puts: 1,
  s3Gets: 0,
  dynamoWrites: 2,
  dynamoReads: 0,
  writeUnits: 2,
  readUnits: 0,
  failedConditions: 0,
  s3PutBytes: 0,
};

function row(
  partitions: number,
  touched: number,
  itemBytes: ProduceCallsRow['itemBytes'],
  extra: Partial<ProduceCallsRow> = {},
): ProduceCallsRow {
  return {
    partitions,
    partitionsTouched: touched,
    idempotent: false,
    recordsPerRequest: touched,
    recordBytes: 1024,
    requests: 10,
    perRequest: per,
    itemBytes,
    commands: {},
    ...extra,
  };
}

describe('item sizes as DynamoDB bills them', () => {
  it('adds attribute names and values', () => {
    // pk: 2 + 3; sk: 2 + (2 digits: 1 + 1); b: 1 + 10
    expect(dynamoItemBytes({ pk: 'abc', sk: 12, b: Buffer.alloc(10) })).toBe(20);
  });

  it('counts numbers by their significant digits', () => {
    expect(numberBytes(1)).toBe(2);
    expect(numberBytes(1_234_567)).toBe(5);
    // base-100 digits: 01 70 00 00 00 00 00
    expect(numberBytes(1_700_000_000_000)).toBe(3);
    expect(numberBytes(1_765_027_234_567)).toBe(8);
    expect(numberBytes(100)).toBe(2);
    expect(numberBytes(0)).toBe(2);
  });
});

describe('write units AWS would bill for a counted row', () => {
  it('bills the head and the commit per started KB', () => {
    expect(awsWriteUnits(row(64, 64, { head: 400, commit: 1100 }))).toBe(3);
    expect(awsWriteUnits(row(16, 16, { head: 131, commit: 337 }))).toBe(2);
  });

  it('bills a transaction twice per item', () => {
    const idem = row(16, 16, { head: 131, commit: 355, state: 130 }, { idempotent: true });
    // 1 + 2 x 1 + 2 x 1
    expect(awsWriteUnits(idem)).toBe(5);
    const wide = row(64, 64, { head: 371, commit: 1027, state: 227 }, { idempotent: true });
    // 1 + 2 x 2 + 2 x 1
    expect(awsWriteUnits(wide)).toBe(7);
  });
});

describe('fitting the item sizes', () => {
  it('separates the vector (per partition) from the batches (per partition touched)', () => {
    // base 100, 2 B per vector entry, 13 B per batch
    const calls = {
      capacityReported: true,
      contention: [],
      tailFetches: [],
      produce: [
        row(16, 1, { head: 50 + 16 * 5, commit: 100 + 16 * 2 + 13 }),
        row(64, 1, { head: 50 + 64 * 5, commit: 100 + 64 * 2 + 13 }),
        row(64, 64, { head: 50 + 64 * 5, commit: 100 + 64 * 2 + 64 * 13 }),
      ],
    };
    expect(fitItemBytes(calls)).toEqual({
      head: { base: 50, perPartition: 5 },
      commit: { base: 100, perPartition: 2, perBatch: 13 },
    });
    expect(fitItemBytes({ ...calls, produce: calls.produce.slice(1) })).toBeUndefined();
  });
});

describe('the produce matrix, 16 partitions against 1', () => {
  const cell = (partitions: number, concurrency: number, p50Ms: number): ProduceCell => ({
    recordBytes: 1024,
    recordsPerRequest: 100,
    partitions,
    concurrency,
    p50Ms,
  });

  it('pairs cells of the same shape and producers at 8 and 32 producers', () => {
    const ratios = matrixRatios([
      cell(1, 1, 10),
      cell(1, 8, 50),
      cell(1, 32, 200),
      cell(16, 1, 40),
      cell(16, 8, 75),
      cell(16, 32, 500),
    ]);
    expect(ratios.map((r) => [r.concurrency, r.ratio])).toEqual([
      [8, 1.5],
      [32, 2.5],
    ]);
  });

  it('leaves out cells that did not run', () => {
    const skipped: ProduceCell = { ...cell(16, 8, 0), skipped: 'too big' };
    delete skipped.p50Ms;
    expect(matrixRatios([cell(1, 8, 50), skipped])).toEqual([]);
  });
});

describe('the spread of objects over prefixes', () => {
  it('gives each of the 8 prefixes 4 of the 32 last ULID characters: an even spread', () => {
    expect(busiestPrefixShare()).toBe(4 / 32);
  });
});
