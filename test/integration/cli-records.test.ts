import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../lib/broker/broker.js';
import { uniqueName } from '../helpers/aws.js';
import { cliAgainst } from '../helpers/cli.js';
import { brokerForTest, produceValues, text } from './broker/helpers.js';

/**
 * kcat's habits in `eventlog consume` and `eventlog produce`, as processes against a served
 * API: -o -N, e@ end times, the -J envelope, consume | produce copies, -D, -K, -Z.
 */

const broker = brokerForTest();
const cli = cliAgainst(broker);

/** Every record of a partition as the broker holds it: key, value, headers, timestamp. */
async function recordsOf(b: Broker, topic: string, partition: number) {
  const fetched = await b.fetch.fetch({ topic, partition, offset: 0, maxRecords: 1000 });
  const str = (v: Uint8Array | null) => (v === null ? null : Buffer.from(v).toString('base64'));
  return fetched.records.map((r) => ({
    key: str(r.key),
    value: str(r.value),
    headers: r.headers.map((h) => [h.key, str(h.value)]),
    timestamp: r.timestamp,
  }));
}

async function tempFile(name: string, content = ''): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'eventlog-cli-')), name);
  await writeFile(path, content);
  return path;
}

describe('eventlog consume -o', () => {
  it('-o -5 prints the last five of each partition; e@ stops before a time', async () => {
    const topic = uniqueName('cli-o');
    await broker.topics.create({ name: topic, partitions: 1 });
    for (let i = 0; i < 12; i++) {
      await produceValues(broker, topic, [`v${i}`], { timestamp: 1_000_000 + i * 1000 });
    }
    const last = await cli('consume', topic, '-o', '-5', '--format', 'value');
    expect(last.code, last.stderr).toBe(0);
    expect(last.stdout).toBe('v7\nv8\nv9\nv10\nv11\n');

    // More than the partition holds: from its start.
    const all = await cli('consume', topic, '-o', '-50', '--format', 'value');
    expect(all.stdout.trim().split('\n')).toHaveLength(12);

    const window = await cli(
      'consume',
      topic,
      '-o',
      's@1003000',
      '-o',
      'e@1006000',
      '--format',
      'value',
    );
    expect(window.code, window.stderr).toBe(0);
    expect(window.stdout).toBe('v3\nv4\nv5\n');

    const absolute = await cli('consume', topic, '-o', '10', '--format', 'value');
    expect(absolute.stdout).toBe('v10\nv11\n');

    const bad = await cli('consume', topic, '-o', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('-o takes beginning, end');
  });
});

describe('consume | produce', () => {
  async function sourceTopic(): Promise<string> {
    const topic = uniqueName('cli-src');
    await broker.topics.create({ name: topic, partitions: 1 });
    const result = await broker.produce.produce({
      topic,
      records: [
        { key: text('k1'), value: text('{"a": 1.0}'), timestamp: 1_700_000_000_001 },
        { key: null, value: null, timestamp: 1_700_000_000_002 },
        {
          key: text('k3'),
          value: text(''),
          headers: [
            { key: 'trace', value: text('t-1') },
            { key: 'trace', value: text('t-2') },
            { key: 'empty', value: null },
          ],
          timestamp: 1_700_000_000_003,
        },
        { value: text('ünïcode\ttab'), timestamp: 1_700_000_000_004 },
      ],
    });
    expect(result.records.every((r) => r.error === undefined)).toBe(true);
    return topic;
  }

  for (const format of ['json', 'kcat'] as const) {
    it(`copies keys, values, headers, nulls and timestamps exactly (--format ${format})`, async () => {
      const source = await sourceTopic();
      const target = uniqueName('cli-dst');
      await broker.topics.create({ name: target, partitions: 1 });
      const consumed = await cli('consume', source, '-o', 'beginning', '--format', format);
      expect(consumed.code, consumed.stderr).toBe(0);
      if (format === 'kcat') {
        const first = JSON.parse(consumed.stdout.split('\n')[0] as string);
        expect(Object.keys(first)).toEqual([
          'topic',
          'partition',
          'offset',
          'tstype',
          'ts',
          'broker',
          'key',
          'payload',
        ]);
        expect(first).toMatchObject({ topic: source, tstype: 'create', key: 'k1' });
      }
      const file = await tempFile('records.jsonl', consumed.stdout);
      const produced = await cli('produce', target, '--format', 'json', '--file', file);
      expect(produced.code, produced.stderr).toBe(0);
      expect(produced.stderr).toContain('produced 4 records');
      expect(await recordsOf(broker, target, 0)).toEqual(await recordsOf(broker, source, 0));
    });
  }

  it('round-trips bytes that are not UTF-8 with base64 formats', async () => {
    const source = uniqueName('cli-bin');
    const target = uniqueName('cli-bin2');
    await broker.topics.create({ name: source, partitions: 1 });
    await broker.topics.create({ name: target, partitions: 1 });
    await broker.produce.produce({
      topic: source,
      records: [{ key: Buffer.from([0xff, 0]), value: Buffer.from([0xc3, 0x28]) }],
    });
    const b64 = ['--key-format', 'base64', '--value-format', 'base64'];
    const consumed = await cli('consume', source, '-o', 'beginning', ...b64);
    const file = await tempFile('bin.jsonl', consumed.stdout);
    const produced = await cli('produce', target, '--format', 'json', '--file', file, ...b64);
    expect(produced.code, produced.stderr).toBe(0);
    expect(await recordsOf(broker, target, 0)).toEqual(await recordsOf(broker, source, 0));
  });

  it('-D splits at a delimiter, -K at a key delimiter, -Z sends empty values as null', async () => {
    const topic = uniqueName('cli-d');
    await broker.topics.create({ name: topic, partitions: 1 });
    const file = await tempFile('in.txt', 'a:1;b:;:3;c:multi\nline;');
    const produced = await cli(
      'produce',
      topic,
      '--file',
      file,
      '-D',
      ';',
      '-K',
      ':',
      '-Z',
      '-H',
      'src=file',
    );
    expect(produced.code, produced.stderr).toBe(0);
    const records = await broker.fetch.fetch({ topic, partition: 0, offset: 0 });
    const str = (v: Uint8Array | null) => (v === null ? null : Buffer.from(v).toString());
    expect(records.records.map((r) => [str(r.key), str(r.value)])).toEqual([
      ['a', '1'],
      ['b', null],
      ['', '3'],
      ['c', 'multi\nline'],
    ]);
    expect(records.records[0]?.headers.map((h) => [h.key, str(h.value)])).toEqual([
      ['src', 'file'],
    ]);
  });

  it('refuses a line that is not an envelope, naming the line', async () => {
    const topic = uniqueName('cli-bad');
    await broker.topics.create({ name: topic, partitions: 1 });
    const file = await tempFile('bad.jsonl', '{"value":"ok"}\n{"v":1}\n');
    const produced = await cli('produce', topic, '--format', 'json', '--file', file);
    expect(produced.code).toBe(1);
    expect(produced.stderr).toContain('line 2: has neither "value"');
    expect(await readFile(file, 'utf8')).toContain('"v":1');
  });
});
