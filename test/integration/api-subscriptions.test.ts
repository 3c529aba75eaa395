import { describe, expect, it } from 'vitest';
import { apiHarness } from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';

/** /v1/subscriptions: create, list, describe, update, delete, and every refusal. */

describe('subscriptions API', () => {
  const api = apiHarness();

  const create = (body: Record<string, unknown>) => api.call('POST', '/v1/subscriptions', body);

  it('creates, lists, describes, updates and deletes a subscription', async () => {
    const topic = await api.topic(2);
    const dlq = await api.topic(1);
    const name = uniqueName('sub');
    const created = await create({
      name,
      topic,
      functionName: 'billing',
      startingPosition: 'LATEST',
      batchSize: 50,
      functionResponseTypes: ['ReportBatchItemFailures'],
      destinationConfig: { onFailure: { destination: `kafka://${dlq}` } },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name,
      topic,
      group: name,
      functionName: 'billing',
      state: 'Enabled',
      batchSize: 50,
      maximumBatchingWindowInSeconds: 0.5,
      maximumRetryAttempts: -1,
      startingPosition: 'LATEST',
      failing: [],
    });
    // LATEST is resolved now: the group has offsets for both partitions.
    const offsets = await api.call('GET', `/v1/groups/${name}/offsets`);
    expect(offsets.json.offsets.map((o: { partition: number }) => o.partition)).toEqual([0, 1]);

    const listed = await api.call('GET', `/v1/subscriptions?topic=${topic}`);
    expect(listed.json.subscriptions.map((s: { name: string }) => s.name)).toEqual([name]);

    const updated = await api.call('PATCH', `/v1/subscriptions/${name}`, {
      enabled: false,
      batchSize: 500,
      destinationConfig: {},
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ state: 'Disabled', batchSize: 500, version: 2 });
    expect(updated.json.destinationConfig).toBeUndefined();

    expect((await api.call('GET', `/v1/subscriptions/${name}`)).json.batchSize).toBe(500);
    expect((await api.call('DELETE', `/v1/subscriptions/${name}`)).status).toBe(200);
    const gone = await api.call('GET', `/v1/subscriptions/${name}`);
    expect(gone.status).toBe(404);
    expect(gone.json.code).toBe('UNKNOWN_SUBSCRIPTION');
  });

  it('rejects settings beyond Lambda’s limits, naming each limit', async () => {
    const topic = await api.topic();
    const reply = await create({
      name: uniqueName('sub'),
      topic,
      functionName: 'f',
      startingPosition: 'TRIM_HORIZON',
      batchSize: 10_001,
      maximumRecordAgeInSeconds: 30,
    });
    expect(reply.status).toBe(400);
    expect(reply.json.code).toBe('INVALID_CONFIG');
    expect(reply.json.message).toMatch(/batchSize must be an integer from 1 to 10000/);
    expect(reply.json.problems).toEqual([
      expect.objectContaining({ field: 'batchSize', limit: { min: 1, max: 10_000 } }),
      expect.objectContaining({
        field: 'maximumRecordAgeInSeconds',
        limit: { min: -1, max: 604_800 },
      }),
    ]);
  });

  it('rejects wrong types as INVALID_REQUEST, unknown members too', async () => {
    const reply = await create({
      name: 'x',
      topic: 't',
      functionName: 'f',
      startingPosition: 'LATEST',
      batchSize: '10',
    });
    expect(reply.status).toBe(400);
    expect(reply.json.code).toBe('INVALID_REQUEST');
    const extra = await create({
      name: 'x',
      topic: 't',
      functionName: 'f',
      startingPosition: 'LATEST',
      batchsize: 10,
    });
    expect(extra.json.code).toBe('INVALID_REQUEST');
  });

  it('accepts SQS and SNS destinations, and refuses a malformed ARN and a dead-letter topic that does not exist', async () => {
    const topic = await api.topic();
    for (const destination of [
      'arn:aws:sqs:us-east-1:123456789012:dlq',
      'arn:aws:sns:eu-west-1:123456789012:failures.fifo',
    ]) {
      const accepted = await create({
        name: uniqueName('sub'),
        topic,
        functionName: 'f',
        startingPosition: 'LATEST',
        destinationConfig: { onFailure: { destination } },
      });
      expect(accepted.status, JSON.stringify(accepted.json)).toBe(201);
      expect(accepted.json.destinationConfig).toEqual({ onFailure: { destination } });
    }
    const malformed = await create({
      name: uniqueName('sub'),
      topic,
      functionName: 'f',
      startingPosition: 'LATEST',
      destinationConfig: { onFailure: { destination: 'arn:aws:sqs:us-east-1:12345:dlq' } },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.json.code).toBe('INVALID_CONFIG');
    expect(malformed.json.message).toMatch(/SQS queue or SNS topic ARN/);
    const missing = await create({
      name: uniqueName('sub'),
      topic,
      functionName: 'f',
      startingPosition: 'LATEST',
      destinationConfig: { onFailure: { destination: `kafka://${uniqueName('nope')}` } },
    });
    expect(missing.json.code).toBe('INVALID_CONFIG');
    expect(missing.json.message).toMatch(/does not exist/);
  });

  it('answers 404 for an unknown topic and 409 for a taken name or group', async () => {
    const unknown = await create({
      name: uniqueName('sub'),
      topic: uniqueName('none'),
      functionName: 'f',
      startingPosition: 'LATEST',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('UNKNOWN_TOPIC');

    const topic = await api.topic();
    const name = uniqueName('sub');
    expect(
      (await create({ name, topic, functionName: 'f', startingPosition: 'LATEST' })).status,
    ).toBe(201);
    const again = await create({ name, topic, functionName: 'f', startingPosition: 'LATEST' });
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('SUBSCRIPTION_ALREADY_EXISTS');
    const sameGroup = await create({
      name: uniqueName('sub'),
      group: name,
      topic,
      functionName: 'f',
      startingPosition: 'LATEST',
    });
    expect(sameGroup.status).toBe(409);
    expect(sameGroup.json.group).toBe(name);
  });

  it('refuses to change the topic, group or starting position', async () => {
    const topic = await api.topic();
    const name = uniqueName('sub');
    await create({ name, topic, functionName: 'f', startingPosition: 'LATEST' });
    const reply = await api.call('PATCH', `/v1/subscriptions/${name}`, {
      startingPosition: 'TRIM_HORIZON',
    });
    expect(reply.status).toBe(400);
    expect(reply.json.code).toBe('INVALID_REQUEST');
    expect(reply.json.message).toMatch(/startingPosition cannot be changed/);
  });
});
