import {
  type AttributeValue,
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { EventLogError } from '../../../lib/log/errors.js';
import { conditionalRequest, request, transactRequest } from '../../../lib/store/aws-errors.js';

const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
const conditionFailed = (Item?: Record<string, AttributeValue>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    ...(Item === undefined ? {} : { Item }),
  });

describe('request', () => {
  it('answers what the call answers', async () => {
    await expect(request('Reading x', async () => 42)).resolves.toBe(42);
  });

  it('maps an SDK error, naming the action', async () => {
    const error = await request('Reading x', () => Promise.reject(throttled())).catch((e) => e);
    expect(error).toBeInstanceOf(EventLogError);
    expect(error.code).toBe('THROTTLED');
    expect(error.message).toBe(
      'Reading x was throttled (ProvisionedThroughputExceededException: slow down)',
    );
  });

  it('maps a failed condition too: only conditionalRequest treats it as an answer', async () => {
    const error = await request('Writing x', () => Promise.reject(conditionFailed())).catch(
      (e) => e,
    );
    expect(error.code).toBe('STORAGE_UNAVAILABLE');
    expect(error.message).toMatch(/^Writing x failed: ConditionalCheckFailedException/);
  });

  it('passes an EventLogError through unchanged', async () => {
    const own = new EventLogError('CONFLICT', 'taken');
    await expect(request('Writing x', () => Promise.reject(own))).rejects.toBe(own);
  });
});

describe('conditionalRequest', () => {
  it('answers written with the response when the condition held', async () => {
    await expect(conditionalRequest('Writing x', async () => 'ok')).resolves.toEqual({
      written: true,
      response: 'ok',
    });
  });

  it('answers not written, with the old item, when the condition failed', async () => {
    const item: Record<string, AttributeValue> = { pk: { S: 'x' } };
    const failed = conditionFailed(item);
    const outcome = await conditionalRequest('Writing x', () => Promise.reject(failed));
    expect(outcome).toEqual({ written: false, item, error: failed });
  });

  it('answers no item when the write did not ask for it', async () => {
    const outcome = await conditionalRequest('Writing x', () => Promise.reject(conditionFailed()));
    expect(outcome.written).toBe(false);
    expect(outcome.written ? 'written' : outcome.item).toBeUndefined();
  });

  it('maps any other error', async () => {
    await expect(
      conditionalRequest('Writing x', () => Promise.reject(throttled())),
    ).rejects.toMatchObject({ code: 'THROTTLED', message: expect.stringMatching(/^Writing x/) });
  });
});

describe('transactRequest', () => {
  it('answers written with the response when every condition held', async () => {
    await expect(transactRequest('Moving x', async () => 'done')).resolves.toEqual({
      written: true,
      response: 'done',
    });
  });

  it('answers not written, with each item’s reason in order, when it was cancelled', async () => {
    const cancelled = new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
    });
    const outcome = await transactRequest('Moving x', () => Promise.reject(cancelled));
    expect(outcome.written).toBe(false);
    if (outcome.written) return;
    expect(outcome.reasons.map((reason) => reason.Code)).toEqual([
      'None',
      'ConditionalCheckFailed',
    ]);
    expect(outcome.error).toBe(cancelled);
  });

  it('maps any other error', async () => {
    const error = await transactRequest('Moving x', () => Promise.reject(throttled())).catch(
      (e) => e,
    );
    expect(error.code).toBe('THROTTLED');
    expect(error.message).toMatch(/^Moving x was throttled/);
  });
});
