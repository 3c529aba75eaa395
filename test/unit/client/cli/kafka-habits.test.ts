import { describe, expect, it } from 'vitest';
import { parseOffsetSpecs, startOffset } from '../../../../lib/client/cli/offset-spec.js';
import { unescapeDelimiter } from '../../../../lib/client/cli/record-input.js';
import { parseIsoDuration, parseKafkaDateTime } from '../../../../lib/client/cli/reset-command.js';

describe('kcat -o specs', () => {
  const bounds = { logStartOffset: 3, highWatermark: 10 };
  it('reads every form and where each starts', () => {
    const start = (spec: string) => {
      const parsed = parseOffsetSpecs([spec]).start;
      if (parsed === undefined) throw new Error('no start');
      return startOffset(parsed, bounds);
    };
    expect(start('beginning')).toBe(3);
    expect(start('end')).toBe(10);
    expect(start('7')).toBe(7);
    expect(start('-5')).toBe(5);
    expect(start('-50')).toBe(3);
    expect(parseOffsetSpecs(['s@1000', 'e@2000'])).toEqual({
      start: { kind: 'time', timestamp: 1000 },
      endTime: 2000,
    });
  });
  it('refuses what kcat does not take', () => {
    expect(() => parseOffsetSpecs(['stored'])).toThrow('--group');
    expect(() => parseOffsetSpecs(['1', '2'])).toThrow('two starting points');
    expect(() => parseOffsetSpecs(['e@x'])).toThrow('ms since the epoch');
    expect(() => parseOffsetSpecs(['+3'])).toThrow('-o takes');
  });
});

describe('delimiters', () => {
  it("unescapes kcat's escapes", () => {
    expect(unescapeDelimiter('\\n')).toBe('\n');
    expect(unescapeDelimiter('\\t|\\x00\\\\')).toBe('\t|\0\\');
    expect(unescapeDelimiter(';')).toBe(';');
  });
});

describe('reset durations and times', () => {
  it('reads ISO-8601 durations as java.time.Duration does', () => {
    expect(parseIsoDuration('PT10M')).toBe(600_000);
    expect(parseIsoDuration('P1DT2H')).toBe(26 * 3_600_000);
    expect(parseIsoDuration('PT1.5S')).toBe(1500);
    expect(parseIsoDuration('-PT1M')).toBe(-60_000);
    expect(() => parseIsoDuration('10m')).toThrow('ISO-8601');
    expect(() => parseIsoDuration('PT')).toThrow('ISO-8601');
  });
  it("reads Kafka's datetime format, local without a zone", () => {
    expect(parseKafkaDateTime('2024-05-01T12:00:00.000Z')).toBe(Date.UTC(2024, 4, 1, 12));
    expect(parseKafkaDateTime('2024-05-01T12:00:00.000+0200')).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseKafkaDateTime('2024-05-01T12:00:00.000')).toBe(new Date(2024, 4, 1, 12).getTime());
    expect(parseKafkaDateTime('1714564800000')).toBe(1714564800000);
    expect(() => parseKafkaDateTime('yesterday')).toThrow('YYYY-MM-DD');
  });
});
