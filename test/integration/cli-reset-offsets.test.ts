import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/aws.js';
import { cliAgainst } from '../helpers/cli.js';
import { brokerForTest, produceValues } from './broker/helpers.js';

/**
 * `eventlog groups reset` as kafka-consumer-groups --reset-offsets: a plan by default,
 * written only with --execute; every scenario; --export / --from-file; delete-offsets.
 */

const broker = brokerForTest();
const cli = cliAgainst(broker);

/** A topic with 2 partitions of 10 records each (timestamps 1000 ms apart), and a group at 4 and 6. */
async function setUp(): Promise<{ topic: string; group: string }> {
  const topic = uniqueName('cli-rs');
  const group = uniqueName('cli-rs-g');
  await broker.topics.create({ name: topic, partitions: 2 });
  for (let i = 0; i < 10; i++) {
    for (const partition of [0, 1]) {
      await produceValues(broker, topic, [`p${partition}-${i}`], {
        partition,
        timestamp: 5_000_000 + i * 1000,
      });
    }
  }
  await broker.groups.reset(group, { topic, target: { to: 'offset', offset: 4 }, partitions: [0] });
  await broker.groups.reset(group, { topic, target: { to: 'offset', offset: 6 }, partitions: [1] });
  return { topic, group };
}

const committed = async (group: string) =>
  (await broker.groups.committed(group)).map((c) => [c.partition, c.committed]);

describe('eventlog groups reset', () => {
  it('prints the plan and changes nothing without --execute; writes it with --execute', async () => {
    const { topic, group } = await setUp();
    const plan = await cli('groups', 'reset', group, '--topic', topic, '--to-earliest');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stderr).toContain('dry run: nothing changed (add --execute to apply this plan)');
    const rows = plan.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^GROUP\s+TOPIC\s+PARTITION\s+NEW-OFFSET$/);
    expect(rows.slice(1).map((r) => r.split(/\s+/))).toEqual([
      [group, topic, '0', '0'],
      [group, topic, '1', '0'],
    ]);
    expect(await committed(group)).toEqual([
      [0, 4],
      [1, 6],
    ]);

    const applied = await cli(
      'groups',
      'reset',
      group,
      '--topic',
      topic,
      '--to-latest',
      '--execute',
    );
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).not.toContain('dry run');
    expect(await committed(group)).toEqual([
      [0, 10],
      [1, 10],
    ]);
  });

  it('--shift-by, --by-duration, --to-datetime, --to-offset per topic:partitions', async () => {
    const { topic, group } = await setUp();
    const json = async (...args: string[]) => {
      const r = await cli('groups', 'reset', group, '--json', ...args);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { partition: number; committed: number }[]).map((o) => [
        o.partition,
        o.committed,
      ]);
    };
    expect(await json('--topic', topic, '--shift-by', '-2')).toEqual([
      [0, 2],
      [1, 4],
    ]);
    // Clamped to the log end, as Kafka's tool does.
    expect(await json('--topic', topic, '--shift-by', '7')).toEqual([
      [0, 10],
      [1, 10],
    ]);
    expect(await json('--topic', `${topic}:1`, '--to-offset', '3')).toEqual([[1, 3]]);
    // Record i has timestamp 5,000,000 + i s: 5,003,000 is record 3 (the zone is explicit).
    const at = new Date(5_003_000).toISOString().replace('Z', '+00:00');
    expect(await json('--topic', topic, '--to-datetime', at)).toEqual([
      [0, 3],
      [1, 3],
    ]);
    // Every record is decades old: ten minutes back is past all of them, so the log end.
    expect(await json('--topic', topic, '--by-duration', 'PT10M')).toEqual([
      [0, 10],
      [1, 10],
    ]);
    expect(await committed(group)).toEqual([
      [0, 4],
      [1, 6],
    ]);

    const bad = await cli('groups', 'reset', group, '--topic', topic, '--by-duration', '10m');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ISO-8601 duration');
    const two = await cli(
      'groups',
      'reset',
      group,
      '--topic',
      topic,
      '--to-earliest',
      '--to-latest',
    );
    expect(two.code).toBe(2);
  });

  it('--by-duration counts back from now', async () => {
    const topic = uniqueName('cli-rs-d');
    const group = uniqueName('cli-rs-dg');
    await broker.topics.create({ name: topic, partitions: 1 });
    const now = Date.now();
    for (const minutesAgo of [30, 20, 5, 1]) {
      await produceValues(broker, topic, [`${minutesAgo}m`], {
        timestamp: now - minutesAgo * 60_000,
      });
    }
    const plan = await cli(
      'groups',
      'reset',
      group,
      '--topic',
      topic,
      '--by-duration',
      'PT10M',
      '--export',
    );
    expect(plan.code, plan.stderr).toBe(0);
    // Ten minutes back: the first record at or after then is the one of 5 minutes ago.
    expect(plan.stdout).toBe(`${topic},0,2\n`);
    const longer = await cli(
      'groups',
      'reset',
      group,
      '--topic',
      topic,
      '--by-duration',
      'PT25M',
      '--export',
    );
    expect(longer.stdout).toBe(`${topic},0,1\n`);
  });

  it('--export writes the CSV that --from-file applies; delete-offsets forgets offsets', async () => {
    const { topic, group } = await setUp();
    const exported = await cli(
      'groups',
      'reset',
      group,
      '--all-topics',
      '--shift-by',
      '1',
      '--export',
    );
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toBe(`${topic},0,5\n${topic},1,7\n`);
    expect(await committed(group)).toEqual([
      [0, 4],
      [1, 6],
    ]);

    const file = join(await mkdtemp(join(tmpdir(), 'eventlog-reset-')), 'plan.csv');
    await writeFile(file, exported.stdout);
    const applied = await cli('groups', 'reset', group, '--from-file', file, '--execute');
    expect(applied.code, applied.stderr).toBe(0);
    expect(await committed(group)).toEqual([
      [0, 5],
      [1, 7],
    ]);

    const deleted = await cli('groups', 'delete-offsets', group, '--topic', `${topic}:0`);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(new RegExp(`${topic}\\s+0\\s+Successful`));
    expect(await committed(group)).toEqual([[1, 7]]);
  });
});
