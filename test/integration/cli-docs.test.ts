import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/aws.js';
import { cliAgainst } from '../helpers/cli.js';
import { brokerForTest, produceValues } from './broker/helpers.js';

/**
 * Runs the transcripts of docs/cli.md marked `<!-- run by test/integration/cli-docs.test.ts -->`,
 * in order, against a topic `clicks` holding c0…c4 (one per second from 1700000000000 ms) and a
 * group `dashboard` committed at 3, and compares what each prints with what the docs show
 * (runs of spaces count as one: column widths follow the unique names).
 */

const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
const broker = brokerForTest();
const cli = cliAgainst(broker);

const MARK = '<!-- run by test/integration/cli-docs.test.ts -->';
const transcripts = [...doc.matchAll(/^<!-- run by [^>]+ -->\n```\n([\s\S]*?)^```$/gm)].map((m) => {
  const [command, ...output] = (m[1] ?? '').trimEnd().split('\n');
  return { command: (command ?? '').replace(/^\$ npx eventlog /, ''), output };
});

describe('docs/cli.md transcripts', () => {
  it('finds them', () => {
    expect(doc.split(MARK).length - 1).toBe(7);
    expect(transcripts).toHaveLength(7);
  });

  it('print what the docs show', async () => {
    const topic = uniqueName('clicks');
    const group = uniqueName('dashboard');
    const rename = (text: string) =>
      text.replaceAll('clicks', topic).replaceAll('dashboard', group);
    await broker.topics.create({ name: topic, partitions: 1 });
    for (let i = 0; i < 5; i++) {
      await produceValues(broker, topic, [`c${i}`], { timestamp: 1_700_000_000_000 + i * 1000 });
    }
    await broker.groups.reset(group, { topic, target: { to: 'offset', offset: 3 } });
    const words = (text: string) => text.split(/\s+/).filter((w) => w !== '');
    for (const t of transcripts) {
      const result = await cli(...rename(t.command).split(' '));
      expect(result.code, `${t.command}: ${result.stderr}`).toBe(0);
      expect(words(result.stdout), t.command).toEqual(words(rename(t.output.join('\n'))));
    }
  }, 120_000);
});
