import { describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/aws.js';
import { cliAgainst } from '../helpers/cli.js';
import { brokerForTest } from './broker/helpers.js';

/** `eventlog topics alter` and `eventlog consume --from-time` as processes, against a served API. */

const broker = brokerForTest();
const cli = cliAgainst(broker);

describe('eventlog topics alter', () => {
  it('changes configs of a live topic, shown by describe; refuses bad values', async () => {
    const topic = uniqueName('cli');
    await broker.topics.create({ name: topic, partitions: 1 });

    const altered = await cli(
      'topics',
      'alter',
      topic,
      '--config',
      'retention.ms=86400000',
      'retention.bytes=1000000',
    );
    expect(altered.code, altered.stderr).toBe(0);
    expect(altered.stdout).toBe(
      `altered topic ${topic}: retention.ms=86400000, retention.bytes=1000000\n`,
    );
    const described = await cli('topics', 'describe', topic);
    expect(described.stdout).toContain('  retention.ms=86400000\n');
    expect(described.stdout).toContain('  retention.bytes=1000000\n');

    const bad = await cli('topics', 'alter', topic, '--config', 'retention.ms=soon');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('retention.ms must be an integer');
    expect(bad.stderr).toContain('(INVALID_CONFIG)');

    const none = await cli('topics', 'alter', topic);
    expect(none.code).toBe(2);
  });
});

describe('eventlog consume --from-time', () => {
  it('starts each partition at the first record at or after the time', async () => {
    const topic = uniqueName('cli');
    await broker.topics.create({ name: topic, partitions: 2 });
    const t0 = Date.now() - 3_600_000;
    await broker.produce.produce({
      topic,
      records: Array.from({ length: 6 }, (_, i) => ({
        partition: i % 2,
        value: Buffer.from(`v${i}`),
        timestamp: t0 + i * 1000,
      })),
    });

    // 2.5 s after t0: v3 (partition 1), v4 (partition 0) and v5 (partition 1).
    const iso = await cli(
      'consume',
      topic,
      '--from-time',
      new Date(t0 + 2500).toISOString(),
      '--format',
      'value',
    );
    expect(iso.code, iso.stderr).toBe(0);
    expect(iso.stdout.trim().split('\n').sort()).toEqual(['v3', 'v4', 'v5']);

    const ms = await cli(
      'consume',
      topic,
      '--from-time',
      String(t0 + 4000),
      '--partition',
      '0',
      '--format',
      'value',
    );
    expect(ms.code, ms.stderr).toBe(0);
    expect(ms.stdout).toBe('v4\n');

    // After every record: nothing yet, as from the latest offset.
    const later = await cli('consume', topic, '--from-time', String(t0 + 60_000));
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toBe('');
    expect(later.stderr).toContain('consumed 0 records');

    const both = await cli('consume', topic, '--from-time', String(t0), '--from-beginning');
    expect(both.code).toBe(2);
    const bad = await cli('consume', topic, '--from-time', 'yesterday');
    expect(bad.code).toBe(2);
  });
});
