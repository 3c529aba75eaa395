import { describe, expect, it } from 'vitest';
import { apiHarness } from '../helpers/api.js';
import { uniqueName } from '../helpers/aws.js';

/** filterCriteria and S3 destinations through /v1/subscriptions: kept, changed, refused with why. */

describe('subscription filters and S3 destinations over the API', () => {
  const api = apiHarness();
  const create = (body: Record<string, unknown>) => api.call('POST', '/v1/subscriptions', body);
  const pattern = '{"value":{"device_ID":[{"prefix":"AB"}]}}';

  it('keeps filterCriteria and an S3 destination, changes and removes the filters', async () => {
    const topic = await api.topic(1);
    const name = uniqueName('sub');
    const created = await create({
      name,
      topic,
      functionName: 'f',
      startingPosition: 'LATEST',
      filterCriteria: { filters: [{ pattern }] },
      destinationConfig: { onFailure: { destination: 'arn:aws:s3:::failed-batches' } },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      filterCriteria: { filters: [{ pattern }] },
      destinationConfig: { onFailure: { destination: 'arn:aws:s3:::failed-batches' } },
    });
    expect(created.json.uuid).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );

    const other = '{"value":[{"prefix":"INFO"}]}';
    const changed = await api.call('PATCH', `/v1/subscriptions/${name}`, {
      filterCriteria: { filters: [{ pattern: other }, { pattern }] },
    });
    expect(changed.status).toBe(200);
    expect(changed.json.filterCriteria).toEqual({ filters: [{ pattern: other }, { pattern }] });
    expect(changed.json.uuid).toBe(created.json.uuid);

    const removed = await api.call('PATCH', `/v1/subscriptions/${name}`, { filterCriteria: {} });
    expect(removed.status).toBe(200);
    expect(removed.json).not.toHaveProperty('filterCriteria');
  });

  it('refuses invalid patterns with the field and the reason, writing nothing', async () => {
    const topic = await api.topic(1);
    const name = uniqueName('sub');
    const reply = await create({
      name,
      topic,
      functionName: 'f',
      startingPosition: 'LATEST',
      filterCriteria: {
        filters: [
          { pattern: '{"value":{"device_ID":[{"begins":"AB"}]}}' },
          { pattern: '{"key":["customer-42"]}' },
        ],
      },
    });
    expect(reply.status).toBe(400);
    expect(reply.json.code).toBe('INVALID_CONFIG');
    expect(reply.json.problems).toEqual([
      {
        field: 'filterCriteria.filters[0].pattern',
        message: expect.stringContaining('at value.device_ID[0]: unknown operator "begins"'),
      },
      {
        field: 'filterCriteria.filters[1].pattern',
        message: expect.stringContaining("match the record's value only"),
      },
    ]);
    expect((await api.call('GET', `/v1/subscriptions/${name}`)).status).toBe(404);

    const tooMany = await create({
      name,
      topic,
      functionName: 'f',
      startingPosition: 'LATEST',
      filterCriteria: { filters: Array.from({ length: 6 }, () => ({ pattern })) },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.problems[0]).toMatchObject({ field: 'filterCriteria.filters' });
    expect(tooMany.json.message).toMatch(/at most 5 filters/);

    const badBucket = await create({
      name,
      topic,
      functionName: 'f',
      startingPosition: 'LATEST',
      destinationConfig: { onFailure: { destination: 'arn:aws:s3:::No_Such..Name' } },
    });
    expect(badBucket.status).toBe(400);
    expect(badBucket.json.message).toMatch(/S3 bucket ARN/);
  });

  it('refuses an invalid pattern on update and keeps the stored filters', async () => {
    const topic = await api.topic(1);
    const name = uniqueName('sub');
    expect(
      (
        await create({
          name,
          topic,
          functionName: 'f',
          startingPosition: 'LATEST',
          filterCriteria: { filters: [{ pattern }] },
        })
      ).status,
    ).toBe(201);
    const reply = await api.call('PATCH', `/v1/subscriptions/${name}`, {
      filterCriteria: { filters: [{ pattern: '{"value":{"n":[{"numeric":[">",5,"<",1]}]}}' }] },
    });
    expect(reply.status).toBe(400);
    expect(reply.json.problems[0].message).toMatch(/lower bound must be below the upper bound/);
    const stored = await api.call('GET', `/v1/subscriptions/${name}`);
    expect(stored.json.filterCriteria).toEqual({ filters: [{ pattern }] });
  });
});
