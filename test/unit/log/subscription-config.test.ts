import { describe, expect, it } from 'vitest';
import { EventLogError } from '../../../lib/log/errors.js';
import {
  applyUpdate,
  effectiveRetries,
  normalizeSubscription,
  parseDestination,
  RETENTION_SAFETY_MARGIN,
  retentionGiveUpAgeMs,
  retentionSafetyMarginMs,
  type SubscriptionInput,
} from '../../../lib/log/subscription-config.js';

const base: SubscriptionInput = {
  name: 'orders-to-billing',
  topic: 'orders',
  functionName: 'billing',
  startingPosition: 'TRIM_HORIZON',
};

function problemsOf(input: Partial<SubscriptionInput> & Record<string, unknown>) {
  try {
    normalizeSubscription({ ...base, ...input } as SubscriptionInput);
  } catch (error) {
    expect(error).toBeInstanceOf(EventLogError);
    expect((error as EventLogError).code).toBe('INVALID_CONFIG');
    return (error as EventLogError).details?.['problems'] as {
      field: string;
      message: string;
      limit?: unknown;
    }[];
  }
  throw new Error('expected a rejection');
}

describe('normalizeSubscription', () => {
  it("applies Lambda's Kafka defaults", () => {
    expect(normalizeSubscription(base)).toEqual({
      ...base,
      group: 'orders-to-billing',
      batchSize: 100,
      maximumBatchingWindowInSeconds: 0.5,
      maximumRetryAttempts: -1,
      maximumRecordAgeInSeconds: -1,
      bisectBatchOnFunctionError: false,
      functionResponseTypes: [],
      enabled: true,
    });
  });

  it('keeps every limit value Lambda accepts', () => {
    const config = normalizeSubscription({
      ...base,
      group: 'billing',
      functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:billing:live',
      batchSize: 10_000,
      maximumBatchingWindowInSeconds: 300,
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: 1_700_000_000,
      maximumRetryAttempts: 10_000,
      maximumRecordAgeInSeconds: 604_800,
      bisectBatchOnFunctionError: true,
      functionResponseTypes: ['ReportBatchItemFailures'],
      destinationConfig: { onFailure: { destination: 'kafka://orders.dlq' } },
      enabled: false,
    });
    expect(config).toMatchObject({
      batchSize: 10_000,
      maximumRetryAttempts: 10_000,
      enabled: false,
    });
    expect(
      normalizeSubscription({ ...base, maximumBatchingWindowInSeconds: 0.25 })
        .maximumBatchingWindowInSeconds,
    ).toBe(0.25);
  });

  it.each([
    [{ batchSize: 0 }, 'batchSize', { min: 1, max: 10_000 }],
    [{ batchSize: 10_001 }, 'batchSize', { min: 1, max: 10_000 }],
    [{ batchSize: 1.5 }, 'batchSize', { min: 1, max: 10_000 }],
    [
      { maximumBatchingWindowInSeconds: 301 },
      'maximumBatchingWindowInSeconds',
      { min: 0, max: 300 },
    ],
    [
      { maximumBatchingWindowInSeconds: 0.0001 },
      'maximumBatchingWindowInSeconds',
      { min: 0, max: 300 },
    ],
    [{ maximumRetryAttempts: -2 }, 'maximumRetryAttempts', { min: -1, max: 10_000 }],
    [{ maximumRetryAttempts: 10_001 }, 'maximumRetryAttempts', { min: -1, max: 10_000 }],
    [{ maximumRecordAgeInSeconds: 59 }, 'maximumRecordAgeInSeconds', { min: -1, max: 604_800 }],
    [
      { maximumRecordAgeInSeconds: 604_801 },
      'maximumRecordAgeInSeconds',
      { min: -1, max: 604_800 },
    ],
  ])('rejects %j naming the limit', (settings, field, limit) => {
    const problems = problemsOf(settings);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ field, limit });
    expect(problems[0]?.message).toContain(String(limit.max));
  });

  it.each([
    [{ startingPosition: undefined }, 'startingPosition', /required/],
    [
      { startingPosition: 'EARLIEST' },
      'startingPosition',
      /one of TRIM_HORIZON, LATEST, AT_TIMESTAMP/,
    ],
    [{ startingPosition: 'AT_TIMESTAMP' }, 'startingPositionTimestamp', /required/],
    [{ startingPositionTimestamp: 5 }, 'startingPositionTimestamp', /only allowed/],
    [{ functionResponseTypes: ['Everything'] }, 'functionResponseTypes', /ReportBatchItemFailures/],
    [{ name: 'a b' }, 'name', /1-249/],
    [{ group: 'a/b' }, 'group', /group "a\/b"/],
    [{ topic: '..' }, 'topic', /cannot be/],
    [{ functionName: 'not a function!' }, 'functionName', /Lambda function name/],
    [{ bisectBatchOnFunctionError: 'yes' }, 'bisectBatchOnFunctionError', /true or false/],
    [
      { destinationConfig: { onFailure: { destination: 'http://example.com' } } },
      'destinationConfig.onFailure.destination',
      /kafka:\/\/\{topic\}/,
    ],
    [
      { destinationConfig: { onFailure: { destination: 'kafka://orders' } } },
      'destinationConfig.onFailure.destination',
      /must differ/,
    ],
    [
      // Not an account id.
      { destinationConfig: { onFailure: { destination: 'arn:aws:sqs:us-east-1:1234:dlq' } } },
      'destinationConfig.onFailure.destination',
      /SQS queue or SNS topic ARN/,
    ],
    [
      // SQS queue names stop at 80 characters.
      {
        destinationConfig: {
          onFailure: { destination: `arn:aws:sqs:us-east-1:123456789012:${'q'.repeat(81)}` },
        },
      },
      'destinationConfig.onFailure.destination',
      /arn:aws:sqs:\{region\}/,
    ],
    [
      { destinationConfig: { onFailure: { destination: 'arn:aws:s3:::Bad_Bucket' } } },
      'destinationConfig.onFailure.destination',
      /arn:aws:s3:::\{bucket\}/,
    ],
    [
      { destinationConfig: { onFailure: { destination: 'arn:aws:s3:::a..b' } } },
      'destinationConfig.onFailure.destination',
      /S3 bucket ARN/,
    ],
    [
      { filterCriteria: { filters: [{ pattern: '{"key":["k"]}' }] } },
      'filterCriteria.filters[0].pattern',
      /filterCriteria\.filters\[0\]\.pattern: invalid pattern at key: Kafka filters match the record's value only/,
    ],
    [
      { filterCriteria: { filters: [{ pattern: '{"value":' }] } },
      'filterCriteria.filters[0].pattern',
      /not JSON/,
    ],
  ])('rejects %j', (settings, field, message) => {
    const problems = problemsOf(settings as Record<string, unknown>);
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.find((p) => p.field === field)?.message).toMatch(message);
  });

  it('names every problem at once', () => {
    const problems = problemsOf({ batchSize: 0, maximumRecordAgeInSeconds: 1 });
    expect(problems.map((p) => p.field)).toEqual(['batchSize', 'maximumRecordAgeInSeconds']);
  });

  it('accepts SQS and SNS destinations, standard and FIFO', () => {
    for (const destination of [
      'arn:aws:sqs:us-east-1:123456789012:dlq',
      'arn:aws:sqs:eu-west-1:123456789012:orders-dlq.fifo',
      'arn:aws:sns:ap-southeast-2:123456789012:failures',
      'arn:aws-us-gov:sns:us-gov-west-1:123456789012:failures.fifo',
    ]) {
      const config = normalizeSubscription({
        ...base,
        destinationConfig: { onFailure: { destination } },
      });
      expect(config.destinationConfig?.onFailure.destination).toBe(destination);
    }
  });

  it('lets the CDK skip tokens, an SQS queue ARN among them', () => {
    // How a CDK token looks inside a string.
    const token = '$' + '{Token[TOKEN.1]}';
    const config = normalizeSubscription(
      {
        ...base,
        functionName: token,
        batchSize: token as unknown as number,
        destinationConfig: { onFailure: { destination: token } },
      },
      { isUnresolved: (v) => typeof v === 'string' && v.includes('${Token') },
    );
    expect(config.functionName).toBe(token);
    expect(config.destinationConfig?.onFailure.destination).toBe(token);
  });
});

describe('applyUpdate', () => {
  const current = normalizeSubscription(base);

  it('changes what Lambda lets change', () => {
    const updated = applyUpdate(current, { batchSize: 10, enabled: false, functionName: 'other' });
    expect(updated).toMatchObject({
      batchSize: 10,
      enabled: false,
      functionName: 'other',
      topic: 'orders',
    });
  });

  it('refuses the topic, the group and the starting position', () => {
    expect(() => applyUpdate(current, { topic: 'other' } as never)).toThrow(
      /topic cannot be changed/,
    );
    expect(() => applyUpdate(current, { startingPosition: 'LATEST' } as never)).toThrow(
      /startingPosition cannot be changed/,
    );
  });

  it('checks the result against the limits', () => {
    expect(() => applyUpdate(current, { batchSize: 0 })).toThrow(
      /batchSize must be an integer from 1 to 10000/,
    );
  });

  it('removes a destination given an empty destinationConfig', () => {
    const withDlq = applyUpdate(current, {
      destinationConfig: { onFailure: { destination: 'kafka://dlq' } },
    });
    expect(withDlq.destinationConfig).toEqual({ onFailure: { destination: 'kafka://dlq' } });
    expect(
      applyUpdate(withDlq, { destinationConfig: {} as never }).destinationConfig,
    ).toBeUndefined();
  });
});

describe('destinations and retries', () => {
  it('parses kafka://, SQS and SNS destinations, with the region the client is made in', () => {
    expect(parseDestination('kafka://orders.dlq')).toEqual({ kind: 'topic', topic: 'orders.dlq' });
    expect(parseDestination('arn:aws:sqs:eu-central-1:123456789012:q')).toEqual({
      kind: 'sqs',
      arn: 'arn:aws:sqs:eu-central-1:123456789012:q',
      region: 'eu-central-1',
      account: '123456789012',
      name: 'q',
      fifo: false,
    });
    expect(parseDestination('arn:aws:sns:us-east-2:210987654321:t.fifo')).toMatchObject({
      kind: 'sns',
      region: 'us-east-2',
      account: '210987654321',
      name: 't.fifo',
      fifo: true,
    });
    expect(() => parseDestination('s3://bucket')).toThrow(/Unknown on-failure destination/);
  });

  it("parses S3 bucket ARNs by S3's naming rules", () => {
    expect(parseDestination('arn:aws:s3:::my-dlq.bucket-1')).toEqual({
      kind: 's3',
      arn: 'arn:aws:s3:::my-dlq.bucket-1',
      bucket: 'my-dlq.bucket-1',
    });
    for (const bad of [
      'arn:aws:s3:::ab',
      'arn:aws:s3:::-ab',
      'arn:aws:s3:::a..b',
      'arn:aws:s3:::10.0.0.1',
    ]) {
      expect(() => parseDestination(bad)).toThrow(/Unknown on-failure destination/);
    }
  });

  it('keeps filterCriteria; no filters and {} mean every record', () => {
    const filters = [{ pattern: '{"value":{"kind":["order"]}}' }];
    expect(normalizeSubscription({ ...base, filterCriteria: { filters } }).filterCriteria).toEqual({
      filters,
    });
    expect(normalizeSubscription({ ...base, filterCriteria: { filters: [] } })).not.toHaveProperty(
      'filterCriteria',
    );
    expect(normalizeSubscription({ ...base, filterCriteria: {} })).not.toHaveProperty(
      'filterCriteria',
    );
    const config = normalizeSubscription({ ...base, filterCriteria: { filters } });
    expect(applyUpdate(config, { filterCriteria: {} })).not.toHaveProperty('filterCriteria');
    expect(applyUpdate(config, { batchSize: 5 }).filterCriteria).toEqual({ filters });
  });

  it('retries -1 without bound, with or without a destination (until the record expires)', () => {
    expect(effectiveRetries(normalizeSubscription(base))).toBe(Number.POSITIVE_INFINITY);
    for (const destination of ['kafka://d', 'arn:aws:sqs:us-east-1:123456789012:q']) {
      expect(
        effectiveRetries(
          normalizeSubscription({ ...base, destinationConfig: { onFailure: { destination } } }),
        ),
      ).toBe(Number.POSITIVE_INFINITY);
    }
    expect(effectiveRetries(normalizeSubscription({ ...base, maximumRetryAttempts: 2 }))).toBe(2);
    expect(effectiveRetries(normalizeSubscription({ ...base, maximumRetryAttempts: 0 }))).toBe(0);
  });

  it('gives up on failing records 10% of retention.ms, at most an hour, before retention may delete them', () => {
    expect(RETENTION_SAFETY_MARGIN).toEqual({ fraction: 0.1, maxMs: 3_600_000 });
    // An hour's retention: 6 minutes early.
    expect(retentionSafetyMarginMs(3_600_000)).toBe(360_000);
    expect(retentionGiveUpAgeMs(3_600_000)).toBe(3_240_000);
    // Seven days: the hour cap.
    expect(retentionSafetyMarginMs(604_800_000)).toBe(3_600_000);
    expect(retentionGiveUpAgeMs(604_800_000)).toBe(601_200_000);
    // Kept forever: never.
    expect(retentionGiveUpAgeMs(-1)).toBeUndefined();
  });
});
