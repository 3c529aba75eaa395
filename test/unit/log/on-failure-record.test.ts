import { describe, expect, it } from 'vitest';
import {
  buildInvocationRecord,
  buildS3InvocationRecord,
  type FailureRecordInput,
  ON_FAILURE_MESSAGE_LIMIT,
  qualifiedFunctionArn,
  s3FailureObjectKey,
} from '../../../lib/log/on-failure-record.js';

const input: FailureRecordInput = {
  condition: 'RetryAttemptsExhausted',
  requestId: 'fallback-id',
  functionName: 'arn:aws:lambda:us-east-1:123456789012:function:billing',
  approximateInvokeCount: 3,
  response: {
    statusCode: 200,
    executedVersion: '$LATEST',
    functionError: 'Unhandled',
    requestId: '316aa6d0-8154-4d5c-9af7-85d5f4a6bc81',
  },
  timestamp: Date.UTC(2026, 10, 14, 0, 38, 6, 21),
  bootstrapServers: 'eventlog.example:443',
  payloadSize: 1162,
  subscription: 'orders-to-billing',
  group: 'billing',
  topic: 'orders',
  partition: 2,
  firstOffset: 41,
  lastOffset: 42,
  firstTimestamp: Date.UTC(2026, 10, 14, 0, 38, 4, 835),
  lastTimestamp: Date.UTC(2026, 10, 14, 0, 38, 5, 580),
  reason: 'failed 3 time(s); maximumRetryAttempts is 2',
  lastError: 'Unhandled: Error: cannot parse',
};

describe('buildInvocationRecord', () => {
  it("writes Lambda's SQS/SNS invocation record for Kafka, with our own fields apart", () => {
    expect(JSON.parse(buildInvocationRecord(input))).toEqual({
      requestContext: {
        requestId: '316aa6d0-8154-4d5c-9af7-85d5f4a6bc81',
        functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:billing',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2026-11-14T00:38:06.021Z',
      KafkaBatchInfo: {
        batchSize: 2,
        bootstrapServers: 'eventlog.example:443',
        payloadSize: 1162,
        recordsInfo: {
          'orders-2': {
            firstRecordOffset: '41',
            lastRecordOffset: '42',
            firstRecordTimestamp: '2026-11-14T00:38:04.835Z',
            lastRecordTimestamp: '2026-11-14T00:38:05.580Z',
          },
        },
      },
      eventlog: {
        subscription: 'orders-to-billing',
        consumerGroupId: 'billing',
        topic: 'orders',
        partition: 2,
        firstOffset: 41,
        lastOffset: 42,
        reason: 'failed 3 time(s); maximumRetryAttempts is 2',
        lastError: 'Unhandled: Error: cannot parse',
      },
    });
  });

  it('has a null responseContext and its own request id when the function never answered, and no timestamps for deleted records', () => {
    const {
      response: _,
      firstTimestamp: __,
      lastTimestamp: ___,
      payloadSize: ____,
      ...rest
    } = input;
    const record = JSON.parse(buildInvocationRecord({ ...rest, condition: 'RecordExpired' }));
    expect(record.responseContext).toBeNull();
    expect(record.requestContext.requestId).toBe('fallback-id');
    expect(record.requestContext.condition).toBe('RecordExpired');
    expect(record.KafkaBatchInfo.recordsInfo['orders-2']).toEqual({
      firstRecordOffset: '41',
      lastRecordOffset: '42',
    });
    expect(record.KafkaBatchInfo).not.toHaveProperty('payloadSize');
  });

  it('cuts the last error so the message fits in 256 KiB, and says so', () => {
    // Multi-byte characters and characters JSON escapes: the limit is on UTF-8 bytes.
    const huge = `${'é"\n'.repeat(60_000)}😀${'x'.repeat(200_000)}`;
    const text = buildInvocationRecord({ ...input, lastError: huge });
    expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(ON_FAILURE_MESSAGE_LIMIT);
    // Close to the limit: it keeps as much of the error as fits.
    expect(Buffer.byteLength(text, 'utf8')).toBeGreaterThan(ON_FAILURE_MESSAGE_LIMIT - 1000);
    const record = JSON.parse(text);
    expect(record.eventlog.truncated).toBe(true);
    expect(record.eventlog.lastError).toMatch(/^é"\n/);
    expect(record.eventlog.lastError).toMatch(/… \(truncated\)$/);
    expect(record.requestContext.condition).toBe('RetryAttemptsExhausted');
  });

  it('leaves a small record whole', () => {
    const record = JSON.parse(buildInvocationRecord(input));
    expect(record.eventlog).not.toHaveProperty('truncated');
    expect(record.eventlog.lastError).toBe(input.lastError);
  });

  it('cuts the reason too when the error alone is not enough', () => {
    const text = buildInvocationRecord(
      { ...input, lastError: 'e'.repeat(2000), reason: 'r'.repeat(5000) },
      3000,
    );
    expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(3000);
    const record = JSON.parse(text);
    expect(record.eventlog.lastError).toBe('');
    expect(record.eventlog.reason).toMatch(/^r+… \(truncated\)$/);
  });
});

describe('qualifiedFunctionArn', () => {
  const own = 'arn:aws-cn:lambda:cn-north-1:111122223333:function:eventlog-dispatch';
  it("completes a name, an alias and a partial ARN from the dispatcher's own ARN", () => {
    expect(qualifiedFunctionArn('orders-consumer', own)).toBe(
      'arn:aws-cn:lambda:cn-north-1:111122223333:function:orders-consumer',
    );
    expect(qualifiedFunctionArn('orders-consumer:live', own)).toBe(
      'arn:aws-cn:lambda:cn-north-1:111122223333:function:orders-consumer:live',
    );
    expect(qualifiedFunctionArn('444455556666:function:other', own)).toBe(
      'arn:aws-cn:lambda:cn-north-1:444455556666:function:other',
    );
  });

  it('keeps a full ARN, and gives up without an own ARN to complete from', () => {
    const arn = 'arn:aws:lambda:us-east-1:444455556666:function:x';
    expect(qualifiedFunctionArn(arn, own)).toBe(arn);
    expect(qualifiedFunctionArn(arn)).toBe(arn);
    expect(qualifiedFunctionArn('orders-consumer')).toBeUndefined();
    expect(qualifiedFunctionArn('orders-consumer', 'not-an-arn')).toBeUndefined();
  });

  it('is what the record carries when known, else the configured name', () => {
    const named = buildInvocationRecord({ ...input, functionName: 'orders-consumer' });
    expect(JSON.parse(named).requestContext.functionArn).toBe('orders-consumer');
    const qualified = buildInvocationRecord({
      ...input,
      functionName: 'orders-consumer',
      functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:orders-consumer',
    });
    expect(JSON.parse(qualified).requestContext.functionArn).toBe(
      'arn:aws:lambda:us-east-1:111122223333:function:orders-consumer',
    );
  });
});

describe('S3 on-failure records', () => {
  it('is the whole invocation record plus the payload, never truncated', () => {
    const payload = { eventSource: 'SelfManagedKafka', records: { 'orders-2': [] } };
    const long = { ...input, lastError: 'x'.repeat(ON_FAILURE_MESSAGE_LIMIT) };
    const record = JSON.parse(buildS3InvocationRecord(long, payload));
    expect(record).toEqual({ ...JSON.parse(JSON.stringify(recordWithoutLimit(long))), payload });
    expect(record.eventlog.lastError).toHaveLength(ON_FAILURE_MESSAGE_LIMIT);
    expect(JSON.parse(buildS3InvocationRecord(input))).not.toHaveProperty('payload');
  });

  it('names objects as Lambda does: aws/lambda/<ESM-UUID>/<partition>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>', () => {
    const at = Date.UTC(2026, 0, 5, 7, 8, 9, 123);
    expect(s3FailureObjectKey('a1b2c3d4-5678-50ab-8def-111111111111', 3, at, 'u-1')).toBe(
      'aws/lambda/a1b2c3d4-5678-50ab-8def-111111111111/3/2026/01/05/2026-01-05T07.08.09-u-1',
    );
  });
});

function recordWithoutLimit(record: FailureRecordInput) {
  return JSON.parse(buildInvocationRecord(record, Number.MAX_SAFE_INTEGER));
}
