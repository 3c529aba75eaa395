import { describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/aws.js';
import { cliAgainst } from '../helpers/cli.js';
import { brokerForTest } from './broker/helpers.js';

/** `eventlog consume --group` and `eventlog groups ...` as processes, against a served API. */

const broker = brokerForTest();
const cli = cliAgainst(broker);

describe('eventlog groups', () => {
  it('consumes as a group member, then lists, describes, resets and deletes the group', async () => {
    const topic = uniqueName('cli');
    const group = uniqueName('cli-g');
    await broker.topics.create({ name: topic, partitions: 2 });
    await broker.produce.produce({
      topic,
      records: Array.from({ length: 6 }, (_, i) => ({
        partition: i % 2,
        value: Buffer.from(`v${i}`),
      })),
    });

    const first = await cli(
      'consume',
      topic,
      '--group',
      group,
      '--from-beginning',
      '--max',
      '4',
      '--format',
      'value',
    );
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(4);
    // The next member of the group continues where the first stopped: the other two.
    const second = await cli('consume', topic, '--group', group, '--max', '2', '--format', 'value');
    expect(second.code, second.stderr).toBe(0);
    expect(
      [...first.stdout.trim().split('\n'), ...second.stdout.trim().split('\n')].sort(),
    ).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);

    const listed = await cli('groups', 'list', '--json');
    expect(JSON.parse(listed.stdout)).toContainEqual({ group, state: 'Empty', members: 0 });

    const described = await cli('groups', 'describe', group);
    expect(described.stdout).toContain(`group ${group}: Empty, 0 members, total lag 0`);
    expect(described.stdout).toMatch(/TOPIC\s+PARTITION\s+OWNER\s+COMMITTED\s+LOG END\s+LAG/);

    const reset = await cli(
      'groups',
      'reset',
      group,
      '--topic',
      topic,
      '--to',
      'earliest',
      '--execute',
      '--json',
    );
    expect(reset.code, reset.stderr).toBe(0);
    expect(JSON.parse(reset.stdout)).toEqual([
      { topic, partition: 0, previous: 3, committed: 0 },
      { topic, partition: 1, previous: 3, committed: 0 },
    ]);
    const partial = await cli(
      'groups',
      'reset',
      group,
      '--topic',
      topic,
      '--to-offset',
      '2',
      '--partition',
      '1',
      '--execute',
      '--json',
    );
    expect(JSON.parse(partial.stdout)).toEqual([
      { topic, partition: 1, previous: 0, committed: 2 },
    ]);
    const usage = await cli('groups', 'reset', group, '--topic', topic);
    expect(usage.code).toBe(2);

    const deleted = await cli('groups', 'delete', group);
    expect(deleted.stdout).toContain(`deleted group ${group}`);
    const gone = await cli('groups', 'describe', group);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('(UNKNOWN_GROUP)');
  }, 60_000);
});
