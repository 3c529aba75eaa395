import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/broker/clock.js';
import { fileMetricsSink, MetricsEmitter, metricsFromEnv } from '../../../lib/broker/metrics.js';
import { emfDocument } from '../../../lib/log/metrics.js';

describe('EMF documents', () => {
  it('carries each dimension and metric as a member, with the directive naming them', () => {
    expect(
      emfDocument('EventLog', 1_700_000_000_123.4, { Group: 'g' }, { OffsetLag: 5, TimeLag: 90 }),
    ).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_123,
        CloudWatchMetrics: [
          {
            Namespace: 'EventLog',
            Dimensions: [['Group']],
            Metrics: [
              { Name: 'OffsetLag', Unit: 'Count' },
              { Name: 'TimeLag', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      Group: 'g',
      OffsetLag: 5,
      TimeLag: 90,
    });
  });

  it('leaves out values nobody measured, and writes nothing when none is left', () => {
    const doc = emfDocument('N', 0, { Group: 'g' }, { OffsetLag: 0, TimeLag: undefined });
    expect(doc?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: 'OffsetLag', Unit: 'Count' }]);
    expect(doc).not.toHaveProperty('TimeLag');
    expect(emfDocument('N', 0, { Group: 'g' }, { TimeLag: undefined, OffsetLag: Number.NaN })).toBe(
      undefined,
    );
  });
});

describe('MetricsEmitter', () => {
  it('writes one line per document, stamped by its clock, and never throws from a broken sink', () => {
    const lines: string[] = [];
    const clock = new ManualClock(42);
    new MetricsEmitter((line) => lines.push(line), { clock, namespace: 'X' }).emit(
      { Topic: 't' },
      { ProducedRecords: 1 },
    );
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { _aws: { Timestamp: 42, CloudWatchMetrics: [{ Namespace: 'X' }] }, ProducedRecords: 1 },
    ]);
    const broken = new MetricsEmitter(() => {
      throw new Error('disk full');
    });
    expect(() => broken.emit({ Topic: 't' }, { ProducedRecords: 1 })).not.toThrow();
  });

  it('reads its namespace and per-partition setting from the environment the construct sets', () => {
    const fromEnv = metricsFromEnv(
      { EVENTLOG_METRICS_NAMESPACE: 'EventLog/prod', EVENTLOG_METRICS_PER_PARTITION: 'true' },
      () => {},
    );
    expect([fromEnv.namespace, fromEnv.perPartition]).toEqual(['EventLog/prod', true]);
    expect([
      metricsFromEnv({}, () => {}).namespace,
      metricsFromEnv({}, () => {}).perPartition,
    ]).toEqual(['EventLog', false]);
  });

  it('keeps the local file under its size by moving it aside', () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventlog-metrics-'));
    try {
      const path = join(dir, 'metrics.emf.jsonl');
      const sink = fileMetricsSink(path, 100);
      for (let i = 0; i < 5; i++) sink(`{"n":${i},"pad":"${'x'.repeat(30)}"}`);
      const current = readFileSync(path, 'utf8').trim().split('\n');
      const previous = readFileSync(`${path}.1`, 'utf8').trim().split('\n');
      expect([...previous, ...current].map((l) => JSON.parse(l).n)).toEqual([0, 1, 2, 3, 4]);
      expect(previous.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
