import { describe, expect, it } from 'vitest';
import { isCompressionSupported } from '../../../lib/log/compression.js';
import { isEventLogError } from '../../../lib/log/errors.js';
import {
  buildTopicConfig,
  COMPRESSION_NAMES,
  configEntries,
  DEFAULT_TOPIC_CONFIG,
  validatePartitionCount,
  validateTopicName,
} from '../../../lib/log/topic-config.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isEventLogError(error) ? error.code : 'not an EventLogError';
  }
}

describe('topic rules (Kafka)', () => {
  it.each([
    ['orders', undefined],
    ['a.b_c-D9', undefined],
    ['x'.repeat(249), undefined],
    ['x'.repeat(250), 'INVALID_TOPIC_NAME'],
    ['', 'INVALID_TOPIC_NAME'],
    ['.', 'INVALID_TOPIC_NAME'],
    ['..', 'INVALID_TOPIC_NAME'],
    ['has space', 'INVALID_TOPIC_NAME'],
    ['slash/name', 'INVALID_TOPIC_NAME'],
    ['ünïcode', 'INVALID_TOPIC_NAME'],
    ['#deleted#x', 'INVALID_TOPIC_NAME'],
  ])('topic name %j -> %s', (name, code) => {
    expect(codeOf(() => validateTopicName(name))).toBe(code);
  });

  it.each([
    [1, undefined],
    [1000, undefined],
    [0, 'INVALID_PARTITIONS'],
    [1001, 'INVALID_PARTITIONS'],
    [1.5, 'INVALID_PARTITIONS'],
    ['3', 'INVALID_PARTITIONS'],
  ])('partitions %j -> %s', (partitions, code) => {
    expect(codeOf(() => validatePartitionCount(partitions))).toBe(code);
  });

  it('defaults to Kafka’s retention.ms and max.message.bytes', () => {
    expect(DEFAULT_TOPIC_CONFIG.retentionMs).toBe(604_800_000);
    expect(DEFAULT_TOPIC_CONFIG.maxMessageBytes).toBe(1_048_588);
    expect(DEFAULT_TOPIC_CONFIG.retentionBytes).toBe(-1);
  });

  it('parses Kafka-named configs from strings and numbers, and lists them back', () => {
    const config = buildTopicConfig({
      'retention.ms': '-1',
      'retention.bytes': 1024,
      'message.timestamp.type': 'LogAppendTime',
      'cleanup.policy': 'delete',
    });
    expect(config).toMatchObject({
      retentionMs: -1,
      retentionBytes: 1024,
      timestampType: 'LogAppendTime',
    });
    expect(configEntries(config)).toContainEqual({ name: 'retention.ms', value: '-1' });
  });

  it.each([
    [{ 'retention.ms': 'soon' }],
    [{ 'retention.ms': -2 }],
    [{ 'retention.ms': 1.5 }],
    [{ 'max.message.bytes': 0 }],
    [{ 'max.message.bytes': 5 * 1024 * 1024 }],
    [{ 'compression.type': 'brotli' }],
    [{ 'compression.type': 'producer' }],
    [{ 'compression.type': 'LZ4' }],
    [{ 'compression.type': 3 }],
    [{ 'cleanup.policy': 'compact' }],
    [{ 'segment.bytes': '1' }],
  ])('rejects %j with INVALID_CONFIG', (configs) => {
    expect(codeOf(() => buildTopicConfig(configs))).toBe('INVALID_CONFIG');
  });
});

describe('compression.type', () => {
  it.each([
    ['none', 'none'],
    ['uncompressed', 'none'],
    ['gzip', 'gzip'],
    ['snappy', 'snappy'],
    ['lz4', 'lz4'],
    ['zstd', 'zstd'],
  ] as const)('accepts %s as %s, and lists it by its canonical name', (raw, codec) => {
    const config = buildTopicConfig({ 'compression.type': raw });
    expect(config.compression).toBe(codec);
    expect(configEntries(config)).toContainEqual({ name: 'compression.type', value: codec });
  });

  it('names every codec in the refusal', () => {
    try {
      buildTopicConfig({ 'compression.type': 'brotli' });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).toMatch(
        /none, gzip, snappy, lz4, zstd \(or uncompressed\), got brotli/,
      );
    }
  });

  it('every codec it accepts can be written and read in this process', () => {
    for (const codec of COMPRESSION_NAMES) expect(isCompressionSupported(codec)).toBe(true);
  });
});
